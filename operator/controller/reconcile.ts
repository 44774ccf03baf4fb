// The reconciler's thin shell: observe the world for one key, plan (pure), apply with
// server-side apply under one field manager, write status only when it changed, emit Events.
// Level-triggered: it never looks at what event caused it.
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Deployment,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { GROUP, KIND, PLURAL, VERSION, modelDeploymentSchema } from '../api/schema.ts';
import { measure } from '../analysis/measure.ts';
import type { MetricProvider } from '../analysis/provider.ts';
import { PrometheusProvider } from '../analysis/providers/prometheus.ts';
import { parseModelMetadata } from '../analysis/schemaGate.ts';
import { SERVING_PORT } from '../resources/deployment.ts';
import { canonicalJson } from '../resources/revision.ts';
import { FIELD_MANAGER, LABEL_MODEL_DEPLOYMENT, LABEL_REVISION, READINESS_GATE, serviceNames } from '../resources/labels.ts';
import { routeTarget, routerFor } from '../routing/router.ts';
import { setCondition } from './conditions.ts';
import type { ModelDeploymentMetrics } from './metrics.ts';
import { ConditionType, Reason } from '../api/reasons.ts';
import { measureHealth, measureLoad } from '../monitoring/measureHealth.ts';
import { analysisDue, autoscaleDue, healthDue, plan, signaturesToRead, type ObservedDeployment, type ObservedPod, type PlannedEvent, type SignatureRead } from './plan.ts';

/** What a reconcile asks of the work queue. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/**
 * Reads from the informers' caches, so a reconcile costs no GET or LIST. Caches may lag:
 * the status write is guarded by resourceVersion, so a stale read fails and is retried
 * instead of acting twice on a one-shot command.
 */
export interface ReconcilerCache {
  getModelDeployment(namespace: string, name: string): unknown;
  listDeployments(namespace: string, modelDeployment: string): V1Deployment[];
  getService(namespace: string, name: string): V1Service | undefined;
  getConfigMap(namespace: string, name: string): V1ConfigMap | undefined;
  listPods(namespace: string, modelDeployment: string): V1Pod[];
}

/** Annotation holding the hash of what the operator last applied, to skip no-op applies. */
export const ANNOTATION_APPLIED = 'siskin.dev/applied-hash';

/** Settings of the reconciler. */
export interface ReconcilerOptions {
  kubeConfig: KubeConfig;
  /** Informer caches; without them every reconcile reads from the API server. */
  cache?: ReconcilerCache;
  defaultImage: string;
  /** Per-ModelDeployment metrics to update after each reconcile. */
  metrics?: ModelDeploymentMetrics;
  /** Prometheus for analysis when spec.monitoring.prometheusURL is unset. */
  defaultPrometheusAddress?: string;
  /** Injected for tests of time-based steps; Date.now otherwise. */
  now?: () => number;
}

/** Reads a revision's model signature from one of its pods (GET /v2/models/{name} on the pod). */
async function readSignature(pod: ObservedPod, model: string): Promise<SignatureRead> {
  const url = `http://${pod.ip}:${SERVING_PORT}/v2/models/${encodeURIComponent(model)}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    if (res.status !== 200) return { error: `pod ${pod.name} answered ${res.status} to GET /v2/models/${model}: ${(await res.text()).slice(0, 200)}` };
    return parseModelMetadata(await res.json());
  } catch (err) {
    return { error: `pod ${pod.name}: ${(err as Error).message}` };
  }
}

/** What the reconciler reads of a pod. */
export function observePod(p: V1Pod): ObservedPod {
  const cond = (type: string): string | undefined => p.status?.conditions?.find((c) => c.type === type)?.status;
  const admitted = cond(READINESS_GATE);
  return {
    name: p.metadata!.name!,
    revision: p.metadata?.labels?.[LABEL_REVISION] ?? '',
    ...(p.status?.podIP ? { ip: p.status.podIP } : {}),
    containersReady: cond('ContainersReady') === 'True',
    ...(admitted === 'True' || admitted === 'False' ? { admitted } : {}),
    deleting: !!p.metadata?.deletionTimestamp,
  };
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}

/** Builds reconcile(key) for ModelDeployments ("namespace/name"). */
export function makeReconciler(opts: ReconcilerOptions): (key: string) => Promise<ReconcileResult> {
  const kc = opts.kubeConfig;
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const now = opts.now ?? Date.now;
  const providers = new Map<string, MetricProvider>();
  const providerFor = (url: string): MetricProvider => {
    let p = providers.get(url);
    if (!p) providers.set(url, (p = new PrometheusProvider({ url })));
    return p;
  };
  const strategicMerge = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
  const routers = { ReplicaRatio: routerFor('ReplicaRatio', { kubeConfig: kc }), GatewayAPI: routerFor('GatewayAPI', { kubeConfig: kc }) };

  return async (key: string): Promise<ReconcileResult> => {
    const [namespace, name] = key.split('/') as [string, string];
    let raw: unknown;
    if (opts.cache) {
      raw = opts.cache.getModelDeployment(namespace, name);
      if (raw === undefined) {
        // Deleted: owner references let the garbage collector clean up.
        opts.metrics?.forget(namespace, name);
        return {};
      }
    } else {
      try {
        raw = await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name });
      } catch (err) {
        if (isNotFound(err)) return {};
        throw err;
      }
    }
    const parsed = modelDeploymentSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`${key}: the stored object does not match the schema: ${parsed.error.message}`);
    const md = parsed.data;
    const meta = (raw as { metadata: { uid: string; generation?: number; resourceVersion?: string; annotations?: Record<string, string> } }).metadata;
    const owner = { name, namespace, uid: meta.uid };

    const items = opts.cache
      ? opts.cache.listDeployments(namespace, name)
      : (await apps.listNamespacedDeployment({ namespace, labelSelector: `${LABEL_MODEL_DEPLOYMENT}=${name}` })).items;
    // Owned means owned: by this object's uid, not merely by a matching name or label.
    const observed: ObservedDeployment[] = items
      .filter((d) => d.metadata?.ownerReferences?.some((o) => o.uid === meta.uid && o.controller))
      .map((d) => ({
        name: d.metadata!.name!,
        revision: d.metadata?.labels?.[LABEL_REVISION] ?? '',
        specReplicas: d.spec?.replicas ?? 0,
        readyReplicas: d.status?.readyReplicas ?? 0,
        replicas: d.status?.replicas ?? 0,
        upToDate: (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0),
      }));

    const podItems = opts.cache
      ? opts.cache.listPods(namespace, name)
      : (await core.listNamespacedPod({ namespace, labelSelector: `${LABEL_MODEL_DEPLOYMENT}=${name}` })).items;
    const pods = podItems.map(observePod);
    const status = md.status ?? {};
    const modelName = md.spec.model.name ?? name;
    const signatures: Record<string, SignatureRead> = {};
    for (const { revision, pod } of signaturesToRead(status, pods)) signatures[revision] = await readSignature(pod, modelName);
    const at = now();
    const prometheus = providerFor(md.spec.monitoring?.prometheusURL ?? opts.defaultPrometheusAddress ?? '');
    const analysisRound =
      analysisDue(md.spec, status, observed, at) && status.canary && status.stable
        ? await measure(prometheus, md.spec.rollout.analysis!.metrics, {
            namespace,
            model: modelName,
            canaryRevision: status.canary.name,
            stableRevision: status.stable.name,
            windowSeconds: md.spec.rollout.analysis!.windowSeconds,
          })
        : undefined;
    const drift = md.spec.monitoring?.drift;
    const health =
      drift && status.stable && healthDue(md.spec, status, at)
        ? await measureHealth(prometheus, { namespace, model: modelName, revision: status.stable.name, windowSeconds: drift.windowSeconds })
        : undefined;
    const serving = [status.stable?.name, status.canary?.name].filter((r): r is string => !!r && observed.some((d) => d.revision === r && d.readyReplicas > 0));
    const load = autoscaleDue(md.spec, status, at) ? await measureLoad(prometheus, { namespace, model: modelName, revisions: serving }) : undefined;
    const canaryService = opts.cache
      ? opts.cache.getService(namespace, serviceNames(name).canary)
      : await core.readNamespacedService({ namespace, name: serviceNames(name).canary }).catch(() => undefined);
    const canaryIP = canaryService?.spec?.clusterIP;

    const p = plan({
      owner,
      generation: meta.generation ?? 0,
      annotations: meta.annotations ?? {},
      spec: md.spec,
      status,
      observed,
      pods,
      signatures,
      ...(analysisRound ? { analysisRound } : {}),
      ...(canaryIP && canaryIP !== 'None' ? { canaryServiceIP: canaryIP } : {}),
      ...(health ? { health } : {}),
      ...(load ? { load } : {}),
      now: at,
      defaultImage: opts.defaultImage,
    });
    const setGate = async (g: (typeof p.podGates)[number]): Promise<void> => {
      try {
        await core.patchNamespacedPodStatus(
          {
            name: g.pod,
            namespace,
            body: { status: { conditions: [{ type: READINESS_GATE, status: g.status, reason: g.reason, message: g.message, lastTransitionTime: new Date(at) }] } },
          },
          strategicMerge,
        );
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    };
    const router = routers[md.spec.rollout.trafficRouting.type];
    const target = routeTarget(namespace, name, md.spec.rollout.trafficRouting.httpRoute);
    // A rollback cuts traffic first: readiness gates False (endpoints drop the canary at once)
    // and the route weight back to stable, before anything is scaled down.
    const cutting = p.podGates.some((g) => g.status === 'False');
    await Promise.all(p.podGates.filter((g) => g.status === 'False').map(setGate));
    // A routing failure is reported in status and retried, never a reason to skip the status.
    let routingError: Error | undefined;
    const route = async (weight: number): Promise<void> => {
      try {
        await router.setRoutes(target, weight);
      } catch (err) {
        routingError = err as Error;
      }
    };
    if (cutting && p.routeWeight !== undefined) await route(p.routeWeight);

    // Apply in an order that never drops traffic: grow first, then switch Services, then shrink and delete.
    const current = (kind: 'Deployment' | 'Service', objName: string): KubernetesObject | undefined =>
      opts.cache ? (kind === 'Deployment' ? items.find((d) => d.metadata?.name === objName) : opts.cache.getService(namespace, objName)) : undefined;
    for (const d of p.deployments) await applyIfChanged(objects, d, current('Deployment', d.metadata!.name!));
    for (const s of p.scales) {
      if (opts.cache && items.find((d) => d.metadata?.name === s.name)?.spec?.replicas === s.replicas) continue;
      await apps.patchNamespacedDeploymentScale({ name: s.name, namespace, body: [{ op: 'replace', path: '/spec/replicas', value: s.replicas }] });
    }
    for (const s of p.services) await applyIfChanged(objects, s, current('Service', s.metadata!.name!));
    for (const c of p.configMaps) await applyIfChanged(objects, c, opts.cache?.getConfigMap(namespace, c.metadata!.name!));
    await Promise.all(p.podGates.filter((g) => g.status === 'True').map(setGate));
    if (p.routeWeight !== undefined && !routingError) await route(p.routeWeight);
    if (routingError) {
      const message = `traffic routing failed: ${routingError.message}`;
      const stamp = new Date(at).toISOString();
      let conditions = setCondition(p.status.conditions ?? [], { type: ConditionType.Ready, status: 'False', reason: Reason.RoutingFailed, message, observedGeneration: meta.generation ?? 0 }, stamp);
      conditions = setCondition(conditions, { type: ConditionType.Reconciling, status: 'True', reason: Reason.RoutingFailed, message, observedGeneration: meta.generation ?? 0 }, stamp);
      p.status = { ...p.status, conditions };
      if (!md.status?.conditions?.some((c) => c.reason === Reason.RoutingFailed)) p.events.push({ type: 'Warning', reason: Reason.RoutingFailed, message });
    }
    for (const n of p.deleteDeployments) {
      const uid = items.find((d) => d.metadata?.name === n)?.metadata?.uid;
      try {
        await apps.deleteNamespacedDeployment({ name: n, namespace, body: { preconditions: uid ? { uid } : {}, propagationPolicy: 'Background' } });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }

    for (const job of p.jobs) {
      try {
        await batch.createNamespacedJob({ namespace, body: job });
      } catch (err) {
        // The same name means the same cooldown slot: the Job exists already.
        if ((err as { code?: number }).code !== 409) throw err;
      }
    }

    if (canonicalJson(p.status) !== canonicalJson(md.status ?? {})) {
      await custom.patchNamespacedCustomObjectStatus({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
        // Guarded by resourceVersion: a status computed from a stale read must not land.
        body: [
          ...(meta.resourceVersion ? [{ op: 'test', path: '/metadata/resourceVersion', value: meta.resourceVersion }] : []),
          { op: md.status ? 'replace' : 'add', path: '/status', value: p.status },
        ],
      });
    }
    opts.metrics?.observe(namespace, name, md.status ?? {}, p.status);
    for (const e of p.events) await emit(core, owner, e, now());
    // Retried with backoff by the work queue, after the status says why.
    if (routingError) throw routingError;
    return p.requeueAfterMs !== undefined ? { requeueAfterMs: p.requeueAfterMs } : {};
  };
}

/** Server-side applies obj unless the live object already carries the same applied hash. */
async function applyIfChanged(objects: KubernetesObjectApi, obj: KubernetesObject, live: KubernetesObject | undefined): Promise<void> {
  const hash = createHash('sha256').update(canonicalJson(obj)).digest('hex').slice(0, 16);
  // Someone else scaling a Deployment leaves our annotation alone: compare the size too.
  const replicasOf = (o: KubernetesObject | undefined): number | undefined => (o as { spec?: { replicas?: number } } | undefined)?.spec?.replicas;
  const sameSize = replicasOf(live) === replicasOf(obj);
  if (live?.metadata?.annotations?.[ANNOTATION_APPLIED] === hash && (obj.kind !== 'Deployment' || sameSize)) return;
  const stamped = { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [ANNOTATION_APPLIED]: hash } } };
  await objects.patch(stamped, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

async function emit(core: CoreV1Api, owner: { name: string; namespace: string; uid: string }, e: PlannedEvent, at: number): Promise<void> {
  const time = new Date(at);
  await core.createNamespacedEvent({
    namespace: owner.namespace,
    body: {
      metadata: { generateName: `${owner.name}.`, namespace: owner.namespace },
      involvedObject: { apiVersion: `${GROUP}/${VERSION}`, kind: KIND, name: owner.name, namespace: owner.namespace, uid: owner.uid },
      type: e.type,
      reason: e.reason,
      message: e.message,
      source: { component: FIELD_MANAGER },
      reportingComponent: FIELD_MANAGER,
      reportingInstance: FIELD_MANAGER,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    },
  });
}

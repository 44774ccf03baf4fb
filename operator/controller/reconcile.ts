// The reconciler's thin shell: observe the world for one key, plan (pure), apply with
// server-side apply under one field manager, write status only when it changed, emit Events.
// Level-triggered: it never looks at what event caused it.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1Service,
} from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { GROUP, KIND, PLURAL, VERSION, modelDeploymentSchema } from '../api/schema.ts';
import { canonicalJson } from '../resources/revision.ts';
import { FIELD_MANAGER, LABEL_MODEL_DEPLOYMENT, LABEL_REVISION } from '../resources/labels.ts';
import { plan, type ObservedDeployment, type PlannedEvent } from './plan.ts';

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
}

/** Annotation holding the hash of what the operator last applied, to skip no-op applies. */
export const ANNOTATION_APPLIED = 'siskin.dev/applied-hash';

/** Settings of the reconciler. */
export interface ReconcilerOptions {
  kubeConfig: KubeConfig;
  /** Informer caches; without them every reconcile reads from the API server. */
  cache?: ReconcilerCache;
  defaultImage: string;
  /** Injected for tests of time-based steps; Date.now otherwise. */
  now?: () => number;
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
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const now = opts.now ?? Date.now;

  return async (key: string): Promise<ReconcileResult> => {
    const [namespace, name] = key.split('/') as [string, string];
    let raw: unknown;
    if (opts.cache) {
      raw = opts.cache.getModelDeployment(namespace, name);
      if (raw === undefined) return {}; // deleted: owner references let the garbage collector clean up
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

    const p = plan({
      owner,
      generation: meta.generation ?? 0,
      annotations: meta.annotations ?? {},
      spec: md.spec,
      status: md.status ?? {},
      observed,
      now: now(),
      defaultImage: opts.defaultImage,
    });

    // Apply in an order that never drops traffic: grow first, then switch Services, then shrink and delete.
    const current = (kind: 'Deployment' | 'Service', objName: string): KubernetesObject | undefined =>
      opts.cache ? (kind === 'Deployment' ? items.find((d) => d.metadata?.name === objName) : opts.cache.getService(namespace, objName)) : undefined;
    for (const d of p.deployments) await applyIfChanged(objects, d, current('Deployment', d.metadata!.name!));
    for (const s of p.scales) {
      if (opts.cache && items.find((d) => d.metadata?.name === s.name)?.spec?.replicas === s.replicas) continue;
      await apps.patchNamespacedDeploymentScale({ name: s.name, namespace, body: [{ op: 'replace', path: '/spec/replicas', value: s.replicas }] });
    }
    for (const s of p.services) await applyIfChanged(objects, s, current('Service', s.metadata!.name!));
    for (const n of p.deleteDeployments) {
      const uid = items.find((d) => d.metadata?.name === n)?.metadata?.uid;
      try {
        await apps.deleteNamespacedDeployment({ name: n, namespace, body: { preconditions: uid ? { uid } : {}, propagationPolicy: 'Background' } });
      } catch (err) {
        if (!isNotFound(err)) throw err;
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
    for (const e of p.events) await emit(core, owner, e, now());
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

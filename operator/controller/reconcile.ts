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
} from '@kubernetes/client-node';
import { GROUP, KIND, PLURAL, VERSION, modelDeploymentSchema } from '../api/schema.ts';
import { canonicalJson } from '../resources/revision.ts';
import { FIELD_MANAGER, LABEL_MODEL_DEPLOYMENT, LABEL_REVISION } from '../resources/labels.ts';
import { plan, type ObservedDeployment, type PlannedEvent } from './plan.ts';

/** What a reconcile asks of the work queue. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** Settings of the reconciler. */
export interface ReconcilerOptions {
  kubeConfig: KubeConfig;
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
    try {
      raw = await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name });
    } catch (err) {
      if (isNotFound(err)) return {}; // deleted: owner references let the garbage collector clean up
      throw err;
    }
    const parsed = modelDeploymentSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`${key}: the stored object does not match the schema: ${parsed.error.message}`);
    const md = parsed.data;
    const meta = (raw as { metadata: { uid: string; generation?: number; annotations?: Record<string, string> } }).metadata;
    const owner = { name, namespace, uid: meta.uid };

    const list = await apps.listNamespacedDeployment({ namespace, labelSelector: `${LABEL_MODEL_DEPLOYMENT}=${name}` });
    // Owned means owned: by this object's uid, not merely by a matching name or label.
    const observed: ObservedDeployment[] = list.items
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
    for (const d of p.deployments) await apply(objects, d);
    for (const s of p.scales) {
      await apps.patchNamespacedDeploymentScale({ name: s.name, namespace, body: [{ op: 'replace', path: '/spec/replicas', value: s.replicas }] });
    }
    for (const s of p.services) await apply(objects, s);
    for (const n of p.deleteDeployments) {
      const uid = list.items.find((d) => d.metadata?.name === n)?.metadata?.uid;
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
        body: [{ op: md.status ? 'replace' : 'add', path: '/status', value: p.status }],
      });
    }
    for (const e of p.events) await emit(core, owner, e, now());
    return p.requeueAfterMs !== undefined ? { requeueAfterMs: p.requeueAfterMs } : {};
  };
}

async function apply(objects: KubernetesObjectApi, obj: KubernetesObject): Promise<void> {
  await objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
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

// Apply: the plan made real in an order that never drops traffic. A rollback cuts traffic
// first (readiness gates False, the route back to stable), then objects grow, Services switch,
// gates open, the route moves, and only then do things shrink and go; status and Events come
// last (writeStatus, emitEvents). Every request carries the reconcile's signal.
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1EndpointSlice,
  type V1PodDisruptionBudget,
} from '@kubernetes/client-node';
import { createHash, randomBytes } from 'node:crypto';
import { peerKeySecret } from '../resources/deployment.ts';
import { GROUP, KIND, PLURAL, VERSION, type ModelDeploymentStatus } from '../api/schema.ts';
import { canonicalJson } from '../resources/revision.ts';
import { ENDPOINTSLICE_MANAGER, LABEL_SLICE_MANAGED_BY } from '../resources/activatorSlice.ts';
import { FIELD_MANAGER, READINESS_GATE } from '../resources/labels.ts';
import type { RouteTarget, Router } from '../routing/router.ts';
import { withSignal } from '../runtime/abort.ts';
import { setCondition } from './conditions.ts';
import { liveHolds } from './liveContent.ts';
import type { ReconcilerCache, StoredMeta, StoredModelDeployment } from './observe.ts';
import type { Plan, PlannedEvent, PodGate } from './plan.ts';
import { ConditionType, Reason } from '../api/reasons.ts';

/** Annotation holding the hash of what the operator last applied, to skip no-op applies. */
export const ANNOTATION_APPLIED = 'siskin.dev/applied-hash';

/** The API clients a reconcile writes through, made once per reconciler. */
export interface KubeApis {
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  custom: CustomObjectsApi;
  policy: PolicyV1Api;
  discovery: DiscoveryV1Api;
}

/** The API clients for a kubeconfig. */
export function kubeApis(kc: KubeConfig): KubeApis {
  return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), batch: kc.makeApiClient(BatchV1Api), custom: kc.makeApiClient(CustomObjectsApi), policy: kc.makeApiClient(PolicyV1Api), discovery: kc.makeApiClient(DiscoveryV1Api) };
}

/** Everything apply needs besides the plan: one reconcile's object, cache view, clients and signal. */
export interface ApplyScope {
  stored: StoredModelDeployment;
  /** The cached Deployments labelled for this object (what the plan compares against). */
  deployments: readonly V1Deployment[];
  cache: ReconcilerCache;
  apis: KubeApis;
  router: Router;
  target: RouteTarget;
  signal: AbortSignal;
  /** The reconcile's time, for gate transitions and the routing condition. */
  at: number;
  now: () => number;
}

/** What applying left to report: the status and Events to write, and a routing failure to retry. */
export interface Applied {
  status: ModelDeploymentStatus;
  events: PlannedEvent[];
  routingError?: Error;
}

/**
 * Applies the plan's objects in order. A routing failure goes into the status and Events to
 * write (and comes back for a retry with backoff), never a reason to skip the status.
 */
export async function applyPlan(s: ApplyScope, p: Plan): Promise<Applied> {
  const cutting = p.podGates.filter((g) => g.status === 'False');
  await Promise.all(cutting.map((g) => setGate(s, g)));
  let routingError = cutting.length > 0 && p.routeWeight !== undefined ? await route(s, p.routeWeight, p.headerRoutes) : undefined;
  // The activator's endpoints go in before any pod goes or any selector is dropped: a Service
  // merges every slice of its name, so a request meets the activator or a pod, never nothing.
  const slices = s.cache.listEndpointSlices(s.stored.namespace, s.stored.name).filter((e) => e.metadata?.labels?.[LABEL_SLICE_MANAGED_BY] === ENDPOINTSLICE_MANAGER);
  for (const e of changed(p.endpointSlices, (o) => slices.find((x) => x.metadata?.name === o.metadata!.name))) await serverSideApply(s, e);
  const deployments = changed(p.deployments, (d) => s.deployments.find((x) => x.metadata?.name === d.metadata!.name));
  if (deployments.length > 0) await ensurePeerKey(s);
  for (const d of deployments) await serverSideApply(s, d);
  await scale(s, p.scales);
  for (const svc of changed(p.services, (o) => s.cache.getService(s.stored.namespace, o.metadata!.name!))) await serverSideApply(s, svc);
  for (const c of changed(p.configMaps, (o) => s.cache.getConfigMap(s.stored.namespace, o.metadata!.name!))) await serverSideApply(s, c);
  const budgets = s.cache.listDisruptionBudgets(s.stored.namespace, s.stored.name);
  for (const b of changed(p.disruptionBudgets, (o) => budgets.find((x) => x.metadata?.name === o.metadata!.name))) await serverSideApply(s, b);
  await Promise.all(p.podGates.filter((g) => g.status === 'True').map((g) => setGate(s, g)));
  if (p.routeWeight !== undefined && !routingError) routingError = await route(s, p.routeWeight, p.headerRoutes);
  const reported = routingError ? withRoutingFailure(s, p, routingError) : p;
  await deleteDeployments(s, p.deleteDeployments);
  await deleteDisruptionBudgets(s, budgets.filter((b) => !p.disruptionBudgets.some((d) => d.metadata!.name === b.metadata?.name)));
  // Only after the Services have their selectors back (above) do the activator's slices go.
  await deleteEndpointSlices(s, slices.filter((e) => !p.endpointSlices.some((d) => d.metadata!.name === e.metadata?.name)));
  await createJobs(s, p);
  return { status: reported.status, events: reported.events, ...(routingError ? { routingError } : {}) };
}

/** Sets one pod's readiness gate; a pod gone meanwhile needs none. */
async function setGate(s: ApplyScope, g: PodGate): Promise<void> {
  const condition = { type: READINESS_GATE, status: g.status, reason: g.reason, message: g.message, lastTransitionTime: new Date(s.at) };
  await unlessGone(
    s.apis.core.patchNamespacedPodStatus(
      { name: g.pod, namespace: s.stored.namespace, body: { status: { conditions: [condition] } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch, withSignal(s.signal)),
    ),
  );
}

/** Sets the route weight and header routes; returns the failure instead of throwing (an abort still throws). */
async function route(s: ApplyScope, weight: number, headerRoutes: Plan['headerRoutes']): Promise<Error | undefined> {
  try {
    await s.router.setRoutes(s.target, weight, s.signal, headerRoutes);
    return undefined;
  } catch (err) {
    s.signal.throwIfAborted();
    return err as Error;
  }
}

/** Resizes Deployments of an older spec through the scale subresource, unless already that size. */
async function scale(s: ApplyScope, scales: Plan['scales']): Promise<void> {
  for (const { name, replicas } of scales) {
    if (s.deployments.find((d) => d.metadata?.name === name)?.spec?.replicas === replicas) continue;
    await s.apis.apps.patchNamespacedDeploymentScale(
      { name, namespace: s.stored.namespace, body: [{ op: 'replace', path: '/spec/replicas', value: replicas }] },
      withSignal(s.signal),
    );
  }
}

/**
 * The plan with a routing failure in its status (Ready False, Reconciling True) and, the first
 * time, a Warning. The route was not patched (one patch, all or nothing), so the header routes
 * in place are still the ones status had: a setHeaderRoute step waits for them.
 */
function withRoutingFailure(s: ApplyScope, p: Plan, err: Error): Pick<Plan, 'status' | 'events'> {
  const message = `traffic routing failed: ${err.message}`;
  const stamp = new Date(s.at).toISOString();
  const generation = s.stored.meta.generation ?? 0;
  let conditions = setCondition(p.status.conditions ?? [], { type: ConditionType.Ready, status: 'False', reason: Reason.RoutingFailed, message, observedGeneration: generation }, stamp);
  conditions = setCondition(conditions, { type: ConditionType.Reconciling, status: 'True', reason: Reason.RoutingFailed, message, observedGeneration: generation }, stamp);
  const reported = s.stored.md.status?.conditions?.some((c) => c.reason === Reason.RoutingFailed);
  const status = { ...p.status, conditions };
  delete status.headerRoutes;
  const inPlace = s.stored.md.status?.headerRoutes;
  return { status: { ...status, ...(inPlace ? { headerRoutes: inPlace } : {}) }, events: reported ? p.events : [...p.events, { type: 'Warning', reason: Reason.RoutingFailed, message }] };
}

/** Deletes Deployments that must go, guarded by the uid the cache saw; one already gone is fine. */
async function deleteDeployments(s: ApplyScope, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const uid = s.deployments.find((d) => d.metadata?.name === name)?.metadata?.uid;
    await unlessGone(
      s.apis.apps.deleteNamespacedDeployment(
        { name, namespace: s.stored.namespace, body: { preconditions: uid ? { uid } : {}, propagationPolicy: 'Background' } },
        withSignal(s.signal),
      ),
    );
  }
}

/** Deletes owned PodDisruptionBudgets the plan no longer wants, guarded by the uid the cache saw. */
async function deleteDisruptionBudgets(s: ApplyScope, budgets: readonly V1PodDisruptionBudget[]): Promise<void> {
  for (const b of budgets) {
    await unlessGone(s.apis.policy.deleteNamespacedPodDisruptionBudget({ name: b.metadata!.name!, namespace: s.stored.namespace, body: { preconditions: { uid: b.metadata!.uid! } } }, withSignal(s.signal)));
  }
}

/** Deletes the activator's EndpointSlices the plan no longer wants, guarded by the uid the cache saw. */
async function deleteEndpointSlices(s: ApplyScope, slices: readonly V1EndpointSlice[]): Promise<void> {
  for (const e of slices) {
    await unlessGone(s.apis.discovery.deleteNamespacedEndpointSlice({ name: e.metadata!.name!, namespace: s.stored.namespace, body: { preconditions: { uid: e.metadata!.uid! } } }, withSignal(s.signal)));
  }
}

/** Creates retraining Jobs; the same name means the same cooldown slot, so one that exists is that Job. */
async function createJobs(s: ApplyScope, p: Plan): Promise<void> {
  for (const job of p.jobs) {
    try {
      await s.apis.batch.createNamespacedJob({ namespace: s.stored.namespace, body: job }, withSignal(s.signal));
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
}

/** Patches status only when it changed, guarded by the resourceVersion it was computed from. */
export async function writeStatus(s: ApplyScope, status: ModelDeploymentStatus): Promise<void> {
  await patchStatus(s.apis, s.stored, s.stored.md.status, status, s.signal);
}

/** Writes status over before (the stored status, parsed or not) when they differ, guarded by resourceVersion. */
export async function patchStatus(apis: KubeApis, obj: StatusTarget, before: unknown, status: unknown, signal: AbortSignal): Promise<void> {
  if (canonicalJson(status) === canonicalJson(before ?? {})) return;
  const { namespace, name, meta } = obj;
  await apis.custom.patchNamespacedCustomObjectStatus(
    {
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      name,
      // A status computed from a stale read must not land.
      body: [...(meta.resourceVersion ? [{ op: 'test', path: '/metadata/resourceVersion', value: meta.resourceVersion }] : []), { op: before ? 'replace' : 'add', path: '/status', value: status }],
    },
    withSignal(signal),
  );
}

/** The ModelDeployment a status or an Event is about. */
export interface StatusTarget {
  namespace: string;
  name: string;
  meta: StoredMeta;
}

/**
 * The objects to server-side apply, stamped with their applied hash: those whose live object
 * does not carry the same hash, or no longer holds it. A hand edit keeps the annotation, so the
 * content is compared too — the whole stated content for ConfigMaps and Services, the size for
 * Deployments (whose pod template the API server normalises, and whose replicas others may change).
 */
function changed<T extends KubernetesObject>(objs: readonly T[], liveOf: (obj: T) => KubernetesObject | undefined): KubernetesObject[] {
  return objs.flatMap((obj) => {
    const hash = createHash('sha256').update(canonicalJson(obj)).digest('hex').slice(0, 16);
    const live = liveOf(obj);
    if (live?.metadata?.annotations?.[ANNOTATION_APPLIED] === hash && stillHolds(live, obj)) return [];
    return [{ ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [ANNOTATION_APPLIED]: hash } } }];
  });
}

/**
 * Creates the peer-key Secret before a serving Deployment is written, unless it exists (a
 * 409: the key never changes, and this operator may create Secrets but never read one).
 */
async function ensurePeerKey(s: ApplyScope): Promise<void> {
  const owner = { name: s.stored.name, namespace: s.stored.namespace, uid: s.stored.meta.uid };
  try {
    await s.apis.core.createNamespacedSecret({ namespace: owner.namespace, body: peerKeySecret(owner, randomBytes(32)) }, withSignal(s.signal));
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
}

/** Whether a live object carrying the current applied hash still holds what it says. */
function stillHolds(live: KubernetesObject, obj: KubernetesObject): boolean {
  if (obj.kind !== 'Deployment') return liveHolds(live, obj);
  const replicasOf = (o: KubernetesObject): number | undefined => (o as { spec?: { replicas?: number } }).spec?.replicas;
  return replicasOf(live) === replicasOf(obj);
}

/** One server-side apply under the operator's field manager, through the typed client of the object's kind. */
async function serverSideApply(s: ApplyScope, obj: KubernetesObject): Promise<void> {
  const request = { name: obj.metadata!.name!, namespace: obj.metadata?.namespace ?? s.stored.namespace, body: obj, fieldManager: FIELD_MANAGER, force: true };
  const options = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply, withSignal(s.signal));
  switch (obj.kind) {
    case 'Deployment':
      await s.apis.apps.patchNamespacedDeployment(request, options);
      return;
    case 'Service':
      await s.apis.core.patchNamespacedService(request, options);
      return;
    case 'ConfigMap':
      await s.apis.core.patchNamespacedConfigMap(request, options);
      return;
    case 'PodDisruptionBudget':
      await s.apis.policy.patchNamespacedPodDisruptionBudget(request, options);
      return;
    case 'EndpointSlice':
      await s.apis.discovery.patchNamespacedEndpointSlice(request, options);
      return;
    default:
      throw new Error(`no server-side apply for kind ${obj.kind} (${request.namespace}/${request.name})`);
  }
}

/** Emits the Events about the ModelDeployment, in order. */
export async function emitEvents(s: ApplyScope, events: readonly PlannedEvent[]): Promise<void> {
  await emitEventsFor(s.apis, s.stored, events, s.now(), s.signal);
}

/** Emits Events whose involvedObject is the given ModelDeployment, in order. */
export async function emitEventsFor(apis: KubeApis, obj: StatusTarget, events: readonly PlannedEvent[], at: number, signal: AbortSignal): Promise<void> {
  for (const e of events) await emitEvent(apis.core, { namespace: obj.namespace, name: obj.name, uid: obj.meta.uid }, e, at, signal);
}

/** Creates an Event whose involvedObject is the ModelDeployment owner. */
async function emitEvent(core: CoreV1Api, owner: { name: string; namespace: string; uid: string }, e: PlannedEvent, at: number, signal: AbortSignal): Promise<void> {
  const time = new Date(at);
  await core.createNamespacedEvent(
    {
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
    },
    withSignal(signal),
  );
}

/** Awaits a call on one object; the object being gone already (404) is what the call wanted. */
async function unlessGone(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
}

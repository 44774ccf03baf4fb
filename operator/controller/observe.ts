// Observe: the first stage of a reconcile. Everything plan() needs, from the informers' caches
// (no GET or LIST per reconcile) and from the measurements that are due: model signatures read
// from pods, analysis, health and load queries against Prometheus. Every request carries the
// reconcile's signal.
import { modelMetadataPath, SERVING_PORT } from '../../contract/http.ts';
import type { V1ConfigMap, V1Deployment, V1EndpointSlice, V1Pod, V1PodDisruptionBudget, V1Service } from '@kubernetes/client-node';
import { modelDeploymentSchema, type ModelDeployment } from '../api/schema.ts';
import { measure } from '../analysis/measure.ts';
import { idleRequestsQuery } from '../analysis/queries.ts';
import { DEFAULT_SCALE_TO_ZERO_AFTER_SECONDS } from '../autoscaling/scaleToZero.ts';
import { observeSlices, prepareActivator, type ActivatorHandle } from './activation.ts';
import type { MetricProvider } from '../analysis/provider.ts';
import { parseModelMetadata } from '../analysis/schemaGate.ts';
import { measureHealth, measureLoad } from '../monitoring/measureHealth.ts';
import { LABEL_REVISION, READINESS_GATE, serviceNames } from '../resources/labels.ts';
import { readCapped } from '../runtime/http.ts';
import { TerminalError } from '../runtime/reconcile.ts';
import { analysisDue, autoscaleDue, healthDue, signaturesToRead, stepAnalysis, type ObservedDeployment, type ObservedPod, type PlanInput, type SignatureRead } from './plan.ts';

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
  listDisruptionBudgets(namespace: string, modelDeployment: string): V1PodDisruptionBudget[];
  /** The EndpointSlices labelled for the model: the activator's and those the EndpointSlice controller copies the Services' labels onto. */
  listEndpointSlices(namespace: string, modelDeployment: string): V1EndpointSlice[];
  /** Every cached ModelDeployment, unparsed: the activator ports their statuses record. */
  listModelDeployments(): readonly unknown[];
}

/** The metadata of a stored ModelDeployment the reconciler needs. */
export interface StoredMeta {
  uid: string;
  generation?: number;
  resourceVersion?: string;
  annotations?: Record<string, string>;
}

/** A ModelDeployment as the cache holds it: parsed, with its metadata. */
export interface StoredModelDeployment {
  namespace: string;
  name: string;
  md: ModelDeployment;
  meta: StoredMeta;
}

/** A stored ModelDeployment whose spec this operator's schema refuses: what is wrong, by field path. */
export interface InvalidModelDeployment {
  namespace: string;
  name: string;
  meta: StoredMeta;
  /** The stored status, unparsed: an invalid spec keeps everything the last valid one recorded. */
  status: Record<string, unknown>;
  /** "spec.field.path: what is wrong", one per problem. */
  problems: string[];
}

/**
 * The cached ModelDeployment, undefined once deleted. The CRD's OpenAPI schema is looser than
 * ours in places (a quantity's pattern, an IANA time zone), so the API server may store a spec
 * the operator cannot act on: that is an InvalidModelDeployment, answered in status. A status
 * the schema refuses (written under a newer CRD, say) is a TerminalError: no retry can fix it.
 */
export function readModelDeployment(cache: ReconcilerCache, namespace: string, name: string): StoredModelDeployment | InvalidModelDeployment | undefined {
  const raw = cache.getModelDeployment(namespace, name);
  if (raw === undefined) return undefined;
  const meta = (raw as { metadata: StoredMeta }).metadata;
  const parsed = modelDeploymentSchema.safeParse(raw);
  if (parsed.success) return { namespace, name, md: parsed.data, meta };
  const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  if (parsed.error.issues.every((i) => i.path[0] === 'spec')) {
    const status = (raw as { status?: unknown }).status;
    return { namespace, name, meta, status: typeof status === 'object' && status !== null ? (status as Record<string, unknown>) : {}, problems };
  }
  throw new TerminalError(`${namespace}/${name}: the stored object does not match this operator's schema: ${problems.join('; ')}`);
}

/** The object could be read but its spec cannot be acted on. */
export function isInvalid(stored: StoredModelDeployment | InvalidModelDeployment): stored is InvalidModelDeployment {
  return 'problems' in stored;
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

/** The serving Deployments this object controls: by its uid, not merely by a matching name or label. */
export function observeDeployments(items: readonly V1Deployment[], uid: string): ObservedDeployment[] {
  return items
    .filter((d) => d.metadata?.ownerReferences?.some((o) => o.uid === uid && o.controller))
    .map((d) => ({
      name: d.metadata!.name!,
      revision: d.metadata?.labels?.[LABEL_REVISION] ?? '',
      specReplicas: d.spec?.replicas ?? 0,
      readyReplicas: d.status?.readyReplicas ?? 0,
      replicas: d.status?.replicas ?? 0,
      upToDate: (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0),
    }));
}

/** How long a pod may take to answer a signature read, its whole body included. */
const SIGNATURE_TIMEOUT_MS = 3_000;
/** Largest model metadata read: a signature of thousands of tensors is well under this. */
const SIGNATURE_MAX_BYTES = 1024 * 1024;

/** Reads a revision's model signature from one of its pods (GET /v2/models/{name} on the pod). */
async function readSignature(pod: ObservedPod, model: string, signal: AbortSignal): Promise<SignatureRead> {
  const path = modelMetadataPath(model);
  const url = `http://${pod.ip}:${SERVING_PORT}${path}`;
  try {
    // The pod runs whatever image the spec names: its answer is bounded in size and time.
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(SIGNATURE_TIMEOUT_MS)]);
    const res = await fetch(url, { redirect: 'manual', signal: bounded });
    const text = await readCapped(res, SIGNATURE_MAX_BYTES, bounded);
    if (res.status !== 200) return { error: `pod ${pod.name} answered ${res.status} to GET ${path}: ${text.slice(0, 200)}` };
    return parseModelMetadata(JSON.parse(text));
  } catch (err) {
    // A stopped reconcile is not an unreadable signature.
    signal.throwIfAborted();
    return { error: `pod ${pod.name}: ${(err as Error).message}` };
  }
}

/** Where observe() reads measurements from, and the clock. */
export interface ObserveDeps {
  cache: ReconcilerCache;
  /** The Prometheus for spec.monitoring.prometheusURL or the operator's default. */
  prometheus(md: ModelDeployment): MetricProvider;
  defaultImage: string;
  now: () => number;
  /** The activator, when scale to zero is on (SISKIN_ACTIVATOR_ADDRESS). */
  activator?: ActivatorHandle;
}

/** Builds plan()'s input: the cached world plus the measurements due now. Rejects once signal aborted. */
export async function observe(deps: ObserveDeps, stored: StoredModelDeployment, deployments: readonly V1Deployment[], signal: AbortSignal): Promise<PlanInput> {
  const { namespace, name, md, meta } = stored;
  const observed = observeDeployments(deployments, meta.uid);
  const pods = deps.cache.listPods(namespace, name).map(observePod);
  const status = md.status ?? {};
  const modelName = md.spec.model.name ?? name;
  const signatures: Record<string, SignatureRead> = {};
  for (const { revision, pod } of signaturesToRead(status, pods)) signatures[revision] = await readSignature(pod, modelName, signal);
  const at = deps.now();
  const measured = await measureDue(deps.prometheus(md), stored, observed, at, signal);
  // The measurements turn failed queries into observations: an abort must not become one.
  signal.throwIfAborted();
  const canaryIP = deps.cache.getService(namespace, serviceNames(name).canary)?.spec?.clusterIP;
  const activator = await prepareActivator(deps.activator, `${namespace}/${name}`, md, deps.cache.listModelDeployments());
  const slices = observeSlices(deps.cache.listEndpointSlices(namespace, name));
  return {
    owner: { name, namespace, uid: meta.uid },
    generation: meta.generation ?? 0,
    annotations: meta.annotations ?? {},
    spec: md.spec,
    status,
    observed,
    pods,
    signatures,
    ...measured,
    ...(canaryIP && canaryIP !== 'None' ? { canaryServiceIP: canaryIP } : {}),
    ...(activator ? { activator } : {}),
    ...slices,
    now: at,
    defaultImage: deps.defaultImage,
  };
}

/** The analysis round, stable health and traffic load that are due at `at`, each only when due. */
async function measureDue(
  prometheus: MetricProvider,
  { namespace, name, md }: StoredModelDeployment,
  observed: readonly ObservedDeployment[],
  at: number,
  signal: AbortSignal,
): Promise<Pick<PlanInput, 'analysisRound' | 'health' | 'load' | 'idleRequests'>> {
  const status = md.status ?? {};
  const model = md.spec.model.name ?? name;
  const analysis = md.spec.rollout.analysis;
  const judged = stepAnalysis(md.spec, status.currentStepIndex ?? 0);
  const analysisRound =
    analysis && analysisDue(md.spec, status, observed, at) && status.canary && status.stable
      ? await measure(
          prometheus,
          judged.metrics,
          {
            namespace,
            model,
            canaryRevision: status.canary.name,
            stableRevision: status.stable.name,
            windowSeconds: analysis.windowSeconds,
            canaryMirrored: judged.canaryMirrored,
          },
          signal,
        )
      : undefined;
  const drift = md.spec.monitoring?.drift;
  const health =
    drift && status.stable && healthDue(md.spec, status, at)
      ? await measureHealth(prometheus, { namespace, model, revision: status.stable.name, windowSeconds: drift.windowSeconds }, signal)
      : undefined;
  const serving = [status.stable?.name, status.canary?.name].filter((r): r is string => !!r && observed.some((d) => d.revision === r && d.readyReplicas > 0));
  const due = autoscaleDue(md.spec, status, at);
  const load = due ? await measureLoad(prometheus, { namespace, model, revisions: serving }, signal) : undefined;
  // Scale to zero: the idle check runs with the autoscaler's reads, only while the model is up.
  const auto = md.spec.autoscaling;
  const idleWindow = auto?.minReplicas === 0 && (status.activation?.state ?? 'Active') === 'Active' && due ? (auto.scaleToZeroAfterSeconds ?? DEFAULT_SCALE_TO_ZERO_AFTER_SECONDS) : undefined;
  const idleRequests = idleWindow !== undefined ? await prometheus.query(idleRequestsQuery({ namespace, model, windowSeconds: idleWindow }), signal).catch(() => undefined) : undefined;
  return { ...(analysisRound ? { analysisRound } : {}), ...(health ? { health } : {}), ...(load ? { load } : {}), ...(idleRequests !== undefined ? { idleRequests } : {}) };
}

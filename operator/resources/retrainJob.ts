// Pure builder of a retraining Job from spec.monitoring.retraining.jobTemplate: labelled and
// owned by the ModelDeployment, with the model's identity and the breach in every container's
// env. The name is derived from the revision and the cooldown slot, so a retried reconcile
// (status write lost after the create) finds the Job it made instead of making a second one.
import type { V1Job, V1JobSpec } from '@kubernetes/client-node';
import { RETRAIN_SERVICE_ACCOUNT } from '../api/schema.ts';
import { ownerReference, type Owner } from './deployment.ts';
import { FIELD_MANAGER, LABEL_MANAGED_BY, LABEL_REVISION } from './labels.ts';

/** Label on retraining Jobs naming the kind of breach that started them. */
export const LABEL_RETRAIN_REASON = 'siskin.dev/retrain-reason';
/** Label on retraining Jobs and their pods naming the ModelDeployment. Not the serving label: a Service must never select a training pod. */
export const LABEL_RETRAIN_FOR = 'siskin.dev/retrain-for';

/** What the Job is told about the model it retrains. */
export interface RetrainContext {
  owner: Owner;
  modelName: string;
  revision: string;
  version: string;
  uri: string;
  sha256?: string;
  /** The breach kind (DataDrift, AccuracyDecay, …) and its message. */
  reason: string;
  message: string;
  /** now / cooldown, floored: one name per cooldown period. */
  slot: number;
}

/** The Job's name: at most 63 characters, one per revision and cooldown slot. */
export function retrainJobName(mdName: string, revision: string, slot: number): string {
  const suffix = `-retrain-${revision}-${slot.toString(36)}`;
  return `${mdName.slice(0, 63 - suffix.length)}${suffix}`;
}

/** Where the template sits in the spec: the field paths of refusals start here. */
const TEMPLATE_PATH = 'spec.monitoring.retraining.jobTemplate';

/** A retraining Job template outside the restricted profile: the operator creates no Job from it. */
export class RetrainRefusedError extends Error {
  /** The offending field, e.g. spec.monitoring.retraining.jobTemplate.template.spec.hostNetwork. */
  readonly field: string;
  constructor(field: string, why: string) {
    super(`${field}: ${why}; no retraining Job is created (docs/security.md)`);
    this.name = 'RetrainRefusedError';
    this.field = field;
  }
}

type Json = Record<string, unknown>;
const objectAt = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const listAt = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The first way a container breaks the profile, as [field under the container, why]. */
function containerViolation(container: unknown): [string, string] | undefined {
  const sc = objectAt(objectAt(container).securityContext);
  if (sc.privileged === true) return ['securityContext.privileged', 'a retraining container may not be privileged'];
  if (sc.allowPrivilegeEscalation === true) return ['securityContext.allowPrivilegeEscalation', 'a retraining container may not allow privilege escalation'];
  if (listAt(objectAt(sc.capabilities).add).length > 0) return ['securityContext.capabilities.add', 'a retraining container may not add capabilities'];
  return undefined;
}

/**
 * Throws RetrainRefusedError unless the template's pod keeps to the restricted profile the
 * CRD's CEL enforces at admission (operator/api/schema.ts): the CRD on a cluster may be older
 * than this operator, and the Job is created with the operator's identity, not the author's.
 * Refuses rather than rewrites: a silently changed Job would not be the one the author wrote.
 */
export function assertRestrictedTemplate(template: unknown): void {
  const pod = objectAt(objectAt(objectAt(template).template).spec);
  const at = `${TEMPLATE_PATH}.template.spec`;
  for (const field of ['serviceAccountName', 'serviceAccount']) {
    if (pod[field] !== undefined && pod[field] !== RETRAIN_SERVICE_ACCOUNT) {
      throw new RetrainRefusedError(`${at}.${field}`, `${field} of a retraining pod must be absent or ${RETRAIN_SERVICE_ACCOUNT}`);
    }
  }
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) {
    if (pod[field] === true) throw new RetrainRefusedError(`${at}.${field}`, `a retraining pod may not set ${field}`);
  }
  const hostPath = listAt(pod.volumes).findIndex((v) => objectAt(v).hostPath !== undefined);
  if (hostPath >= 0) throw new RetrainRefusedError(`${at}.volumes[${hostPath}].hostPath`, 'a retraining pod may not mount hostPath volumes');
  for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
    for (const [i, c] of listAt(pod[list]).entries()) {
      const bad = containerViolation(c);
      if (bad) throw new RetrainRefusedError(`${at}.${list}[${i}].${bad[0]}`, bad[1]);
    }
  }
}

/** Builds the Job; throws RetrainRefusedError for a template outside the restricted profile. */
export function retrainJob(template: Record<string, unknown>, ctx: RetrainContext): V1Job {
  assertRestrictedTemplate(template);
  const spec = structuredClone(template) as unknown as V1JobSpec;
  const env = [
    { name: 'SISKIN_MODEL_DEPLOYMENT', value: ctx.owner.name },
    { name: 'SISKIN_NAMESPACE', value: ctx.owner.namespace },
    { name: 'SISKIN_MODEL_NAME', value: ctx.modelName },
    { name: 'SISKIN_MODEL_REVISION', value: ctx.revision },
    { name: 'SISKIN_MODEL_VERSION', value: ctx.version },
    { name: 'SISKIN_MODEL_URI', value: ctx.uri },
    ...(ctx.sha256 ? [{ name: 'SISKIN_MODEL_SHA256', value: ctx.sha256 }] : []),
    { name: 'SISKIN_RETRAIN_REASON', value: ctx.reason },
    { name: 'SISKIN_RETRAIN_MESSAGE', value: ctx.message },
  ];
  const labels = { [LABEL_MANAGED_BY]: FIELD_MANAGER, [LABEL_RETRAIN_FOR]: ctx.owner.name, [LABEL_REVISION]: ctx.revision, [LABEL_RETRAIN_REASON]: ctx.reason };
  const podSpec = spec.template?.spec;
  for (const c of [...(podSpec?.initContainers ?? []), ...(podSpec?.containers ?? [])]) {
    const own = new Set(env.map((e) => e.name));
    c.env = [...env, ...(c.env ?? []).filter((e) => !own.has(e.name))];
  }
  if (spec.template) spec.template.metadata = { ...spec.template.metadata, labels: { ...spec.template.metadata?.labels, ...labels } };
  // Without the platform team's account the pod runs as the namespace's default one, which
  // needs no API token for retraining: none is mounted unless the template asks for it.
  if (podSpec && podSpec.serviceAccountName === undefined && podSpec.serviceAccount === undefined) {
    podSpec.automountServiceAccountToken ??= false;
  }
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: retrainJobName(ctx.owner.name, ctx.revision, ctx.slot),
      namespace: ctx.owner.namespace,
      labels,
      annotations: { 'siskin.dev/retrain-message': ctx.message.slice(0, 1024) },
      ownerReferences: [ownerReference(ctx.owner)],
    },
    spec,
  };
}

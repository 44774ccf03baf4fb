// Pure builder of a retraining Job from spec.monitoring.retraining.jobTemplate: labelled and
// owned by the ModelDeployment, with the model's identity and the breach in every container's
// env. The name is derived from the revision and the cooldown slot, so a retried reconcile
// (status write lost after the create) finds the Job it made instead of making a second one.
import type { V1Job, V1JobSpec } from '@kubernetes/client-node';
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

/** Builds the Job. */
export function retrainJob(template: Record<string, unknown>, ctx: RetrainContext): V1Job {
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

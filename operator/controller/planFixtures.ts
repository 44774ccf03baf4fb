// Builders of plan() inputs for the plan test files. Specs go through the zod schema, so
// defaults apply as they do to a real object; revision names come from the real hash, so a
// row's Deployments are named as the reconciler would name them. Only the public API of
// plan.ts is used: these builders outlive any rewrite of its internals.
import { modelDeploymentSpec, type ModelDeploymentSpec, type ModelDeploymentStatus } from '../api/schema.ts';
import { revisionHash } from '../resources/revision.ts';
import type { ObservedDeployment, ObservedPod, Plan, PlanInput } from './plan.ts';

/** The operator's default serving image in every row. */
export const IMAGE = 'img:1';
/** "Now" in every row: a Monday, noon UTC. */
export const T0 = Date.parse('2026-11-23T12:00:00Z');

/** A timestamp as status stores it. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * A spec of model version v (4 replicas, steps setWeight 25 then an indefinite pause), defaults
 * applied; over replaces top-level fields. Every version ships its training-data profile, so
 * its pods export feature PSI and a drift policy can judge it.
 */
export function specV(v: string, over: Record<string, unknown> = {}): ModelDeploymentSpec {
  const model = { uri: `file:///m/${v}.onnx`, version: v, referenceProfile: { uri: `file:///m/${v}.profile.json` } };
  return modelDeploymentSpec.parse({ model, replicas: 4, rollout: { steps: [{ setWeight: 25 }, { pause: {} }] }, ...over });
}

/** The revision of version v (rollout, replicas, monitoring and autoscaling do not change it). */
export const rev = (v: string): string => revisionHash(specV(v), IMAGE);

/** The observed Deployment of version v: its size, how many are ready, up to date. */
export function dep(v: string, specReplicas: number, ready = specReplicas): ObservedDeployment {
  return { name: `iris-${rev(v)}`, revision: rev(v), specReplicas, readyReplicas: ready, replicas: ready, upToDate: true };
}

/** The iris model's signature: every version in these rows shares it. */
export const SIG = { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }] };

type Revision = NonNullable<ModelDeploymentStatus['stable']>;

/** Version v as status records a revision, its signature already read. */
export const revision = (v: string): Revision => ({ name: rev(v), version: v, uri: `file:///m/${v}.onnx`, signature: SIG });

/** Status of a model whose stable revision is version v and nothing else runs. */
export const stableStatus = (v: string, extra: Partial<ModelDeploymentStatus> = {}): ModelDeploymentStatus => ({ stable: revision(v), ...extra });

/** Status of a rollout from stable version s to canary version c, at step 1 (the pause) and weight 25 since T0. */
export const rollingStatus = (s: string, c: string, extra: Partial<ModelDeploymentStatus> = {}): ModelDeploymentStatus => ({
  stable: revision(s),
  canary: revision(c),
  canaryWeight: 25,
  currentStepIndex: 1,
  stepStartedAt: iso(T0),
  rolloutStartedAt: iso(T0),
  ...extra,
});

/** Pod i of version v: containers ready, not deleting, no gate set yet unless over says so. */
export function pod(v: string, i: number, over: Partial<ObservedPod> = {}): ObservedPod {
  return { name: `iris-${rev(v)}-${i}`, revision: rev(v), ip: `198.51.100.${i + 10}`, containersReady: true, deleting: false, ...over };
}

/** A plan() input for the ModelDeployment ml/iris at T0; over replaces fields. */
export function planInput(over: Partial<PlanInput>): PlanInput {
  return { owner: { name: 'iris', namespace: 'ml', uid: 'u1' }, generation: 1, annotations: {}, spec: specV('1'), status: {}, observed: [], now: T0, defaultImage: IMAGE, ...over };
}

/** The size the plan gives each revision, through a full Deployment or the scale subresource, by revision. */
export function sizes(p: Plan): Record<string, number> {
  return Object.fromEntries([
    ...p.deployments.map((d): [string, number] => [d.metadata!.labels!['siskin.dev/revision']!, d.spec!.replicas!]),
    ...p.scales.map((s): [string, number] => [s.name.replace('iris-', ''), s.replicas]),
  ]);
}

/** A condition of the planned status by type, without its transition time. */
export function condition(status: ModelDeploymentStatus, type: string): { status: string; reason: string; message: string } | undefined {
  const c = status.conditions?.find((x) => x.type === type);
  return c ? { status: c.status, reason: c.reason, message: c.message } : undefined;
}

/** The reasons of the planned Events, in order. */
export const reasons = (p: Plan): string[] => p.events.map((e) => e.reason);

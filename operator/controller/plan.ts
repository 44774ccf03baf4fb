// The reconcile plan: from a ModelDeployment and what exists, the objects that should exist,
// the status to write, the Events to emit and when to look again. Pure — no client, no clock
// (now is an input) — so every rollout path is a table test. plan() reads as its table of
// contents: one context, then named steps (plan/*.ts), each deciding one thing.
import type { ModelDeploymentSpec, ModelDeploymentStatus } from '../api/schema.ts';
import { PollMs } from '../rollout/poll.ts';
import { activatorSlices } from './plan/activation.ts';
import { reconcileAnalysis, scheduleAnalysis } from './plan/analysis.ts';
import { reconcileCanaryStep } from './plan/canaryStep.ts';
import { reconcileCommands } from './plan/commands.ts';
import { admitted, newContext, type ObservedDeployment, type ObservedPod, type Plan, type PlanInput } from './plan/context.ts';
import { desiredHeaderRoutes, withHeaderRoutes } from './plan/headerRoutes.ts';
import { desiredObjects, keepPrevious, podGates } from './plan/objects.ts';
import { reconcileRevisions } from './plan/revisions.ts';
import { rolledBackOf } from './plan/rolloutState.ts';
import { reconcileScale } from './plan/scale.ts';
import { reconcileSchemaGate } from './plan/schemaGate.ts';
import { reconcileStableHealth } from './plan/stableHealth.ts';
import { statusOf } from './plan/status.ts';

export { stepAnalysis, type StepAnalysis } from './plan/analysis.ts';
export type { ObservedDeployment, ObservedPod, Plan, PlanInput, PlannedEvent, PodGate, SignatureRead } from './plan/context.ts';

/** Computes the plan. */
export function plan(input: PlanInput): Plan {
  const ctx = newContext(input);
  reconcileScale(ctx);
  reconcileRevisions(ctx);
  if (ctx.canary) {
    reconcileCommands(ctx);
    reconcileSchemaGate(ctx);
    reconcileAnalysis(ctx);
    reconcileCanaryStep(ctx);
    scheduleAnalysis(ctx);
  }
  reconcileStableHealth(ctx);
  keepPrevious(ctx);
  const objects = desiredObjects(ctx);
  const headerRoutes = desiredHeaderRoutes(ctx, objects.routeWeight);
  const gates = podGates(ctx);
  const status = withHeaderRoutes(statusOf(ctx), headerRoutes);
  return {
    ...objects,
    ...(headerRoutes ? { headerRoutes } : {}),
    endpointSlices: activatorSlices(ctx),
    podGates: gates,
    jobs: ctx.jobs,
    status,
    events: ctx.events,
    ...(ctx.requeueAfterMs !== undefined ? { requeueAfterMs: ctx.requeueAfterMs } : {}),
  };
}

// What the reconciler measures before planning: each a pure question about status.

/**
 * Revisions whose signature the shell should read from a pod before planning: the stable one
 * until it is known, and the canary until it passed the schema gate. Only a pod whose
 * containers are ready has loaded (and digest-checked) its model.
 */
export function signaturesToRead(status: ModelDeploymentStatus, pods: readonly ObservedPod[]): { revision: string; pod: ObservedPod }[] {
  const want: string[] = [];
  if (status.stable && !status.stable.signature) want.push(status.stable.name);
  if (status.canary && !status.canary.signature && !rolledBackOf(status)) want.push(status.canary.name);
  const out: { revision: string; pod: ObservedPod }[] = [];
  for (const revision of want) {
    const pod = pods.find((p) => p.revision === revision && p.containersReady && !p.deleting && p.ip);
    if (pod) out.push({ revision, pod });
  }
  return out;
}

/** An analysis round is due: a rollout with metrics runs, its canary is admitted and serving, and an interval has passed. */
export function analysisDue(spec: ModelDeploymentSpec, status: ModelDeploymentStatus, observed: readonly ObservedDeployment[], now: number): boolean {
  const a = spec.rollout.analysis;
  const canary = status.canary;
  if (!a || a.metrics.length === 0 || !admitted(spec, canary) || rolledBackOf(status)) return false;
  if (!observed.some((d) => d.revision === canary.name && d.readyReplicas > 0)) return false;
  const last = status.analysis?.lastRoundAt ? Date.parse(status.analysis.lastRoundAt) : 0;
  return now - last >= a.intervalSeconds * 1000;
}

/** A health check of the stable revision is due: a drift policy is set, no rollout runs, an interval has passed. */
export function healthDue(spec: ModelDeploymentSpec, status: ModelDeploymentStatus, now: number): boolean {
  const drift = spec.monitoring?.drift;
  if (!drift || !status.stable) return false;
  // While a canary rolls out, the canary analysis is the judge.
  if (status.canary && !rolledBackOf(status)) return false;
  const last = status.monitoring?.lastCheckAt ? Date.parse(status.monitoring.lastCheckAt) : 0;
  return now - last >= drift.intervalSeconds * 1000;
}

/** The autoscaler should read the model's traffic now. */
export function autoscaleDue(spec: ModelDeploymentSpec, status: ModelDeploymentStatus, now: number): boolean {
  if (!spec.autoscaling) return false;
  const last = status.autoscaling?.lastCheckAt ? Date.parse(status.autoscaling.lastCheckAt) : 0;
  return now - last >= PollMs.autoscale;
}

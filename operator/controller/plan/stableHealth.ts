// Pipeline step: the stable revision's health after promotion — drift, bad input, accuracy
// and errors measured this reconcile, judged against spec.monitoring.drift, and the
// configured action once per cooldown: alert, retrain (a Job), or roll back to the previous
// revision (which turns the drifting one into a rolled-back canary).
import type { ModelDeploymentSpec } from '../../api/schema.ts';
import { Reason } from '../../api/reasons.ts';
import { assessHealth, shouldFire, type Breach, type BreachKind, type DriftPolicy, type HealthAssessment, type HealthObservation } from '../../monitoring/health.ts';
import { RetrainRefusedError, retrainJob, type RetrainContext } from '../../resources/retrainJob.ts';
import { PollMs } from '../../rollout/poll.ts';
import { emit, observedOf, record, requeue, type AnalysisStatus, type PlanContext } from './context.ts';

/** Judges this reconcile's health observation, acts on a breach, and schedules the next check. */
export function reconcileStableHealth(ctx: PlanContext): void {
  const drift = ctx.spec.monitoring?.drift;
  if (!drift) return;
  const health = ctx.input.health;
  if (health) judge(ctx, drift, health);
  const last = ctx.monitoring?.lastCheckAt ? Date.parse(ctx.monitoring.lastCheckAt) : ctx.now;
  // While a canary rolls out, the canary analysis is the judge.
  if (!ctx.canary || ctx.rolledBack) requeue(ctx, Math.max(1, last + drift.intervalSeconds * 1000 - ctx.now));
}

function judge(ctx: PlanContext, drift: DriftPolicy, health: HealthObservation): void {
  const featureDrift = !!ctx.spec.model.referenceProfile;
  const a = assessHealth(drift, health, { featureDrift });
  const stable = ctx.stable;
  ctx.monitoring = { ...ctx.monitoring, lastCheckAt: ctx.nowIso, measurements: healthMeasurements(drift, health, a, featureDrift, ctx.nowIso) };
  const first = a.breaches[0];
  if (!first) {
    if (!a.inconclusive && a.unjudged.length === 0) {
      ctx.driftCondition = { status: 'False', reason: Reason.Healthy, message: `stable ${stable.version} (${stable.name}) is within its drift, data-quality, accuracy and error bounds` };
    }
    return;
  }
  const message = `stable ${stable.version} (${stable.name}): ${a.breaches.map((b) => b.message).join('; ')}`;
  ctx.driftCondition = { status: 'True', reason: first.kind, message };
  const retraining = ctx.spec.monitoring?.retraining;
  const cooldown = drift.action === 'Retrain' && retraining ? retraining.cooldownSeconds : drift.cooldownSeconds;
  const lastAction = ctx.monitoring.lastActionAt ? Date.parse(ctx.monitoring.lastActionAt) : undefined;
  if (!shouldFire(lastAction, cooldown, ctx.now)) return;
  emit(ctx, 'Warning', first.kind, message);
  let done: string = drift.action;
  if (drift.action === 'Retrain' && retraining) done = retrain(ctx, retraining, first, message, cooldown) ? done : 'Alert';
  else if (drift.action === 'Rollback' && !driftRollback(ctx, first, a.breaches)) done = 'Alert';
  // lastAction (and siskin_drift_actions_total) say what was done: a Rollback that could only alert is an Alert.
  ctx.monitoring = { ...ctx.monitoring, lastActionAt: ctx.nowIso, lastAction: done };
}

type Retraining = NonNullable<NonNullable<ModelDeploymentSpec['monitoring']>['retraining']>;

/** A retraining Job for the breach; one per cooldown slot (its name is the slot's). False: refused, it could only alert. */
function retrain(ctx: PlanContext, retraining: Retraining, breach: Breach, message: string, cooldownSeconds: number): boolean {
  const { stable, input } = ctx;
  const job = refusedOrBuilt(ctx, retraining.jobTemplate, {
    owner: input.owner,
    modelName: ctx.spec.model.name ?? input.owner.name,
    revision: stable.name,
    version: stable.version,
    uri: stable.uri,
    ...(stable.sha256 ? { sha256: stable.sha256 } : {}),
    reason: breach.kind,
    message,
    slot: Math.floor(ctx.now / (cooldownSeconds * 1000)),
  });
  if (!job) return false;
  const name = job.metadata?.name ?? '';
  ctx.jobs.push(job);
  ctx.monitoring = { ...ctx.monitoring, lastJob: name };
  emit(ctx, 'Normal', Reason.RetrainingStarted, `started retraining Job ${name} for ${breach.kind}`);
  return true;
}

/** The Job, or none and a Warning Event when its template breaks the restricted profile (a CRD older than the operator let it in). */
function refusedOrBuilt(ctx: PlanContext, template: Record<string, unknown>, rc: RetrainContext): ReturnType<typeof retrainJob> | undefined {
  try {
    return retrainJob(template, rc);
  } catch (err) {
    if (!(err instanceof RetrainRefusedError)) throw err;
    emit(ctx, 'Warning', Reason.RetrainRefused, err.message);
    return undefined;
  }
}

/** The previous revision serves again; the drifting one becomes a rolled-back canary of the spec. False: it could only alert. */
function driftRollback(ctx: PlanContext, first: Breach, breaches: readonly Breach[]): boolean {
  const drifted = ctx.stable;
  const prev = ctx.previous && observedOf(ctx, ctx.previous.name) && ctx.previous.name !== drifted.name ? ctx.previous : undefined;
  if (!prev) {
    emit(ctx, 'Warning', Reason.DriftRollback, `drift action Rollback: no previous revision is kept to roll back to; alerting only`);
    return false;
  }
  const canary = ctx.canary;
  // While a canary rolls out its analysis is the judge (no health check is due then).
  if (canary && !ctx.rolledBack) return false;
  if (canary) {
    // The spec asks for that rolled-back canary: making the drifted revision the canary would
    // start the spec's revision again. Going back is then a spec change, which a person makes.
    const message = `drift action Rollback: the spec asks for ${canary.version} (${canary.name}), which was rolled back; alerting only. Set the spec to ${prev.version} to roll back to it`;
    emit(ctx, 'Warning', Reason.DriftRollback, message);
    return false;
  }
  const message = `rolled back from ${drifted.version} (${drifted.name}) to ${prev.version} (${prev.name}): ${first.kind}: ${breaches.map((b) => b.message).join('; ')}`;
  record(ctx, drifted, 'RolledBack', message);
  emit(ctx, 'Warning', Reason.DriftRollback, message);
  ctx.stable = prev;
  ctx.previous = undefined;
  ctx.canary = drifted;
  ctx.rolledBack = { reason: Reason.DriftRollback, message };
  ctx.step = { stepIndex: 0, stepStartedAt: ctx.now, weight: 0 };
  ctx.replicas = { [prev.name]: ctx.total, [drifted.name]: observedOf(ctx, drifted.name)?.specReplicas ?? ctx.total };
  requeue(ctx, PollMs.ready);
  return true;
}

type Measurement = NonNullable<AnalysisStatus['measurements']>[number];

/** The health observation as status measurements, each with its bound and verdict (Inconclusive where the check could not judge). */
function healthMeasurements(drift: DriftPolicy, h: HealthObservation, a: HealthAssessment, featureDrift: boolean, time: string): Measurement[] {
  const breached = a.breaches.map((b) => b.kind);
  const m = (metric: string, kind: BreachKind, value: number | undefined, bound: string): Measurement => ({
    metric,
    ...(value !== undefined && Number.isFinite(value) ? { value } : {}),
    bound,
    verdict: h.error || value === undefined || !Number.isFinite(value) || a.unjudged.includes(kind) ? 'Inconclusive' : breached.includes(kind) ? 'Fail' : 'Pass',
    ...(h.error ? { reason: h.error } : {}),
    time,
  });
  return [
    ...(featureDrift ? [m(h.worstFeature ? `feature-psi (${h.worstFeature})` : 'feature-psi', 'DataDrift', h.maxFeaturePsi, `<= ${drift.threshold}`)] : []),
    ...(drift.maxBadInputRatio !== undefined ? [m('bad-input-ratio', 'BadInputData', h.badInputRatio, `<= ${drift.maxBadInputRatio}`)] : []),
    ...(drift.minAccuracy !== undefined ? [m('accuracy', 'AccuracyDecay', h.accuracy, `>= ${drift.minAccuracy} over >= ${drift.minLabels} labels`)] : []),
    ...(drift.maxErrorRate !== undefined ? [m('error-rate', 'ServingErrors', h.errorRate, `<= ${drift.maxErrorRate}`)] : []),
  ];
}

// The status, derived from the decided context: conditions (kstatus's Ready, Reconciling and
// Stalled, plus Progressing, Degraded and DriftDetected), the rollout state as data, and the
// revisions, step and counters the next reconcile starts from.
import { ANNOTATION_COMMAND, ConditionType, Reason } from '../../api/reasons.ts';
import type { ModelDeploymentStatus } from '../../api/schema.ts';
import { podSelector } from '../../resources/labels.ts';
import { PollMs } from '../../rollout/poll.ts';
import { derivePhase, getCondition, setCondition, type Condition } from '../conditions.ts';
import { emit, iso, observedOf, requeue, rolling, type ConditionUpdate, type PlanContext } from './context.ts';
import { retryHint, rolloutStatus } from './rolloutState.ts';

/** The status to write. */
export function statusOf(ctx: PlanContext): ModelDeploymentStatus {
  const { input, spec, canary, step } = ctx;
  const old = input.status;
  const conditions = conditionsOf(ctx);
  const paused = ctx.paused || (rolling(ctx) && ctx.progress?.reason === Reason.AnalysisInconclusive);
  const rolledBack = canary ? ctx.rolledBack : undefined;
  const serving = `stable ${ctx.stable.version} (${ctx.stable.name}) serves all traffic`;
  const rawCommand = input.annotations[ANNOTATION_COMMAND];
  const phase = derivePhase(conditions, { paused, rolledBack: !!rolledBack });
  const atZero = ctx.activation?.state === 'ScaledToZero';
  const activation = activationStatus(ctx);
  return {
    observedGeneration: input.generation,
    phase: atZero && phase === 'Healthy' ? 'ScaledToZero' : phase,
    conditions,
    rollout: rolloutStatus({ rolledBack, rolling: rolling(ctx), paused, progress: ctx.progress, serving }),
    stable: ctx.stable,
    ...(canary ? { canary } : {}),
    ...(ctx.previous ? { previous: ctx.previous } : {}),
    canaryWeight: canary ? step.weight : 0,
    ...(canary ? { currentStepIndex: step.stepIndex, stepStartedAt: iso(step.stepStartedAt), ...(ctx.rolloutStartedAt ? { rolloutStartedAt: ctx.rolloutStartedAt } : {}) } : {}),
    ...(rawCommand !== undefined ? { lastCommand: rawCommand } : old.lastCommand !== undefined ? { lastCommand: old.lastCommand } : {}),
    ...(canary && ctx.analysis ? { analysis: ctx.analysis } : {}),
    ...(ctx.monitoring ? { monitoring: ctx.monitoring } : {}),
    ...(spec.autoscaling && ctx.autoscaling ? { autoscaling: ctx.autoscaling } : {}),
    ...(activation ? { activation } : {}),
    replicas: input.observed.reduce((n, d) => n + d.replicas, 0),
    readyReplicas: input.observed.reduce((n, d) => n + d.readyReplicas, 0),
    selector: podSelector(input.owner.name),
    ...(ctx.history.length ? { history: ctx.history } : {}),
  };
}

/** status.activation: the state, and the activator port allocated to the model (kept while it may scale to zero). */
function activationStatus(ctx: PlanContext): ModelDeploymentStatus['activation'] {
  const a = ctx.activation;
  if (!a) return undefined;
  const port = ctx.input.activator?.port ?? ctx.input.status.activation?.port;
  const reason = a.state === 'Active' && ctx.input.activator?.portError ? `${a.reason}; cannot scale to zero: ${ctx.input.activator.portError}` : a.reason;
  return { state: a.state, since: iso(a.since), reason: reason.slice(0, 1024), ...(port !== undefined ? { port } : {}) };
}

/** Every condition, from the rollout state; a freeze that just began is also an Event. */
function conditionsOf(ctx: PlanContext): Condition[] {
  const { input, stable, progress } = ctx;
  let conditions: Condition[] = [...(input.status.conditions ?? [])];
  const set = (type: string, c: ConditionUpdate): void => {
    conditions = setCondition(conditions, { type, ...c, observedGeneration: input.generation }, ctx.nowIso);
  };
  if (ctx.driftCondition) set(ConditionType.DriftDetected, ctx.driftCondition);
  if (!ctx.spec.monitoring?.drift) conditions = conditions.filter((c) => c.type !== ConditionType.DriftDetected);
  const wasFrozen = getCondition(input.status.conditions, ConditionType.Progressing)?.reason === Reason.FreezeWindow;
  if (progress?.reason === Reason.FreezeWindow && !wasFrozen) emit(ctx, 'Normal', Reason.FreezeWindow, progress.message);
  if (ctx.rolledBack && ctx.canary) {
    const out = { status: 'False', reason: ctx.rolledBack.reason, message: `${ctx.rolledBack.message}${retryHint(stable.version)}` } as const;
    set(ConditionType.Stalled, { ...out, status: 'True' });
    set(ConditionType.Degraded, { ...out, status: 'True' });
    for (const type of [ConditionType.Progressing, ConditionType.Reconciling, ConditionType.Ready]) set(type, out);
    return conditions;
  }
  const stableWant = ctx.replicas[stable.name] ?? 0;
  const obs = observedOf(ctx, stable.name);
  const stableReady = !!obs && obs.upToDate && obs.readyReplicas >= stableWant && obs.specReplicas === stableWant;
  set(ConditionType.Stalled, { status: 'False', reason: Reason.NoRollout, message: 'nothing is stuck' });
  set(ConditionType.Degraded, stableReady ? { status: 'False', reason: Reason.Available, message: 'the stable revision is available' } : { status: 'False', reason: Reason.Unavailable, message: 'the stable revision is not fully ready' });
  if (rolling(ctx)) {
    const steps = ctx.spec.rollout.steps.length;
    const where = `canary ${ctx.canary.version} at weight ${ctx.step.weight}, step ${Math.min(ctx.step.stepIndex + 1, steps)} of ${steps}`;
    set(ConditionType.Progressing, { status: 'True', reason: progress?.reason ?? Reason.RolloutInProgress, message: progress ? `${where}: ${progress.message}` : where });
    set(ConditionType.Reconciling, { status: 'True', reason: Reason.RolloutInProgress, message: 'a rollout is in progress' });
    set(ConditionType.Ready, { status: 'False', reason: Reason.RolloutInProgress, message: 'a rollout is in progress' });
  } else {
    set(ConditionType.Progressing, progress ? { status: 'False', ...progress } : { status: 'False', reason: Reason.RolloutComplete, message: `stable ${stable.version} (${stable.name}) serves all traffic` });
    const notReady = ctx.waitingNote ? `waiting for the stable revision to be ready (${ctx.waitingNote})` : 'waiting for the stable revision to be ready';
    set(ConditionType.Reconciling, stableReady ? { status: 'False', reason: Reason.Available, message: 'reconciled' } : { status: 'True', reason: Reason.Converging, message: notReady });
    // At zero the model can serve (the activator holds the first request until a pod is ready),
    // so it is Ready, as Knative's revisions are: kubectl wait and GitOps health see it healthy.
    const zero = ctx.activation?.state === 'ScaledToZero' ? ctx.activation : undefined;
    if (zero) set(ConditionType.Ready, { status: 'True', reason: Reason.ScaledToZero, message: `${stable.version} is scaled to zero (${zero.reason}); the first request wakes it` });
    else set(ConditionType.Ready, stableReady ? { status: 'True', reason: Reason.Available, message: `${stable.version} is serving` } : { status: 'False', reason: Reason.Unavailable, message: notReady });
  }
  if (!stableReady) requeue(ctx, PollMs.ready);
  return conditions;
}

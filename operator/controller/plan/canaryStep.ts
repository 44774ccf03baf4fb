// Pipeline step: the canary's step — the step machine's decision (hold, advance, promote,
// abort), the progress deadline, promotion (the canary grows to full size before the old
// stable goes), and the sizes of both revisions that follow.
import { Reason } from '../../api/reasons.ts';
import { describeFreeze } from '../../rollout/freeze.ts';
import { PollMs } from '../../rollout/poll.ts';
import { headerRoutesAt, headerRoutesInPlace } from '../../rollout/headerRoutes.ts';
import { nextStep, shadowAt, type StepDecision } from '../../rollout/steps.ts';
import { shadowSplit, type ReplicaSplit } from '../../routing/split.ts';
import { analysisPassing, analysisPause } from './analysis.ts';
import { admitted, canaryOf, emit, observedOf, record, requeue, rollBack, stableServes, type PlanContext } from './context.ts';

/** Moves the canary along its steps (or promotes, or rolls it back), then sizes both revisions. */
export function reconcileCanaryStep(ctx: PlanContext): void {
  const steps = ctx.spec.rollout.steps;
  const atFullWeight = ctx.step.stepIndex >= steps.length && ctx.step.weight === 100;
  if (ctx.rolledBack) ctx.step = { ...ctx.step, weight: 0 };
  else if (atFullWeight && ctx.command === 'abort') rollBack(ctx, Reason.RolloutAborted, 'rollout aborted by user during promotion', 'Aborted');
  else if (atFullWeight) promote(ctx, 'all steps completed');
  else stepDecision(ctx);
  sizeRevisions(ctx);
}

/** The step machine's decision at the current weight, carried out. */
function stepDecision(ctx: PlanContext): void {
  const canary = canaryOf(ctx);
  const want = stepSplit(ctx);
  const obs = observedOf(ctx, canary.name);
  const canaryReady = admitted(ctx.spec, canary) && !!obs && obs.upToDate && obs.specReplicas === want.canary && obs.readyReplicas >= want.canary;
  const command = ctx.command === 'promote' || ctx.command === 'promote-full' || ctx.command === 'abort' ? ctx.command : undefined;
  const paused = analysisPause(ctx);
  const decision = nextStep({
    steps: ctx.spec.rollout.steps,
    riskTier: ctx.spec.modelCard?.riskTier ?? 'medium',
    state: ctx.step,
    canaryReady,
    headerRoutesInPlace: headerRoutesInPlace(ctx.input.status.headerRoutes, headerRoutesAt(ctx.spec.rollout.steps, ctx.step.stepIndex)),
    paused: ctx.paused,
    frozen: !!ctx.freeze,
    analysisPassing: analysisPassing(ctx),
    ...(paused ? { analysisPaused: paused } : {}),
    ...(command ? { command } : {}),
    now: ctx.now,
  });
  switch (decision.kind) {
    case 'Hold':
      return hold(ctx, decision, canaryReady);
    case 'Advance':
      ctx.step = decision.state;
      emit(ctx, 'Normal', Reason.StepAdvanced, decision.message);
      return requeue(ctx, 0);
    case 'Abort':
      return rollBack(ctx, Reason.RolloutAborted, decision.message, 'Aborted');
    case 'Promote':
      return promote(ctx, decision.message);
  }
}

/** Replica counts at the current step: a shadow step's (canary pods at weight 0), else the weight's split. */
function stepSplit(ctx: PlanContext): ReplicaSplit {
  const shadow = shadowAt(ctx.spec.rollout.steps, ctx.step.stepIndex);
  return shadow ? shadowSplit(ctx.total, shadow.sampleRate) : ctx.traffic.replicas(ctx.total, ctx.step.weight);
}

/** A held step: within the progress deadline the rollout waits, past it the canary is rolled back. */
function hold(ctx: PlanContext, decision: Extract<StepDecision, { kind: 'Hold' }>, canaryReady: boolean): void {
  const canary = canaryOf(ctx);
  const deadlineS = ctx.spec.rollout.progressDeadlineSeconds;
  const deadline = ctx.step.stepStartedAt + deadlineS * 1000;
  if (!canaryReady && !ctx.freeze && !ctx.paused && ctx.now > deadline) {
    const why = ctx.waitingNote ? `: ${ctx.waitingNote}` : '';
    const message = `canary ${canary.version} (${canary.name}) was not ready within progressDeadlineSeconds (${deadlineS}s)${why}`;
    return rollBack(ctx, Reason.ProgressDeadlineExceeded, message, 'RolledBack');
  }
  if (decision.requeueAfterMs !== undefined) requeue(ctx, decision.requeueAfterMs);
  if (!canaryReady) requeue(ctx, Math.max(1, deadline - ctx.now + 1));
  ctx.progress = ctx.freeze
    ? { reason: Reason.FreezeWindow, message: `rollout frozen at step ${ctx.step.stepIndex + 1}: ${describeFreeze(ctx.freeze)}` }
    : { reason: decision.reason, message: ctx.waitingNote && !canaryReady ? `${decision.message} (${ctx.waitingNote})` : decision.message };
}

/** Promotion: at full weight, once the canary runs at full size it becomes stable. */
function promote(ctx: PlanContext, message: string): void {
  const canary = canaryOf(ctx);
  const steps = ctx.spec.rollout.steps;
  const alreadyFull = ctx.step.stepIndex >= steps.length && ctx.step.weight === 100;
  ctx.step = { stepIndex: steps.length, stepStartedAt: alreadyFull ? ctx.step.stepStartedAt : ctx.now, weight: 100 };
  const obs = observedOf(ctx, canary.name);
  if (!obs || !obs.upToDate || obs.specReplicas !== ctx.total || obs.readyReplicas < ctx.total) {
    // The canary grows to full size first; the old stable keeps its pods until then.
    ctx.replicas = { [ctx.stable.name]: observedOf(ctx, ctx.stable.name)?.specReplicas ?? ctx.total, [canary.name]: ctx.total };
    return requeue(ctx, PollMs.ready);
  }
  record(ctx, canary, 'Promoted', message);
  emit(ctx, 'Normal', Reason.Promoted, `promoted ${canary.version} (${canary.name}) to stable: ${message}${ctx.who}`);
  ctx.previous = ctx.stable;
  ctx.stable = canary;
  ctx.canary = undefined;
  ctx.analysis = undefined;
  ctx.replicas = { [canary.name]: ctx.total };
}

/** Sizes of stable and canary: a rolled-back canary leaves once stable serves; otherwise the weight's split. */
function sizeRevisions(ctx: PlanContext): void {
  const canary = ctx.canary;
  if (!canary) return;
  if (ctx.rolledBack) {
    // After a canary analysis stable always serves; after a drift rollback it starts from zero.
    ctx.replicas = { [ctx.stable.name]: ctx.total, [canary.name]: stableServes(ctx) ? 0 : (observedOf(ctx, canary.name)?.specReplicas ?? 0) };
  } else if (Object.keys(ctx.replicas).length === 0) {
    const split = stepSplit(ctx);
    ctx.replicas = { [ctx.stable.name]: split.stable, [canary.name]: split.canary };
  }
}

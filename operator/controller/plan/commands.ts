// Pipeline step: the one-shot commands that change a rollout's course before it is judged —
// retry (a rolled-back canary starts over, schema gate included) and resume (inconclusive
// analysis rounds are counted afresh). promote, promote-full and abort go to the step machine.
import { Reason } from '../../api/reasons.ts';
import { weightAt } from '../../rollout/steps.ts';
import { canaryOf, emit, type PlanContext } from './context.ts';

/** Acts on a fresh retry or resume command. */
export function reconcileCommands(ctx: PlanContext): void {
  const c = canaryOf(ctx);
  if (ctx.rolledBack && ctx.command === 'retry') {
    ctx.step = { stepIndex: 0, stepStartedAt: ctx.now, weight: weightAt(ctx.spec.rollout.steps, 0) };
    ctx.rolloutStartedAt = ctx.nowIso;
    ctx.rolledBack = undefined;
    ctx.analysis = undefined;
    // A retry judges the revision afresh, schema gate included.
    ctx.canary = { ...c };
    delete ctx.canary.signature;
    emit(ctx, 'Normal', Reason.RetryRequested, `retrying the rollout of ${c.version} (${c.name})`);
  }
  if (ctx.command === 'resume' && ctx.analysis) {
    ctx.analysis = { ...ctx.analysis, consecutiveInconclusive: 0 };
    emit(ctx, 'Normal', Reason.ResumeRequested, `resumed by user; the analysis starts counting inconclusive rounds afresh`);
  }
}

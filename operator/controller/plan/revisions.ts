// Pipeline step: which revisions exist — the stable one (and its signature, what every
// canary is compared with), and what a spec change means: back to stable, a new canary, or
// a new revision waiting out a freeze window.
import { Reason } from '../../api/reasons.ts';
import { describeFreeze, type ActiveFreeze } from '../../rollout/freeze.ts';
import { PollMs } from '../../rollout/poll.ts';
import { weightAt } from '../../rollout/steps.ts';
import { emit, isSignature, record, requeue, revisionOf, signatureOnly, type PlanContext } from './context.ts';

/** Settles stable and canary for the spec's revision. */
export function reconcileRevisions(ctx: PlanContext): void {
  const { spec, desiredRev, who } = ctx;
  if (!ctx.input.status.stable) emit(ctx, 'Normal', Reason.NewRevision, `serving model ${spec.model.version} as revision ${desiredRev}${who}`);
  readStableSignature(ctx);
  if (ctx.stable.name === desiredRev) return backToStable(ctx);
  if (ctx.canary?.name === desiredRev) return;
  if (!ctx.freeze) return startCanary(ctx);
  if (!ctx.canary) return waitOutFreeze(ctx, ctx.freeze);
  // A freeze window keeps the canary already rolling out; the newer spec waits for it to end.
}

/** The stable signature, read once from a ready pod. */
function readStableSignature(ctx: PlanContext): void {
  if (ctx.stable.signature) return;
  const read = ctx.input.signatures?.[ctx.stable.name];
  if (isSignature(read)) ctx.stable = { ...ctx.stable, signature: signatureOnly(read) };
  else if (read) ctx.waitingNote = `cannot read the model signature of revision ${ctx.stable.name}: ${read.error}`;
}

/** The spec asks for the stable revision: any canary is dropped. */
function backToStable(ctx: PlanContext): void {
  const canary = ctx.canary;
  if (canary) {
    record(ctx, canary, 'Aborted', `the spec returned to the stable revision ${ctx.stable.name}`);
    emit(ctx, 'Normal', Reason.RolloutAborted, `rollout of ${canary.version} (${canary.name}) dropped: the spec returned to the stable revision${ctx.who}`);
    ctx.canary = undefined;
  }
  ctx.rolledBack = undefined;
  ctx.analysis = undefined;
  ctx.replicas = { [ctx.stable.name]: ctx.total };
}

/** No new canary starts in a freeze window; the stable revision serves on. */
function waitOutFreeze(ctx: PlanContext, freeze: ActiveFreeze): void {
  ctx.replicas = { [ctx.stable.name]: ctx.total };
  ctx.progress = { reason: Reason.FreezeWindow, message: `new revision ${ctx.spec.model.version} (${ctx.desiredRev}) waits: ${describeFreeze(freeze)}` };
  requeue(ctx, Math.max(1_000, Math.min(freeze.until - ctx.now, PollMs.frozen)));
}

/** The spec's revision becomes the canary at the first step, superseding any other. */
function startCanary(ctx: PlanContext): void {
  const { spec, desiredRev, now } = ctx;
  const old = ctx.canary;
  // A canary already rolled back has its history entry: superseding it adds none.
  if (old && !ctx.rolledBack) {
    record(ctx, old, 'Aborted', `superseded by revision ${desiredRev}`);
    emit(ctx, 'Normal', Reason.RolloutAborted, `rollout of ${old.version} (${old.name}) superseded by ${spec.model.version} (${desiredRev})`);
  }
  ctx.canary = revisionOf(spec, desiredRev);
  ctx.step = { stepIndex: 0, stepStartedAt: now, weight: weightAt(spec.rollout.steps, 0) };
  ctx.rolloutStartedAt = ctx.nowIso;
  ctx.rolledBack = undefined;
  ctx.analysis = undefined;
  emit(ctx, 'Normal', Reason.NewRevision, `rolling out model ${spec.model.version} as canary revision ${desiredRev}${ctx.who}`);
}

// Pipeline step: the model's size — spec.replicas (the scale subresource), or the built-in
// autoscaler's decision from the traffic measured this reconcile — and, with
// autoscaling.minReplicas 0, whether the idle model is at zero (operator/autoscaling/scaleToZero.ts).
import { Reason } from '../../api/reasons.ts';
import { recommend } from '../../autoscaling/recommend.ts';
import { decideActivation, DEFAULT_SCALE_TO_ZERO_AFTER_SECONDS, type Activation } from '../../autoscaling/scaleToZero.ts';
import { PollMs } from '../../rollout/poll.ts';
import { emit, iso, requeue, stableServes, type PlanContext } from './context.ts';

/** Sets ctx.total (and the autoscaler's state), and when to read the traffic again. */
export function reconcileScale(ctx: PlanContext): void {
  reconcileActivation(ctx);
  const policy = ctx.spec.autoscaling;
  if (policy) autoscale(ctx, { ...policy, minReplicas: Math.max(1, policy.minReplicas) });
  if (ctx.activation?.state === 'ScaledToZero') ctx.total = 0;
}

/** The built-in autoscaler; at least one replica — only the idle decision goes to zero. */
function autoscale(ctx: PlanContext, policy: NonNullable<PlanContext['spec']['autoscaling']>): void {
  const { now } = ctx;
  const clamp = (n: number): number => Math.min(policy.maxReplicas, Math.max(policy.minReplicas, n));
  const current = clamp(ctx.autoscaling?.desiredReplicas ?? policy.minReplicas);
  const load = ctx.input.load;
  if (load) {
    const r = recommend({
      policy,
      current,
      ...(load.requestRate !== undefined ? { requestRate: load.requestRate } : {}),
      ...(load.p99 !== undefined ? { p99: load.p99 } : {}),
      history: (ctx.autoscaling?.recommendations ?? []).map((h) => ({ at: Date.parse(h.at), replicas: h.replicas })),
      now,
    });
    ctx.autoscaling = { desiredReplicas: r.desired, reason: r.reason, lastCheckAt: ctx.nowIso, recommendations: r.history.map((h) => ({ at: iso(h.at), replicas: h.replicas })) };
    if (r.desired !== current && ctx.activation?.state !== 'ScaledToZero') emit(ctx, 'Normal', Reason.Scaled, `scaled from ${current} to ${r.desired} replicas: ${r.reason}`);
  }
  ctx.total = clamp(ctx.autoscaling?.desiredReplicas ?? current);
  const last = ctx.autoscaling?.lastCheckAt ? Date.parse(ctx.autoscaling.lastCheckAt) : now;
  requeue(ctx, Math.max(1, last + PollMs.autoscale - now));
}

/** Scale to zero: Active, ScaledToZero or Waking, with an Event on each change. */
function reconcileActivation(ctx: PlanContext): void {
  const policy = ctx.spec.autoscaling;
  const old = ctx.input.status.activation;
  const previous: Activation | undefined = old ? { state: old.state, since: Date.parse(old.since), reason: old.reason } : undefined;
  const activator = ctx.input.activator;
  const next = decideActivation({
    enabled: policy?.minReplicas === 0,
    idleAfterSeconds: policy?.scaleToZeroAfterSeconds ?? DEFAULT_SCALE_TO_ZERO_AFTER_SECONDS,
    previous,
    requestsInWindow: ctx.input.idleRequests,
    demand: !!activator?.demand,
    // A new revision (not one already rolled back) needs the stable revision serving beside it.
    rollout: ctx.desiredRev !== ctx.stable.name && !(ctx.canary?.name === ctx.desiredRev && ctx.rolledBack),
    stableServes: stableServes(ctx),
    activatorReady: !!activator && activator.port !== undefined,
    now: ctx.now,
  });
  ctx.activation = next;
  if (next && next.state !== previous?.state) {
    if (next.state === 'ScaledToZero') emit(ctx, 'Normal', Reason.ScaledToZero, `scaled to zero: ${next.reason}; the first request wakes it`);
    if (next.state === 'Waking') emit(ctx, 'Normal', Reason.Waking, `waking up from zero: ${next.reason}`);
    if (next.state === 'Active' && previous) emit(ctx, 'Normal', Reason.Woken, `a pod of ${ctx.stable.version} is ready: ${next.reason}`);
  }
  // A model waking looks again soon; an Active one is checked with the autoscaler's reads.
  if (next?.state === 'Waking') requeue(ctx, PollMs.ready);
}

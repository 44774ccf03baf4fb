// Pipeline step: the model's size — spec.replicas (the scale subresource), or the built-in
// autoscaler's decision from the traffic measured this reconcile.
import { Reason } from '../../api/reasons.ts';
import { recommend } from '../../autoscaling/recommend.ts';
import { PollMs } from '../../rollout/poll.ts';
import { emit, iso, requeue, type PlanContext } from './context.ts';

/** Sets ctx.total (and the autoscaler's state), and when to read the traffic again. */
export function reconcileScale(ctx: PlanContext): void {
  const policy = ctx.spec.autoscaling;
  if (!policy) return;
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
    if (r.desired !== current) emit(ctx, 'Normal', Reason.Scaled, `scaled from ${current} to ${r.desired} replicas: ${r.reason}`);
  }
  ctx.total = clamp(ctx.autoscaling?.desiredReplicas ?? current);
  const last = ctx.autoscaling?.lastCheckAt ? Date.parse(ctx.autoscaling.lastCheckAt) : now;
  requeue(ctx, Math.max(1, last + PollMs.autoscale - now));
}

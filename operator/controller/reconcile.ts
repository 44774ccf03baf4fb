// The ModelDeployment reconciler, a runtime Reconciler: observe the world for one key from the
// informers' caches, plan (pure), apply with server-side apply under one field manager, write
// status only when it changed, emit Events. Level-triggered: it never looks at what event
// caused it. ctx.signal reaches every request it makes.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ModelDeployment } from '../api/schema.ts';
import { prometheusAddressFor } from '../analysis/prometheusAddress.ts';
import type { MetricProvider } from '../analysis/provider.ts';
import { PrometheusProvider } from '../analysis/providers/prometheus.ts';
import { UnavailableProvider } from '../analysis/providers/unavailable.ts';
import { routeTarget, routerFor } from '../routing/router.ts';
import type { Logger } from '../runtime/logger.ts';
import { retryWithin, splitKey, type ReconcileResult, type Reconciler } from '../runtime/reconcile.ts';
import { applyPlan, emitEvents, kubeApis, writeStatus, type Applied, type ApplyScope } from './apply.ts';
import { reportApplyFailure, reportInvalidSpec } from './failures.ts';
import type { ModelDeploymentMetrics } from './metrics.ts';
import type { ActivatorHandle } from './activation.ts';
import { isInvalid, observe, readModelDeployment, type ReconcilerCache } from './observe.ts';
import { plan, type Plan } from './plan.ts';

/** Settings of the reconciler. */
export interface ReconcilerOptions {
  kubeConfig: KubeConfig;
  /** The informers' caches: the reconciler's only read path. */
  cache: ReconcilerCache;
  defaultImage: string;
  /** Per-ModelDeployment metrics to update after each reconcile. */
  metrics?: ModelDeploymentMetrics;
  /** Prometheus for analysis when spec.monitoring.prometheusURL is unset. */
  defaultPrometheusAddress?: string;
  /** The other Prometheus addresses spec.monitoring.prometheusURL may name; any other is queried never. */
  allowedPrometheusAddresses?: readonly string[];
  /** Injected for tests of time-based steps; Date.now otherwise. */
  now?: () => number;
  /** Scale to zero's activator, when configured. */
  activator?: ActivatorHandle;
}

/** Builds the reconciler of ModelDeployment keys ("namespace/name"). */
export function makeReconciler(opts: ReconcilerOptions): Reconciler {
  const apis = kubeApis(opts.kubeConfig);
  const now = opts.now ?? Date.now;
  const providers = new Map<string, MetricProvider>();
  const addresses = { defaultAddress: opts.defaultPrometheusAddress ?? '', allowedAddresses: opts.allowedPrometheusAddresses ?? [] };
  const prometheus = (md: ModelDeployment): MetricProvider => {
    const choice = prometheusAddressFor(md.spec, addresses);
    // Refused: every measurement is Inconclusive with the reason, and no request is made.
    if ('error' in choice) return new UnavailableProvider(choice.error);
    let p = providers.get(choice.url);
    if (!p) providers.set(choice.url, (p = new PrometheusProvider({ url: choice.url })));
    return p;
  };
  const routers = { ReplicaRatio: routerFor('ReplicaRatio', { kubeConfig: opts.kubeConfig }), GatewayAPI: routerFor('GatewayAPI', { kubeConfig: opts.kubeConfig }) };

  return async (key, { signal, log }): Promise<ReconcileResult> => {
    const { namespace, name } = splitKey(key);
    const stored = readModelDeployment(opts.cache, namespace, name);
    if (!stored) {
      // Deleted: owner references let the garbage collector clean up.
      opts.metrics?.forget(namespace, name);
      await opts.activator?.release(key);
      return {};
    }
    if (isInvalid(stored)) {
      // Retrying cannot fix a spec; its next change brings the key back.
      await reportInvalidSpec(apis, stored, now(), signal);
      return {};
    }
    // One snapshot for observe and apply: the plan and apply's no-op checks see the same Deployments.
    const deployments = opts.cache.listDeployments(namespace, name);
    const input = await observe({ cache: opts.cache, prometheus, defaultImage: opts.defaultImage, now, ...(opts.activator ? { activator: opts.activator } : {}) }, stored, deployments, signal);
    const p = plan(input);
    const trafficRouting = stored.md.spec.rollout.trafficRouting;
    const scope: ApplyScope = {
      stored,
      deployments,
      cache: opts.cache,
      apis,
      router: routers[trafficRouting.type],
      target: routeTarget(namespace, name, trafficRouting.httpRoute),
      signal,
      at: input.now,
      now,
    };
    // From here on a failure keeps the follow-up the plan asked for (the next analysis round, say).
    try {
      const applied = await applyOrReport(scope, p, log);
      await writeStatus(scope, applied.status);
      opts.metrics?.observe(namespace, name, stored.md.status ?? {}, applied.status);
      await emitEvents(scope, applied.events);
      // Retried with backoff by the work queue, after the status says why.
      if (applied.routingError) throw applied.routingError;
    } catch (err) {
      throw retryWithin(err, p.requeueAfterMs);
    }
    // "Again right away" (a step just advanced) is a 1 ms wait: the queue's follow-up, not a loop here.
    return p.requeueAfterMs !== undefined ? { requeueAfter: Math.max(1, p.requeueAfterMs) } : {};
  };
}

/** Applies the plan; an apply the API server refuses is answered in status (the stored one, conditions aside) before it is thrown. */
async function applyOrReport(scope: ApplyScope, p: Plan, log: Logger): Promise<Applied> {
  try {
    return await applyPlan(scope, p);
  } catch (err) {
    scope.signal.throwIfAborted();
    const { stored } = scope;
    await reportApplyFailure(scope.apis, { ...stored, status: stored.md.status }, err, scope.now(), scope.signal).catch((reportErr: unknown) => {
      scope.signal.throwIfAborted();
      log.warn({ err: reportErr }, 'could not report the failed apply in status');
    });
    throw err;
  }
}

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
import { splitKey, type ReconcileResult, type Reconciler } from '../runtime/reconcile.ts';
import { applyPlan, emitEvents, kubeApis, writeStatus, type ApplyScope } from './apply.ts';
import type { ModelDeploymentMetrics } from './metrics.ts';
import { observe, readModelDeployment, type ReconcilerCache } from './observe.ts';
import { plan } from './plan.ts';

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

  return async (key, { signal }): Promise<ReconcileResult> => {
    const { namespace, name } = splitKey(key);
    const stored = readModelDeployment(opts.cache, namespace, name);
    if (!stored) {
      // Deleted: owner references let the garbage collector clean up.
      opts.metrics?.forget(namespace, name);
      return {};
    }
    // One snapshot for observe and apply: the plan and apply's no-op checks see the same Deployments.
    const deployments = opts.cache.listDeployments(namespace, name);
    const input = await observe({ cache: opts.cache, prometheus, defaultImage: opts.defaultImage, now }, stored, deployments, signal);
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
    const applied = await applyPlan(scope, p);
    await writeStatus(scope, applied.status);
    opts.metrics?.observe(namespace, name, stored.md.status ?? {}, applied.status);
    await emitEvents(scope, applied.events);
    // Retried with backoff by the work queue, after the status says why.
    if (applied.routingError) throw applied.routingError;
    // "Again right away" (a step just advanced) is a 1 ms wait: the queue's follow-up, not a loop here.
    return p.requeueAfterMs !== undefined ? { requeueAfter: Math.max(1, p.requeueAfterMs) } : {};
  };
}


// The edge of post-promotion monitoring and of the autoscaler: runs the health and traffic
// queries against a metrics provider. Never throws — a failed query makes the health
// observation carry an error (no breach, no recovery) or leaves a traffic figure unknown
// (the autoscaler holds).
import type { MetricProvider } from '../analysis/provider.ts';
import { stableHealthQueries } from '../analysis/queries.ts';
import type { HealthObservation } from './health.ts';

/** Which revision of which model, over which window. */
export interface HealthContext {
  namespace: string;
  model: string;
  revision: string;
  windowSeconds: number;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Measures the stable revision's drift, input quality, accuracy and errors; signal aborts the queries. */
export async function measureHealth(provider: MetricProvider, ctx: HealthContext, signal?: AbortSignal): Promise<HealthObservation> {
  const q = stableHealthQueries(ctx);
  try {
    const [maxFeaturePsi, badInputRatio, accuracy, labels, errorRate, requests] = await Promise.all([
      provider.query(q.maxFeaturePsi, signal),
      provider.query(q.badInputRatio, signal),
      provider.query(q.accuracy, signal),
      provider.query(q.labelledCount, signal),
      provider.query(q.errorRate, signal),
      provider.query(q.requestCount, signal),
    ]);
    return {
      ...(maxFeaturePsi !== undefined ? { maxFeaturePsi } : {}),
      // No rejection series yet means no rejected request, not an unknown share.
      ...(requests !== undefined ? { badInputRatio: badInputRatio ?? 0 } : {}),
      ...(accuracy !== undefined ? { accuracy } : {}),
      labels: labels ?? 0,
      ...(errorRate !== undefined ? { errorRate } : requests !== undefined ? { errorRate: 0 } : {}),
      requests: requests ?? 0,
    };
  } catch (err) {
    return { error: message(err) };
  }
}

/** The window the autoscaler reads traffic over. */
export const LOAD_WINDOW_SECONDS = 30;

/**
 * The model's traffic for the autoscaler: requests per second summed over the revisions that
 * serve (stable and canary), and the worse of their p99 latencies.
 */
export async function measureLoad(
  provider: MetricProvider,
  ctx: Omit<HealthContext, 'revision' | 'windowSeconds'> & { revisions: string[] },
  signal?: AbortSignal,
): Promise<{ requestRate?: number; p99?: number }> {
  const per = await Promise.all(
    ctx.revisions.map(async (revision) => {
      const q = stableHealthQueries({ namespace: ctx.namespace, model: ctx.model, revision, windowSeconds: LOAD_WINDOW_SECONDS });
      const [rate, p99] = await Promise.all([provider.query(q.requestRate, signal).catch(() => undefined), provider.query(q.p99Latency, signal).catch(() => undefined)]);
      return { rate, p99 };
    }),
  );
  const rates = per.map((p) => p.rate).filter((r): r is number => r !== undefined);
  const p99s = per.map((p) => p.p99).filter((r): r is number => r !== undefined && Number.isFinite(r));
  return {
    ...(rates.length ? { requestRate: rates.reduce((a, b) => a + b, 0) } : {}),
    ...(p99s.length ? { p99: Math.max(...p99s) } : {}),
  };
}

// The edge of the analysis: runs each metric's queries against a provider and hands
// evaluate.ts plain observations. Never throws — a metric that cannot be measured is an
// observation with an error, which the evaluation turns into Inconclusive.
import type { MetricSpec, Observation } from './evaluate.ts';
import type { MetricProvider } from './provider.ts';
import { metricQueries } from './queries.ts';
import type { QueryContext } from './queries.ts';

/** Measures every metric over the context's window, all queries concurrently; signal aborts the queries. */
export async function measure(provider: MetricProvider, metrics: readonly MetricSpec[], ctx: QueryContext, signal?: AbortSignal): Promise<Observation[]> {
  // Several metrics share a query (most count the canary's requests): each runs once.
  const runs = new Map<string, Promise<number | undefined>>();
  const run = (promql: string): Promise<number | undefined> => {
    let p = runs.get(promql);
    if (p === undefined) {
      p = provider.query(promql, signal);
      runs.set(promql, p);
    }
    return p;
  };
  return Promise.all(metrics.map((m) => measureOne(run, m, ctx)));
}

async function measureOne(run: (promql: string) => Promise<number | undefined>, metric: MetricSpec, ctx: QueryContext): Promise<Observation> {
  try {
    const q = metricQueries(metric, ctx);
    const labelled = async (what: string, promql: string): Promise<number | undefined> => {
      try {
        return await run(promql);
      } catch (err) {
        throw new Error(`${what}: ${message(err)}`, { cause: err });
      }
    };
    const [value, stableValue, samples] = await Promise.all([
      run(q.canary),
      q.stable === undefined ? undefined : labelled('stable revision', q.stable),
      labelled('sample count', q.samples),
    ]);
    const o: Observation = { metric: metric.name, samples: samples ?? 0 };
    if (value !== undefined) o.value = value;
    if (stableValue !== undefined) o.stableValue = stableValue;
    return o;
  } catch (err) {
    return { metric: metric.name, error: message(err) };
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

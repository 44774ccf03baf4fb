// Canary analysis evaluation: what was measured in one window, judged against each metric's
// bounds, and the rollout-level decision the verdicts add up to. Pure — no clock, no I/O —
// so every rule here is a table-driven test; measure.ts brings the numbers in.
import type { ModelDeploymentSpec, ModelDeploymentStatus } from '../api/schema.ts';

/** One analysis metric of spec.rollout.analysis.metrics. */
export type MetricSpec = NonNullable<ModelDeploymentSpec['rollout']['analysis']>['metrics'][number];

/** One measurement as recorded in status.analysis.measurements. */
export type Measurement = NonNullable<ModelDeploymentStatus['analysis']>['measurements'][number];

/** A measurement verdict, and the verdict of a whole round. */
export type Verdict = Measurement['verdict'];

/** What was measured for one metric over one window. */
export interface Observation {
  metric: string;
  /** The canary value; undefined when the query returned no data. */
  value?: number;
  /** The stable value over the same window (only queried for relative bounds). */
  stableValue?: number;
  /** Samples behind the value (requests, compared rows, labels); undefined when not counted. */
  samples?: number;
  /** Why the metric could not be measured (Prometheus unreachable, a bad query …). */
  error?: string;
}

/** Settings of one evaluation round. */
export interface RoundOptions {
  /** analysis.minSamples: the default for metrics that set none. */
  minSamples: number;
  /** The measurement time (ISO 8601), from the caller's clock. */
  now: string;
}

/** The outcome of one round: its verdict, every measurement, and the failed ones. */
export interface RoundResult {
  verdict: Verdict;
  measurements: Measurement[];
  failed: Measurement[];
}

/** Judges every metric on its observation; a metric without one is Inconclusive. */
export function evaluateRound(metrics: readonly MetricSpec[], observations: readonly Observation[], opts: RoundOptions): RoundResult {
  const byMetric = new Map<string, Observation>();
  for (const o of observations) if (!byMetric.has(o.metric)) byMetric.set(o.metric, o);
  const measurements = metrics.map((m) => evaluateMetric(m, byMetric.get(m.name), opts));
  const failed = measurements.filter((m) => m.verdict === 'Fail');
  // An empty metric list judges nothing and so blocks nothing.
  const verdict: Verdict = failed.length > 0 ? 'Fail' : measurements.some((m) => m.verdict === 'Inconclusive') ? 'Inconclusive' : 'Pass';
  return { verdict, measurements, failed };
}

/** One bound of a metric, resolved against the stable value when it is relative. */
interface Bound {
  text: string;
  /** The effective limit; undefined when relative and the stable value is unknown. */
  limit: number | undefined;
  violated: (value: number, limit: number) => boolean;
}

function boundsOf(m: MetricSpec, stable: number | undefined): Bound[] {
  const bounds: Bound[] = [];
  const above = (v: number, l: number): boolean => v > l;
  const below = (v: number, l: number): boolean => v < l;
  if (m.max !== undefined) bounds.push({ text: `<= ${m.max}`, limit: m.max, violated: above });
  if (m.min !== undefined) bounds.push({ text: `>= ${m.min}`, limit: m.min, violated: below });
  const relative = (op: string, factor: number, violated: Bound['violated']): void => {
    const limit = stable === undefined ? undefined : factor * stable;
    bounds.push({ text: `${op} ${factor} x stable${limit === undefined ? '' : ` (${num(limit)})`}`, limit, violated });
  };
  if (m.maxRelativeToStable !== undefined) relative('<=', m.maxRelativeToStable, above);
  if (m.minRelativeToStable !== undefined) relative('>=', m.minRelativeToStable, below);
  return bounds;
}

function evaluateMetric(m: MetricSpec, o: Observation | undefined, opts: RoundOptions): Measurement {
  const stable = usable(o?.stableValue);
  const value = usable(o?.value);
  const bounds = boundsOf(m, stable);
  const base: Measurement = {
    metric: m.name,
    bound: bounds.map((b) => b.text).join(', '),
    verdict: 'Inconclusive',
    time: opts.now,
  };
  // Status is JSON: ±Inf cannot be stored, so only finite values are; the reason names the rest.
  if (value !== undefined && Number.isFinite(value)) base.value = value;
  if (stable !== undefined && Number.isFinite(stable)) base.stableValue = stable;
  const inconclusive = (reason: string): Measurement => ({ ...base, verdict: 'Inconclusive', reason });

  if (o === undefined) return inconclusive('not measured');
  if (o.error !== undefined) return inconclusive(o.error);
  const needed = m.minSamples ?? opts.minSamples;
  // Counts come from increase(), which extrapolates: 49.6 requests are 50.
  const samples = o.samples === undefined ? undefined : Math.round(o.samples);
  if (samples !== undefined && samples < needed) return inconclusive(`${samples} samples in the window, ${needed} needed`);
  if (value === undefined) return inconclusive('no data');
  if (bounds.some((b) => b.limit === undefined)) return inconclusive('no data for the stable revision, which the relative bound needs');
  const violated = bounds.filter((b) => b.violated(value, b.limit!));
  if (violated.length > 0) return { ...base, verdict: 'Fail', reason: `${num(value)} violates ${violated.map((b) => b.text).join(' and ')}` };
  return { ...base, verdict: 'Pass' };
}

/** NaN is no data; ±Inf is a (very bad or very good) value and is judged. */
function usable(v: number | undefined): number | undefined {
  return v === undefined || Number.isNaN(v) ? undefined : v;
}

/** A measured number for people: four significant digits, ±Inf spelled like PromQL. */
function num(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(Number(v.toPrecision(4)));
}

/** The analysis counters kept in status across the rounds of one rollout. */
export interface AnalysisCounters {
  /** Failed rounds in this rollout. */
  failures: number;
  /** Inconclusive rounds in a row. */
  consecutiveInconclusive: number;
}

/** Limits of spec.rollout.analysis. */
export interface AnalysisLimits {
  failureLimit: number;
  inconclusiveLimit: number;
}

/** What the rollout does after a round. */
export type AnalysisAction = 'Continue' | 'Rollback' | 'Pause';

/** Adds a round's verdict to the counters and decides: roll back, pause, or go on. */
export function decide<C extends AnalysisCounters>(
  counters: C,
  verdict: Verdict,
  limits: AnalysisLimits,
): { counters: C; action: AnalysisAction } {
  if (verdict === 'Fail') {
    // Failures are never forgiven within a rollout: a flapping canary still rolls back.
    const next = { ...counters, failures: counters.failures + 1, consecutiveInconclusive: 0 };
    return { counters: next, action: next.failures > limits.failureLimit ? 'Rollback' : 'Continue' };
  }
  if (verdict === 'Inconclusive') {
    // Missing data never passes and never fails a canary: a person has to look.
    const next = { ...counters, consecutiveInconclusive: counters.consecutiveInconclusive + 1 };
    return { counters: next, action: next.consecutiveInconclusive > limits.inconclusiveLimit ? 'Pause' : 'Continue' };
  }
  return { counters: { ...counters, consecutiveInconclusive: 0 }, action: 'Continue' };
}

/** One line for an Event or condition: "metric latency-p99 = 0.412 violates <= 0.25". */
export function describeFailure(m: Measurement): string {
  if (m.verdict === 'Fail') return `metric ${m.metric} = ${m.reason ?? `${m.value ?? '?'} violates ${m.bound}`}`;
  if (m.verdict === 'Inconclusive') return `metric ${m.metric} is inconclusive: ${m.reason ?? 'no data'}`;
  return `metric ${m.metric} = ${m.value === undefined ? '?' : num(m.value)} within ${m.bound}`;
}

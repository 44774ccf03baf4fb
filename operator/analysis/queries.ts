// PromQL for the built-in analysis metrics, over the serving runtime's own series, named
// once for both sides in contract/metrics.ts. Pure: a metric and a context in, query text out.
//
// Every serving series carries `model` and `revision` labels, set by the server itself.
// The `namespace` label is Prometheus' own: the usual kubernetes_sd pod relabelling
// (`__meta_kubernetes_namespace` → `namespace`, as in the kube-prometheus and Helm chart
// defaults) must be in place, or no query here matches anything — which every metric
// reports as Inconclusive, never as a pass.
//
// Counts over a window use windowCount() rather than a bare increase(): a canary's series
// are born during the analysis (its first 5xx creates the code="503" series), and increase()
// drops everything a series counted before its first scrape — the first errors of a bad
// canary would be invisible for a whole round.
import { INFER_ROUTES } from '../../contract/http.ts';
import { FEEDBACK_OUTCOMES, MIRRORED_ROUTE, SERVING_DEFAULT_LABELS, SERVING_METRICS as M, SHADOW_RESULTS } from '../../contract/metrics.ts';
import type { MetricSpec } from './evaluate.ts';

/** Who is measured: the model, its two revisions, and the window. */
export interface QueryContext {
  namespace: string;
  /** The served model name (the `model` label; {{name}} in Custom queries). */
  model: string;
  canaryRevision: string;
  stableRevision: string;
  /** The range each measurement covers. */
  windowSeconds: number;
  /**
   * The canary's requests include the ones stable mirrored to it: during a dark launch (a shadow
   * step) they are all it answers. Otherwise only live traffic is judged.
   */
  canaryMirrored?: boolean;
}

/** The queries of one metric: the canary value, the stable value for relative bounds, the sample count. */
export interface MetricQueries {
  canary: string;
  stable?: string;
  samples: string;
}

/** The default quantile of a LatencyQuantile metric. */
export const DEFAULT_QUANTILE = 0.99;

/** Escapes a value for a double-quoted PromQL string (label values, Custom placeholders). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** A regex matcher value matching exactly the given strings. */
function anyOf(values: readonly string[]): string {
  return values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
}

/** The label matchers of one revision, plus extra ones (already rendered). */
function selector(name: string, ns: string, model: string, revision: string, ...extra: string[]): string {
  const { model: modelLabel, revision: revisionLabel } = SERVING_DEFAULT_LABELS;
  const labels = [`namespace="${escapeLabelValue(ns)}"`, `${modelLabel}="${escapeLabelValue(model)}"`, `${revisionLabel}="${escapeLabelValue(revision)}"`, ...extra];
  return `${name}{${labels.join(',')}}`;
}

// The `route` labels of inference requests: the serving runtime's Fastify route patterns.
const inferRoute = `route=~"${escapeLabelValue(anyOf(INFER_ROUTES))}"`;
const inferOrMirroredRoute = `route=~"${escapeLabelValue(anyOf([...INFER_ROUTES, MIRRORED_ROUTE]))}"`;
const serverError = 'code=~"5.."';
const scoredOutcome = `outcome="${FEEDBACK_OUTCOMES.scored}"`;
const bucket = (histogram: { name: string }): string => `${histogram.name}_bucket`;

/**
 * How much a counter grew in the window, per series: the whole value of a series born
 * inside the window (nothing of it existed `window` ago), increase() for the others.
 */
export function windowCount(series: string, windowSeconds: number): string {
  const w = `${windowSeconds}s`;
  return `(${series} unless ${series} offset ${w}) or increase(${series}[${w}])`;
}

/** sum(count) / sum(count), with an absent numerator (no error ever counted) as 0. */
function share(numerator: string, denominator: string, w: number): string {
  return `(sum(${windowCount(numerator, w)}) or vector(0)) / sum(${windowCount(denominator, w)})`;
}

/** Queries measuring one revision. */
interface RevisionQueries {
  value: string;
  samples: string;
}

function revisionQueries(metric: MetricSpec, ns: string, model: string, revision: string, w: number, opts: { shadowOf?: string; mirrored?: boolean } = {}): RevisionQueries {
  const { shadowOf, mirrored } = opts;
  const sel = (name: string, ...extra: string[]): string => selector(name, ns, model, revision, ...extra);
  const route = mirrored ? inferOrMirroredRoute : inferRoute;
  const inferRequests = sel(M.requests.name, route);
  const requests = `sum(${windowCount(inferRequests, w)})`;
  switch (metric.kind) {
    case 'LatencyQuantile':
      return { samples: requests, value: quantile(metric.quantile ?? DEFAULT_QUANTILE, sel(bucket(M.requestDuration), route), w) };
    case 'ErrorRate':
      return { samples: requests, value: share(sel(M.requests.name, route, serverError), inferRequests, w) };
    case 'FeatureDrift':
      // The server already computes PSI over its own sliding window of rows: the latest
      // value is the measurement, and the worst feature (and pod) decides.
      return { samples: requests, value: `max(${sel(M.featurePsi.name)})` };
    case 'PredictionAgreement': {
      // The stable server mirrors requests to the canary and counts the comparisons, so the
      // series are the stable revision's, labelled with the canary as shadow_revision.
      const compared = (results: string): string =>
        selector(M.shadowComparisons.name, ns, model, revision, `shadow_revision="${escapeLabelValue(shadowOf ?? '')}"`, `result=~"${results}"`);
      const { agree, disagree } = SHADOW_RESULTS;
      return { samples: `sum(${windowCount(compared(`${agree}|${disagree}`), w)})`, value: share(compared(agree), compared(`${agree}|${disagree}`), w) };
    }
    case 'Accuracy': {
      const scored = sel(M.feedbackLabels.name, scoredOutcome);
      return { samples: `sum(${windowCount(scored, w)})`, value: share(sel(M.feedbackCorrect.name), scored, w) };
    }
    case 'Custom':
      return { samples: requests, value: renderCustom(metric.query ?? '', ns, model, revision) };
  }
}

/** The queries of one analysis metric for the canary (and the stable revision when a bound is relative). */
export function metricQueries(metric: MetricSpec, ctx: QueryContext): MetricQueries {
  if (metric.kind === 'Custom' && (metric.query === undefined || metric.query.trim() === '')) {
    throw new Error(`metric ${metric.name}: a Custom metric needs a query`);
  }
  const { namespace: ns, model, windowSeconds: w } = ctx;
  const relative = metric.maxRelativeToStable !== undefined || metric.minRelativeToStable !== undefined;
  if (metric.kind === 'PredictionAgreement') {
    const q = revisionQueries(metric, ns, model, ctx.stableRevision, w, { shadowOf: ctx.canaryRevision });
    // The stable revision agrees with itself by definition; there is no series to read.
    return { canary: q.value, samples: q.samples, ...(relative ? { stable: 'vector(1)' } : {}) };
  }
  const canary = revisionQueries(metric, ns, model, ctx.canaryRevision, w, { mirrored: !!ctx.canaryMirrored });
  const result: MetricQueries = { canary: canary.value, samples: canary.samples };
  if (relative) result.stable = revisionQueries(metric, ns, model, ctx.stableRevision, w).value;
  return result;
}

/** The q-quantile of a latency histogram over the window, across every pod of the revision. */
function quantile(q: number, bucket: string, w: number): string {
  return `histogram_quantile(${q}, sum by (le) (${windowCount(bucket, w)}))`;
}

/** Replaces the Custom placeholders; values are escaped for a double-quoted label matcher. */
function renderCustom(template: string, ns: string, model: string, revision: string): string {
  const values: Record<string, string> = { namespace: ns, name: model, revision };
  return template.replace(/\{\{\s*(namespace|name|revision)\s*\}\}/g, (_m, key: string) => escapeLabelValue(values[key]!));
}

/** The health queries of one revision, for post-promotion monitoring and the autoscaler. */
export interface HealthQueries {
  /** Largest feature PSI (absent without a reference profile). */
  maxFeaturePsi: string;
  /** Share of inference requests rejected for their inputs. */
  badInputRatio: string;
  /** Share of labelled rows predicted right. */
  accuracy: string;
  /** Labelled rows in the window. */
  labelledCount: string;
  /** Share of inference requests answered 5xx. */
  errorRate: string;
  /** Inference requests in the window. */
  requestCount: string;
  /** Inference requests per second over the window (autoscaler). */
  requestRate: string;
  /** p99 inference latency over the window, in seconds (autoscaler). */
  p99Latency: string;
}

/** PromQL for the health of one revision (normally the stable one) over a window. */
export function stableHealthQueries(ctx: { namespace: string; model: string; revision: string; windowSeconds: number }): HealthQueries {
  const { namespace: ns, model, revision, windowSeconds: w } = ctx;
  const sel = (name: string, ...extra: string[]): string => selector(name, ns, model, revision, ...extra);
  const inferRequests = sel(M.requests.name, inferRoute);
  const scored = sel(M.feedbackLabels.name, scoredOutcome);
  return {
    maxFeaturePsi: `max(${sel(M.featurePsi.name)})`,
    // Counted from the rejections rather than siskin_data_quality_bad_ratio, which reads 0
    // unless the server's breaker is enabled and covers a count of requests, not a time window.
    badInputRatio: share(sel(M.rejectedInputs.name), inferRequests, w),
    accuracy: share(sel(M.feedbackCorrect.name), scored, w),
    labelledCount: `sum(${windowCount(scored, w)})`,
    errorRate: share(sel(M.requests.name, inferRoute, serverError), inferRequests, w),
    requestCount: `sum(${windowCount(inferRequests, w)})`,
    // A rate, not a count: the autoscaler compares it with requests per second per replica.
    requestRate: `sum(rate(${inferRequests}[${w}s]))`,
    p99Latency: quantile(0.99, sel(bucket(M.requestDuration), inferRoute), w),
  };
}

/**
 * Inference requests to any revision of a model over the window: the scale-to-zero idle check.
 * A model whose pods Prometheus scraped but which had no request reads 0 (its ready gauge
 * exists); a model Prometheus knows nothing of reads no data — never "idle".
 */
export function idleRequestsQuery(ctx: { namespace: string; model: string; windowSeconds: number }): string {
  const labels = [`namespace="${escapeLabelValue(ctx.namespace)}"`, `${SERVING_DEFAULT_LABELS.model}="${escapeLabelValue(ctx.model)}"`];
  const requests = `${M.requests.name}{${[...labels, inferRoute].join(',')}}`;
  const scraped = `${M.modelReady.name}{${labels.join(',')}}`;
  return `sum(${windowCount(requests, ctx.windowSeconds)}) or (0 * sum(count_over_time(${scraped}[${ctx.windowSeconds}s])))`;
}

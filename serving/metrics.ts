// Prometheus metrics of the serving runtime. Every series carries the model name and
// revision (default labels), so the canary analysis can compare revisions directly.
// Label sets are bounded: routes and codes are fixed, features come from the profile.
// Names, help texts, label names and buckets are the operator's too: contract/metrics.ts.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LabelValues } from 'prom-client';
import { INFER_ROUTES } from '../contract/http.ts';
import {
  ABSOLUTE_ERROR_BUCKETS,
  BATCH_BUCKETS,
  LATENCY_BUCKETS,
  PRECREATED_CODES,
  PREDICTION_VALUE_BUCKETS,
  SERVING_DEFAULT_LABELS,
  SERVING_METRICS as M,
  SERVING_PROCESS_METRICS_PREFIX,
} from '../contract/metrics.ts';

// Label objects of the class counter, made once: a string and an object per predicted row
// would be garbage on the hot path.
const CLASS_LABELS = Array.from({ length: 100 }, (_, i) => ({ class: String(i) }));
const OTHER_CLASS = { class: 'other' };

/** Stats that are computed at scrape time rather than pushed. */
export interface ScrapeSources {
  queueDepth?: () => number;
  features?: () => { name: string; psi: number; missingRatio: number }[];
  predictionPsi?: () => number;
  breaker?: () => { open: boolean; badRatio: number };
}

// The inference route as Fastify labels it (and Siskin's analysis queries select it).
const INFER_ROUTE = INFER_ROUTES[0];

/** All serving metrics on one registry. */
export class ServingMetrics {
  /** The registry /metrics renders. */
  readonly registry = new Registry();
  /** Request latency by route. */
  readonly requestDuration: Histogram<'route'>;
  /** Requests by route and status code. */
  readonly requests: Counter<'route' | 'code'>;
  /** Requests currently being handled on inference routes (read at scrape time: a gauge
   * inc/dec per request costs two label hashes on the hot path). */
  inflightRequests = 0;
  /** Time from enqueue to dispatch on a worker. */
  readonly queueDuration: Histogram;
  /** Time onnxruntime spent in session.run, per batch. */
  readonly computeDuration: Histogram<'path'>;
  /** Rows per dispatched batch. */
  readonly batchSize: Histogram;
  /** Seconds the model took to fetch, verify, load and warm up. */
  readonly modelLoad: Gauge;
  /** 1 when the model is ready. */
  readonly ready: Gauge;
  /** 1 when the model serves although no generated warm-up input ran. */
  readonly warmupFailed: Gauge;
  /** Size of the dynamic dimensions of the warm-up inputs that ran. */
  readonly warmupDynamicSize: Gauge;
  /** Requests whose inputs were rejected, by reason. */
  readonly rejectedInputs: Counter<'reason'>;
  /** Predictions by class (classifiers; classes beyond 100 share "other"). */
  readonly predictedClasses: Counter<'class'>;
  /** Predicted values (regressors). */
  readonly predictedValues: Histogram;
  /** Labels received through feedback, by outcome (scored, unknown, mismatched). */
  readonly feedbackLabels: Counter<'outcome'>;
  /** Scored classifier rows whose prediction was right. */
  readonly feedbackCorrect: Counter;
  /** Absolute error of scored regressor rows. */
  readonly feedbackAbsoluteError: Histogram;
  /** Shadow comparisons by result (agree, disagree, error, dropped) and shadow revision. */
  readonly shadowComparisons: Counter<'result' | 'shadow_revision'>;
  /** Non-finite values the histograms skipped, by histogram name. */
  readonly nonFiniteObservations: Counter<'metric'>;

  private readonly sources: ScrapeSources;

  constructor(model: string, revision: string) {
    const sources: ScrapeSources = {};
    this.sources = sources;
    const registers = [this.registry];
    this.registry.setDefaultLabels({ [SERVING_DEFAULT_LABELS.model]: model, [SERVING_DEFAULT_LABELS.revision]: revision });
    collectDefaultMetrics({ register: this.registry, prefix: SERVING_PROCESS_METRICS_PREFIX });
    this.nonFiniteObservations = new Counter({ ...M.nonFiniteObservations, registers });
    this.requestDuration = new Histogram({
      ...M.requestDuration,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.requests = new Counter({
      ...M.requests,
      registers,
    });
    // The inference route's series exist from the start at zero, so request rates and error
    // shares read 0 (not "no data") before the first request or the first error.
    for (const code of PRECREATED_CODES) this.requests.inc({ route: INFER_ROUTE, code }, 0);
    this.requestDuration.zero({ route: INFER_ROUTE });
    const inflight = (): number => this.inflightRequests;
    new Gauge({
      ...M.inflightRequests,
      registers,
      collect() {
        this.set(inflight());
      },
    });
    this.queueDuration = new Histogram({
      ...M.queueDuration,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.computeDuration = new Histogram({
      ...M.inferenceDuration,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.batchSize = new Histogram({
      ...M.batchSize,
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.modelLoad = new Gauge({ ...M.modelLoad, registers });
    this.ready = new Gauge({ ...M.modelReady, registers });
    this.warmupFailed = new Gauge({ ...M.warmupFailed, registers });
    this.warmupDynamicSize = new Gauge({ ...M.warmupDynamicSize, registers });
    this.rejectedInputs = new Counter({
      ...M.rejectedInputs,
      registers,
    });
    this.predictedClasses = new Counter({
      ...M.predictions,
      registers,
    });
    this.predictedValues = new Histogram({
      ...M.predictionValue,
      buckets: PREDICTION_VALUE_BUCKETS,
      registers,
    });
    this.feedbackLabels = new Counter({
      ...M.feedbackLabels,
      registers,
    });
    this.feedbackCorrect = new Counter({
      ...M.feedbackCorrect,
      registers,
    });
    this.feedbackAbsoluteError = new Histogram({
      ...M.feedbackAbsoluteError,
      buckets: ABSOLUTE_ERROR_BUCKETS,
      registers,
    });
    this.shadowComparisons = new Counter({
      ...M.shadowComparisons,
      registers,
    });
    // Values come from models and labels: an overflowing regressor predicts Infinity, and a
    // metric must never turn a served answer into a 500.
    for (const h of [this.requestDuration, this.queueDuration, this.computeDuration, this.batchSize, this.predictedValues, this.feedbackAbsoluteError]) {
      skipNonFinite(h, this.nonFiniteObservations);
    }
    new Gauge({
      ...M.queueDepth,
      registers,
      collect() {
        this.set(sources.queueDepth?.() ?? 0);
      },
    });
    new Gauge({
      ...M.featurePsi,
      registers,
      collect() {
        this.reset();
        for (const f of sources.features?.() ?? []) if (!Number.isNaN(f.psi)) this.set({ feature: f.name }, f.psi);
      },
    });
    new Gauge({
      ...M.featureMissingRatio,
      registers,
      collect() {
        this.reset();
        for (const f of sources.features?.() ?? []) this.set({ feature: f.name }, f.missingRatio);
      },
    });
    new Gauge({
      ...M.breakerOpen,
      registers,
      collect() {
        this.set(sources.breaker?.().open === true ? 1 : 0);
      },
    });
    new Gauge({
      ...M.badRatio,
      registers,
      collect() {
        this.set(sources.breaker?.().badRatio ?? 0);
      },
    });
  }

  /** Connects the scrape-time sources once the parts that own them exist. */
  attach(sources: ScrapeSources): void {
    Object.assign(this.sources, sources);
    const predictionPsi = sources.predictionPsi;
    // Only with a profile: a constant 0 would read as "no drift".
    if (predictionPsi !== undefined && this.registry.getSingleMetric(M.predictionPsi.name) === undefined) {
      new Gauge({
        ...M.predictionPsi,
        registers: [this.registry],
        collect() {
          // NaN until predictions arrive: absent data must not compare as "no drift".
          this.set(predictionPsi());
        },
      });
    }
  }

  /** Counts predictions into the class counter or the value histogram. */
  observePredictions(task: 'classifier' | 'regressor', predictions: readonly number[]): void {
    for (const p of predictions) {
      if (task === 'classifier') this.predictedClasses.inc(Number.isInteger(p) && p >= 0 && p < 100 ? CLASS_LABELS[p]! : OTHER_CLASS);
      else this.predictedValues.observe(p);
    }
  }
}

/**
 * Makes `h.observe` skip NaN and ±Infinity, which prom-client throws on, counting each
 * skipped value under the histogram's name (its series exists from the start, at zero).
 */
function skipNonFinite<L extends string>(h: Histogram<L>, skipped: Counter<'metric'>): void {
  const labels = { metric: (h as unknown as { name: string }).name };
  skipped.inc(labels, 0);
  const observe = h.observe.bind(h) as (a: LabelValues<L> | number, b?: number) => void;
  h.observe = ((a: LabelValues<L> | number, b?: number): void => {
    const value = typeof a === 'number' ? a : b;
    if (value !== undefined && !Number.isFinite(value)) skipped.inc(labels);
    else observe(a, b);
  }) as Histogram<L>['observe'];
}

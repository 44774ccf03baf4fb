// Prometheus metrics of the serving runtime. Every series carries the model name and
// revision (default labels), so the canary analysis can compare revisions directly.
// Label sets are bounded: routes and codes are fixed, features come from the profile.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets from 100 µs (in-process tabular models) to 10 s (large models). */
export const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

// Label objects of the class counter, made once: a string and an object per predicted row
// would be garbage on the hot path.
const CLASS_LABELS = Array.from({ length: 100 }, (_, i) => ({ class: String(i) }));
const OTHER_CLASS = { class: 'other' };

/** Batch size buckets, in rows. */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/** Stats that are computed at scrape time rather than pushed. */
export interface ScrapeSources {
  queueDepth?: () => number;
  features?: () => { name: string; psi: number; missingRatio: number }[];
  predictionPsi?: () => number;
  breaker?: () => { open: boolean; badRatio: number };
}

/** The inference route as Fastify labels it (and Siskin's analysis queries select it). */
export const INFER_ROUTE = '/v2/models/:name/infer';

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

  private readonly sources: ScrapeSources;

  constructor(model: string, revision: string) {
    const sources: ScrapeSources = {};
    this.sources = sources;
    const registers = [this.registry];
    this.registry.setDefaultLabels({ model, revision });
    collectDefaultMetrics({ register: this.registry, prefix: 'siskin_process_' });
    this.requestDuration = new Histogram({
      name: 'siskin_request_duration_seconds',
      help: 'Time to answer a request, by route.',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.requests = new Counter({
      name: 'siskin_requests_total',
      help: 'Requests answered, by route and HTTP status code.',
      labelNames: ['route', 'code'],
      registers,
    });
    // The inference route's series exist from the start at zero, so request rates and error
    // shares read 0 (not "no data") before the first request or the first error.
    for (const code of ['200', '400', '500', '503']) this.requests.inc({ route: INFER_ROUTE, code }, 0);
    this.requestDuration.zero({ route: INFER_ROUTE });
    const inflight = (): number => this.inflightRequests;
    new Gauge({
      name: 'siskin_inflight_requests',
      help: 'Inference requests being handled.',
      registers,
      collect() {
        this.set(inflight());
      },
    });
    this.queueDuration = new Histogram({
      name: 'siskin_queue_duration_seconds',
      help: 'Time a request waited for a worker.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.computeDuration = new Histogram({
      name: 'siskin_inference_duration_seconds',
      help: 'Time onnxruntime spent running one batch, by where it ran (worker thread, or inline on the idle fast path).',
      labelNames: ['path'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'siskin_batch_size_rows',
      help: 'Rows per batch run on a worker.',
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.modelLoad = new Gauge({ name: 'siskin_model_load_seconds', help: 'Time to fetch, verify, load and warm up the model.', registers });
    this.ready = new Gauge({ name: 'siskin_model_ready', help: '1 when the model is ready to serve.', registers });
    this.rejectedInputs = new Counter({
      name: 'siskin_rejected_inputs_total',
      help: 'Inference requests rejected for their inputs, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.predictedClasses = new Counter({
      name: 'siskin_predictions_total',
      help: 'Predicted rows by class (classifiers).',
      labelNames: ['class'],
      registers,
    });
    this.predictedValues = new Histogram({
      name: 'siskin_prediction_value',
      help: 'Predicted values (regressors).',
      buckets: [-100, -10, -1, -0.1, 0, 0.1, 1, 10, 100, 1000],
      registers,
    });
    this.feedbackLabels = new Counter({
      name: 'siskin_feedback_labels_total',
      help: 'Ground-truth labels received, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    this.feedbackCorrect = new Counter({
      name: 'siskin_feedback_correct_total',
      help: 'Labelled classifier rows whose prediction was right.',
      registers,
    });
    this.feedbackAbsoluteError = new Histogram({
      name: 'siskin_feedback_absolute_error',
      help: 'Absolute error of labelled regressor rows.',
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 100],
      registers,
    });
    this.shadowComparisons = new Counter({
      name: 'siskin_shadow_comparisons_total',
      help: 'Mirrored requests compared with the shadow model, by result and shadow revision.',
      labelNames: ['result', 'shadow_revision'],
      registers,
    });
    new Gauge({
      name: 'siskin_queue_depth',
      help: 'Requests waiting for a worker.',
      registers,
      collect() {
        this.set(sources.queueDepth?.() ?? 0);
      },
    });
    new Gauge({
      name: 'siskin_feature_psi',
      help: 'Population stability index of a feature over the sliding window against the reference profile.',
      labelNames: ['feature'],
      registers,
      collect() {
        this.reset();
        for (const f of sources.features?.() ?? []) if (!Number.isNaN(f.psi)) this.set({ feature: f.name }, f.psi);
      },
    });
    new Gauge({
      name: 'siskin_feature_missing_ratio',
      help: 'Share of NaN values of a feature over the sliding window.',
      labelNames: ['feature'],
      registers,
      collect() {
        this.reset();
        for (const f of sources.features?.() ?? []) this.set({ feature: f.name }, f.missingRatio);
      },
    });
    new Gauge({
      name: 'siskin_data_quality_breaker_open',
      help: '1 while the data-quality circuit breaker refuses traffic.',
      registers,
      collect() {
        this.set(sources.breaker?.().open === true ? 1 : 0);
      },
    });
    new Gauge({
      name: 'siskin_data_quality_bad_ratio',
      help: 'Share of recent inference requests whose inputs were invalid.',
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
    if (predictionPsi !== undefined && this.registry.getSingleMetric('siskin_prediction_psi') === undefined) {
      new Gauge({
        name: 'siskin_prediction_psi',
        help: 'Population stability index of predictions over the sliding window against the reference profile.',
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

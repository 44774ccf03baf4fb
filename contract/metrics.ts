// The serving runtime's Prometheus series as the operator queries them: names, label names,
// the label values it selects on, and histogram buckets. serving/metrics.ts registers exactly
// these; the operator's analysis, monitoring, alerts and dashboard build PromQL from them.
// Names follow Prometheus practice: `siskin_` prefix, base units, `_total` only on counters.

/** Labels the server stamps on every series it exposes (the served model name and revision). */
export const SERVING_DEFAULT_LABELS = { model: 'model', revision: 'revision' } as const;

/** A metric's identity: what the registry registers and what a query selects. */
export interface MetricDefinition<L extends string = never> {
  name: string;
  help: string;
  labelNames: readonly L[];
}

const metric = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): MetricDefinition<L> => ({ name, help, labelNames });

/** Every serving metric the operator relies on, and the rest of the serving runtime's own. */
export const SERVING_METRICS = {
  requestDuration: metric('siskin_request_duration_seconds', 'Time to answer a request, by route.', ['route']),
  requests: metric('siskin_requests_total', 'Requests answered, by route and HTTP status code.', ['route', 'code']),
  inflightRequests: metric('siskin_inflight_requests', 'Inference requests being handled.'),
  queueDuration: metric('siskin_queue_duration_seconds', 'Time a request waited for a worker.'),
  inferenceDuration: metric(
    'siskin_inference_duration_seconds',
    'Time onnxruntime spent running one batch, by where it ran (worker thread, or inline on the idle fast path).',
    ['path'],
  ),
  batchSize: metric('siskin_batch_size_rows', 'Rows per batch run on a worker.'),
  modelLoad: metric('siskin_model_load_seconds', 'Time to fetch, verify, load and warm up the model.'),
  modelReady: metric('siskin_model_ready', '1 when the model is ready to serve.'),
  warmupFailed: metric('siskin_warmup_failed', '1 when the model serves although no generated warm-up input ran (a user-given sample that fails refuses the model).'),
  warmupDynamicSize: metric('siskin_warmup_dynamic_size', 'Size of the dynamic dimensions in the warm-up inputs that ran (0: none ran, or no dynamic dimension).'),
  rejectedInputs: metric('siskin_rejected_inputs_total', 'Inference requests rejected for their inputs, by reason.', ['reason']),
  predictions: metric('siskin_predictions_total', 'Predicted rows by class (classifiers).', ['class']),
  predictionValue: metric('siskin_prediction_value', 'Predicted values (regressors).'),
  feedbackLabels: metric('siskin_feedback_labels_total', 'Ground-truth labels received, by outcome.', ['outcome']),
  feedbackCorrect: metric('siskin_feedback_correct_total', 'Labelled classifier rows whose prediction was right.'),
  feedbackAbsoluteError: metric('siskin_feedback_absolute_error', 'Absolute error of labelled regressor rows.'),
  shadowComparisons: metric(
    'siskin_shadow_comparisons_total',
    'Mirrored requests compared with the shadow model, by result and shadow revision.',
    ['result', 'shadow_revision'],
  ),
  queueDepth: metric('siskin_queue_depth', 'Requests waiting for a worker.'),
  featurePsi: metric('siskin_feature_psi', 'Population stability index of a feature over the sliding window against the reference profile.', ['feature']),
  featureMissingRatio: metric('siskin_feature_missing_ratio', 'Share of NaN values of a feature over the sliding window.', ['feature']),
  breakerOpen: metric('siskin_data_quality_breaker_open', '1 while the data-quality circuit breaker refuses traffic.'),
  badRatio: metric('siskin_data_quality_bad_ratio', 'Share of recent inference requests whose inputs were invalid.'),
  nonFiniteObservations: metric(
    'siskin_nonfinite_observations_total',
    'Values a histogram skipped because they were NaN or infinite (a prediction that overflowed, say), by histogram.',
    ['metric'],
  ),
  predictionPsi: metric('siskin_prediction_psi', 'Population stability index of predictions over the sliding window against the reference profile.'),
} as const;

/** Prefix of the Node.js process metrics (prom-client's defaults) on the serving registry. */
export const SERVING_PROCESS_METRICS_PREFIX = 'siskin_process_';

/** `result` values of siskin_shadow_comparisons_total. */
export const SHADOW_RESULTS = { agree: 'agree', disagree: 'disagree', error: 'error', dropped: 'dropped' } as const;

/**
 * `route` value of siskin_request_duration_seconds and siskin_requests_total for inference
 * requests another revision mirrored here (contract/routing.ts MIRROR_HEADER): not one of
 * INFER_ROUTES, so the canary analysis judges live traffic only, and a mirrored request the
 * canary refuses never counts as a canary error or latency sample.
 */
export const MIRRORED_ROUTE = 'mirrored';

/** `outcome` values of siskin_feedback_labels_total. */
export const FEEDBACK_OUTCOMES = { scored: 'scored', unknown: 'unknown', mismatched: 'mismatched', unreachable: 'unreachable' } as const;

/** `reason` values of siskin_rejected_inputs_total: refused by our checks, or by the model at run time. */
export const REJECTED_INPUT_REASONS = { malformed: 'malformed', invalidTensor: 'invalid_tensor', modelRejected: 'model_rejected' } as const;

/** `code` values of siskin_requests_total that exist on the inference route from the start, at zero. */
export const PRECREATED_CODES = ['200', '400', '500', '503'] as const;

/** Latency buckets from 100 µs (in-process tabular models) to 10 s (large models). */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Batch size buckets, in rows. */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/** Buckets of predicted values (regressors). */
export const PREDICTION_VALUE_BUCKETS = [-100, -10, -1, -0.1, 0, 0.1, 1, 10, 100, 1000];

/** Buckets of the absolute error of labelled regressor rows. */
export const ABSOLUTE_ERROR_BUCKETS = [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 100];

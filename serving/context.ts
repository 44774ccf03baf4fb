// Everything the routes share. The model is absent until it has loaded, so the server can
// answer liveness and metrics while a large model downloads.
import type { TokenFile } from './auth.ts';
import type { ServingConfig } from './config.ts';
import type { ServingMetrics } from './metrics.ts';
import type { ServedModel } from './model/served.ts';
import type { DataQualityBreaker } from './quality/breaker.ts';
import type { FeedbackStore } from './quality/feedback.ts';
import type { FeedbackIds } from './quality/feedbackIds.ts';
import type { QualityMonitor } from './quality/monitor.ts';
import type { PredictionRule } from './quality/prediction.ts';
import type { ShadowMirror } from './shadow/mirror.ts';

/** Shared state of one server. */
export interface ServingContext {
  config: ServingConfig;
  metrics: ServingMetrics;
  model: ServedModel | undefined;
  /** How to read a prediction from the outputs; set with the model. */
  prediction: PredictionRule | undefined;
  monitor: QualityMonitor | undefined;
  breaker: DataQualityBreaker | undefined;
  feedback: FeedbackStore;
  /** Mints the id each prediction is remembered under, and tells which replica holds an id. */
  feedbackIds: FeedbackIds;
  shadow: ShadowMirror | undefined;
  tokens: TokenFile | undefined;
  /** Set when shutdown starts: answers then close their connection. */
  closing: boolean;
}

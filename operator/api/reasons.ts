// Condition types, reasons and annotations: the one vocabulary of status, Events, the step
// machine, alerts and docs. A reason nobody sets does not belong here.

/** Condition types (kstatus: Ready, Reconciling, Stalled; plus Siskin's own). */
export const ConditionType = {
  Ready: 'Ready',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
  Progressing: 'Progressing',
  Degraded: 'Degraded',
  DriftDetected: 'DriftDetected',
} as const;

/** Condition, Event and step-machine reasons. */
export const Reason = {
  // The stable revision.
  Available: 'StableAvailable',
  Unavailable: 'StableUnavailable',
  Converging: 'Converging',
  // Rollouts.
  NewRevision: 'NewRevision',
  NoRollout: 'NoRollout',
  RolloutInProgress: 'RolloutInProgress',
  RolloutComplete: 'RolloutComplete',
  RolloutAborted: 'RolloutAborted',
  Promoted: 'Promoted',
  RetryRequested: 'RetryRequested',
  ResumeRequested: 'ResumeRequested',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  FreezeWindow: 'FreezeWindow',
  Admitted: 'Admitted',
  // The step machine's decisions (operator/rollout/steps.ts).
  StepAdvanced: 'StepAdvanced',
  WaitingForCanary: 'WaitingForCanaryReady',
  PausedByUser: 'PausedByUser',
  PausedUntilPromoted: 'PausedUntilPromoted',
  PausedForDuration: 'PausedForDuration',
  AnalysisRunning: 'AnalysisRunning',
  ShadowRunning: 'ShadowRunning',
  AwaitingPassingAnalysis: 'AwaitingPassingAnalysis',
  AwaitingHeaderRoutes: 'AwaitingHeaderRoutes',
  AwaitingManualPromotion: 'HighRiskAwaitingPromotion',
  AllStepsCompleted: 'AllStepsCompleted',
  PromotedManually: 'PromotedManually',
  PromotedFully: 'PromotedFullyByUser',
  AbortedByUser: 'AbortedByUser',
  // Gates and analysis.
  SchemaCheckPassed: 'SchemaCheckPassed',
  SchemaIncompatible: 'SchemaIncompatible',
  /** The canary's pods serve although no generated warm-up input ran (contract/modelMetadata.ts). */
  WarmupFailed: 'WarmupFailed',
  AnalysisFailed: 'AnalysisFailed',
  AnalysisInconclusive: 'AnalysisInconclusive',
  // The stable revision's health after promotion.
  Healthy: 'Healthy',
  DataDrift: 'DataDrift',
  BadInputData: 'BadInputData',
  AccuracyDecay: 'AccuracyDecay',
  ServingErrors: 'ServingErrors',
  RetrainingStarted: 'RetrainingStarted',
  /** The retraining Job template breaks the restricted profile: no Job (docs/security.md). */
  RetrainRefused: 'RetrainRefused',
  DriftRollback: 'DriftRollback',
  // Scale and traffic.
  Scaled: 'Scaled',
  /** Idle past autoscaling.scaleToZeroAfterSeconds: no pods, the activator holds the first request. */
  ScaledToZero: 'ScaledToZero',
  /** A held request or a rollout woke a model at zero. */
  Waking: 'Waking',
  /** A model woken from zero has a ready pod again. */
  Woken: 'Woken',
  RoutingFailed: 'RoutingFailed',
  // What the operator cannot do for the spec.
  InvalidSpec: 'InvalidSpec',
  ApplyFailed: 'ApplyFailed',
} as const;

/** Annotation: one-shot command (promote, promote-full, abort, retry, resume), optionally "cmd:nonce". */
export const ANNOTATION_COMMAND = 'siskin.dev/command';
/** Annotation: "true" pauses the rollout until removed (level-triggered, GitOps-friendly). */
export const ANNOTATION_PAUSED = 'siskin.dev/paused';

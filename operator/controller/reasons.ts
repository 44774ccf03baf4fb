// Condition types, reasons and annotations: constants in one file, so conditions, Events,
// alerts and docs use the same words.

/** Condition types (kstatus: Ready, Reconciling, Stalled; plus Siskin's own). */
export const ConditionType = {
  Ready: 'Ready',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
  Progressing: 'Progressing',
  Degraded: 'Degraded',
  DriftDetected: 'DriftDetected',
} as const;

/** Condition and Event reasons. */
export const Reason = {
  Available: 'StableAvailable',
  Unavailable: 'StableUnavailable',
  Converging: 'Converging',
  RolloutInProgress: 'RolloutInProgress',
  RolloutComplete: 'RolloutComplete',
  RolloutAborted: 'RolloutAborted',
  NoRollout: 'NoRollout',
  InvalidSpec: 'InvalidSpec',
  ApplyFailed: 'ApplyFailed',
  Promoted: 'Promoted',
  NewRevision: 'NewRevision',
  StepAdvanced: 'StepAdvanced',
  RetryRequested: 'RetryRequested',
  ResumeRequested: 'ResumeRequested',
  AnalysisFailed: 'AnalysisFailed',
  AnalysisInconclusive: 'AnalysisInconclusive',
  AnalysisPassed: 'AnalysisPassed',
  SchemaCheckPassed: 'SchemaCheckPassed',
  SchemaIncompatible: 'SchemaIncompatible',
  SignatureUnavailable: 'SignatureUnavailable',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  FreezeWindow: 'FreezeWindow',
  RolledBack: 'RolledBack',
  Admitted: 'Admitted',
  AwaitingAdmission: 'AwaitingAdmission',
  Healthy: 'Healthy',
  HealthUnknown: 'HealthUnknown',
  DataDrift: 'DataDrift',
  BadInputData: 'BadInputData',
  AccuracyDecay: 'AccuracyDecay',
  ServingErrors: 'ServingErrors',
  RetrainingStarted: 'RetrainingStarted',
  DriftRollback: 'DriftRollback',
  Scaled: 'Scaled',
  RoutingFailed: 'RoutingFailed',
} as const;

/**
 * Stalled reasons that mean "the canary was taken out and stays out until a retry or a new
 * spec": the rollout state machine reads them back from status after a restart.
 */
export const ROLLED_BACK_REASONS: readonly string[] = [
  Reason.RolloutAborted,
  Reason.AnalysisFailed,
  Reason.SchemaIncompatible,
  Reason.ProgressDeadlineExceeded,
  Reason.DriftRollback,
];


/** Annotation: one-shot command (promote, promote-full, abort, retry, resume), optionally "cmd:nonce". */
export const ANNOTATION_COMMAND = 'siskin.dev/command';
/** Annotation: "true" pauses the rollout until removed (level-triggered, GitOps-friendly). */
export const ANNOTATION_PAUSED = 'siskin.dev/paused';

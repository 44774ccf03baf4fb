// Condition types, reasons and annotations: constants in one file, so conditions, Events,
// alerts and docs use the same words.

/** Condition types (kstatus: Ready, Reconciling, Stalled; plus Siskin's own). */
export const ConditionType = {
  Ready: 'Ready',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
  Progressing: 'Progressing',
  Degraded: 'Degraded',
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
} as const;

/** Annotation: one-shot command (promote, promote-full, abort, retry), optionally "cmd:nonce". */
export const ANNOTATION_COMMAND = 'siskin.dev/command';
/** Annotation: "true" pauses the rollout until removed (level-triggered, GitOps-friendly). */
export const ANNOTATION_PAUSED = 'siskin.dev/paused';

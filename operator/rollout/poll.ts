// How soon the operator looks again while it waits: one table, so the step machine, the plan
// and the autoscaler never disagree about the same wait.

/** Requeue delays (ms) while something is awaited. */
export const PollMs = {
  /** Pods becoming ready: a canary at its weight, a stable revision, a promotion's growth. */
  ready: 2_000,
  /** An active freeze window (a new canary waits, a running one holds); capped by the window's end. */
  frozen: 30_000,
  /** A step whose time is up, waiting for a passing analysis round. */
  analysis: 5_000,
  /** The built-in autoscaler reading the model's traffic. */
  autoscale: 15_000,
} as const;

// Scale to zero (autoscaling.minReplicas 0): when an idle model's pods go, and when a model at
// zero wakes. A small state machine over status.activation — Active, ScaledToZero, Waking —
// decided from facts the shell measured. Pure: facts and the clock in, the next state out.
import type { ACTIVATION_STATES } from '../api/schema.ts';

/** Where a model that may scale to zero stands. */
export type ActivationState = (typeof ACTIVATION_STATES)[number];

/** The idle period when autoscaling.scaleToZeroAfterSeconds is unset. */
export const DEFAULT_SCALE_TO_ZERO_AFTER_SECONDS = 300;

/** The state with when it began (ms since epoch) and why. */
export interface Activation {
  state: ActivationState;
  since: number;
  reason: string;
}

/** What the decision looks at. */
export interface ActivationInput {
  /** minReplicas is 0: the model may scale to zero. */
  enabled: boolean;
  /** The idle period. */
  idleAfterSeconds: number;
  /** status.activation, if any. */
  previous: Activation | undefined;
  /**
   * Inference requests to any revision over the idle period, when measured this reconcile;
   * undefined when not measured or Prometheus could not tell (no data, unreachable).
   */
  requestsInWindow: number | undefined;
  /** The activator holds requests for this model. */
  demand: boolean;
  /** The spec wants a revision other than the stable one, not rolled back: a rollout runs or starts. */
  rollout: boolean;
  /** The stable revision has a ready pod. */
  stableServes: boolean;
  /** An activator can hold this model's requests (configured, with a port for it). */
  activatorReady: boolean;
  now: number;
}

/**
 * The next state. Active goes to ScaledToZero only when every fact agrees: enabled, an
 * activator ready, no rollout, no held request, Active for the whole idle period, and
 * Prometheus counted zero requests over it (no data is never idle). ScaledToZero wakes on a
 * held request, a rollout, or scale to zero turned off; Waking is Active once a stable pod is
 * ready. Turned off, an Active model forgets the state (undefined).
 */
export function decideActivation(input: ActivationInput): Activation | undefined {
  const { previous: prev, now } = input;
  if (!prev) return input.enabled ? { state: 'Active', since: now, reason: 'serving' } : undefined;
  switch (prev.state) {
    case 'ScaledToZero': {
      const why = wakeReason(input);
      return why ? { state: 'Waking', since: now, reason: why } : prev;
    }
    case 'Waking':
      return input.stableServes ? { state: 'Active', since: prev.since, reason: `woke up: ${prev.reason}` } : prev;
    case 'Active': {
      if (!input.enabled) return undefined;
      return idle(input) ? { state: 'ScaledToZero', since: now, reason: `no inference request for ${input.idleAfterSeconds} s` } : prev;
    }
  }
}

/** Why a model at zero wakes now, if it does. */
function wakeReason(input: ActivationInput): string | undefined {
  if (input.demand) return 'a request arrived';
  if (input.rollout) return 'a rollout started';
  if (!input.enabled) return 'scale to zero was turned off';
  if (!input.activatorReady) return 'no activator can hold its requests';
  return undefined;
}

/** An Active model is idle: every condition for scaling to zero holds. */
function idle(input: ActivationInput): boolean {
  const { previous: prev, now } = input;
  if (!input.activatorReady || input.rollout || input.demand) return false;
  if (!prev || now - prev.since < input.idleAfterSeconds * 1000) return false;
  return input.requestsInWindow !== undefined && Number.isFinite(input.requestsInWindow) && input.requestsInWindow <= 0;
}

/** The Services point at the activator: at zero, and while waking until a stable pod is ready. */
export function viaActivator(a: Activation | undefined): boolean {
  return a?.state === 'ScaledToZero' || a?.state === 'Waking';
}

// Health of the stable revision after promotion: one observation from the metrics provider
// judged against spec.monitoring.drift. Pure: the reconciler measures, this decides, and the
// reconciler sets the condition and fires the action (at most once per cooldown).
import type { ModelDeploymentSpec } from '../api/schema.ts';

/** spec.monitoring.drift, defaults applied. */
export type DriftPolicy = NonNullable<NonNullable<ModelDeploymentSpec['monitoring']>['drift']>;

/** What kind of failure a breach is; the condition reason names it. */
export type BreachKind = 'DataDrift' | 'BadInputData' | 'AccuracyDecay' | 'ServingErrors';

/** One measurement of the stable revision over the policy's window; absent or NaN = not measured. */
export interface HealthObservation {
  /** The largest per-feature PSI against the reference profile. */
  maxFeaturePsi?: number;
  /** The feature with that PSI. */
  worstFeature?: string;
  /** Share of inference requests rejected as bad input. */
  badInputRatio?: number;
  /** Live accuracy from ground-truth feedback. */
  accuracy?: number;
  /** Labelled predictions behind that accuracy. */
  labels?: number;
  /** Share of requests answered 5xx. */
  errorRate?: number;
  /** Requests in the window. */
  requests?: number;
  /** The provider failed (Prometheus unreachable, bad query): nothing above can be trusted. */
  error?: string;
}

/** A bound the stable revision crossed; the message names the value and the bound. */
export interface Breach {
  kind: BreachKind;
  message: string;
}

/** Which checks beyond the policy's bounds apply. */
export interface HealthChecks {
  /** Feature drift (PSI against the model's reference profile) is judged: the spec has a profile. */
  featureDrift: boolean;
}

/** The verdict on one observation. */
export interface HealthAssessment {
  /** Ordered by where to look first (see assessHealth). */
  breaches: Breach[];
  /** Set when the observation proves nothing: no breach, but no recovery either. */
  inconclusive?: string;
  /** Configured checks this observation could not judge (no value, too few labels or requests). */
  unjudged: BreachKind[];
}

/**
 * Judges an observation. A value exactly at its bound is healthy. Accuracy is judged only
 * over at least minLabels labelled predictions, ratios only over at least one request. A
 * provider error, or an observation in which no configured check had a value, is
 * inconclusive: never read as healthy, since clearing a breach needs evidence.
 *
 * Breaches come in the order to investigate them. Bad input data first: garbage inputs (a
 * broken upstream pipeline, a changed client) shift feature distributions and wreck
 * accuracy, so they explain the rest. Then data drift: a genuine shift in the population is
 * the usual cause of accuracy decay. Then accuracy decay itself: the consequence, and the
 * latest signal (labels arrive late). Serving errors last: 5xx come from the platform
 * (overload, OOM, a crashing worker) more than from the data, and ordinary service alerting
 * already sees them; here they matter as the one breach the model's inputs do not explain.
 */
export function assessHealth(policy: DriftPolicy, obs: HealthObservation, checks: HealthChecks = { featureDrift: true }): HealthAssessment {
  if (obs.error !== undefined) {
    return { breaches: [], inconclusive: `could not measure the stable revision: ${obs.error}`, unjudged: configured(policy, checks) };
  }
  const breaches: Breach[] = [];
  const unjudged: BreachKind[] = [];
  const judged: BreachKind[] = [];
  const someRequests = !(obs.requests !== undefined && obs.requests <= 0);
  const per = obs.requests !== undefined && obs.requests > 0 ? ` over ${obs.requests} ${obs.requests === 1 ? 'request' : 'requests'}` : '';

  if (policy.maxBadInputRatio !== undefined) {
    if (!measured(obs.badInputRatio) || !someRequests) unjudged.push('BadInputData');
    else {
      judged.push('BadInputData');
      if (obs.badInputRatio > policy.maxBadInputRatio) {
        const [v, b] = pair(obs.badInputRatio, policy.maxBadInputRatio);
        breaches.push({ kind: 'BadInputData', message: `bad input ratio ${v} > ${b}${per}` });
      }
    }
  }

  // Without a reference profile there is no PSI to judge: drift is then no check of this policy.
  if (checks.featureDrift) {
    if (!measured(obs.maxFeaturePsi)) unjudged.push('DataDrift');
    else {
      judged.push('DataDrift');
      if (obs.maxFeaturePsi > policy.threshold) {
        const [v, b] = pair(obs.maxFeaturePsi, policy.threshold);
        const what = obs.worstFeature === undefined ? 'max feature PSI' : `feature "${obs.worstFeature}" PSI`;
        breaches.push({ kind: 'DataDrift', message: `${what} ${v} > ${b}` });
      }
    }
  }

  if (policy.minAccuracy !== undefined) {
    if (!measured(obs.accuracy) || !measured(obs.labels) || obs.labels < policy.minLabels) unjudged.push('AccuracyDecay');
    else {
      judged.push('AccuracyDecay');
      if (obs.accuracy < policy.minAccuracy) {
        const [v, b] = pair(obs.accuracy, policy.minAccuracy);
        breaches.push({ kind: 'AccuracyDecay', message: `accuracy ${v} < ${b} over ${obs.labels} labelled predictions` });
      }
    }
  }

  if (policy.maxErrorRate !== undefined) {
    if (!measured(obs.errorRate) || !someRequests) unjudged.push('ServingErrors');
    else {
      judged.push('ServingErrors');
      if (obs.errorRate > policy.maxErrorRate) {
        const [v, b] = pair(obs.errorRate, policy.maxErrorRate);
        breaches.push({ kind: 'ServingErrors', message: `5xx error rate ${v} > ${b}${per}` });
      }
    }
  }

  if (judged.length === 0) {
    return { breaches, inconclusive: `nothing to judge: no value for ${unjudged.map(describeKind).join(', ')}`, unjudged };
  }
  return { breaches, unjudged };
}

/**
 * Whether the breach action may fire now: never fired, or at least one cooldown ago. A
 * stamp up to one cooldown in the future (a former leader's skewed clock) also holds it
 * back; one further out cannot come from a real firing, so it does not.
 */
export function shouldFire(lastActionAt: number | undefined, cooldownSeconds: number, now: number): boolean {
  if (lastActionAt === undefined || !Number.isFinite(lastActionAt)) return true;
  return Math.abs(now - lastActionAt) >= cooldownSeconds * 1000;
}

function configured(policy: DriftPolicy, checks: HealthChecks): BreachKind[] {
  const kinds: BreachKind[] = [];
  if (policy.maxBadInputRatio !== undefined) kinds.push('BadInputData');
  if (checks.featureDrift) kinds.push('DataDrift');
  if (policy.minAccuracy !== undefined) kinds.push('AccuracyDecay');
  if (policy.maxErrorRate !== undefined) kinds.push('ServingErrors');
  return kinds;
}

function describeKind(kind: BreachKind): string {
  switch (kind) {
    case 'BadInputData':
      return 'bad input ratio';
    case 'DataDrift':
      return 'feature PSI';
    case 'AccuracyDecay':
      return 'accuracy (enough labels)';
    case 'ServingErrors':
      return 'error rate';
  }
}

function measured(x: number | undefined): x is number {
  return x !== undefined && Number.isFinite(x) && x >= 0;
}

/** Value and bound with just enough digits to tell them apart: never "PSI 0.2 > 0.2". */
function pair(value: number, bound: number): [string, string] {
  for (let digits = 3; digits <= 15; digits++) {
    const v = String(Number(value.toPrecision(digits)));
    const b = String(Number(bound.toPrecision(digits)));
    if (v !== b) return [v, b];
  }
  return [String(value), String(bound)];
}

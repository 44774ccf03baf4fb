// Stable-revision health: which bounds an observation breaks, in what order, what proves
// nothing, and how often the action may fire.
import { describe, expect, test } from '@jest/globals';
import { assessHealth, shouldFire } from './health.ts';
import type { BreachKind, DriftPolicy, HealthAssessment, HealthObservation } from './health.ts';

/** The API defaults, plus whatever a case sets. */
function policy(p: Partial<DriftPolicy> = {}): DriftPolicy {
  return { threshold: 0.2, windowSeconds: 3600, action: 'Alert', intervalSeconds: 30, cooldownSeconds: 3600, minLabels: 100, ...p };
}
/** Every check configured. */
const full = policy({ maxBadInputRatio: 0.05, minAccuracy: 0.9, maxErrorRate: 0.01 });
/** A healthy observation for `full`. */
const healthy: HealthObservation = { maxFeaturePsi: 0.05, worstFeature: 'petal_length', badInputRatio: 0.001, accuracy: 0.95, labels: 500, errorRate: 0, requests: 1200 };

describe('assessHealth', () => {
  test.each<[string, DriftPolicy, HealthObservation, [BreachKind, string][], BreachKind[]]>([
    // what, policy, observation → breaches (kind, message), unjudged kinds
    ['all within bounds', full, healthy, [], []],
    ['drift: the worst feature is named', policy(), { maxFeaturePsi: 0.41, worstFeature: 'petal_length' }, [['DataDrift', 'feature "petal_length" PSI 0.41 > 0.2']], []],
    ['drift: without a feature name', policy(), { maxFeaturePsi: 0.41 }, [['DataDrift', 'max feature PSI 0.41 > 0.2']], []],
    ['drift: exactly at the threshold is healthy', policy(), { maxFeaturePsi: 0.2 }, [], []],
    ['drift: digits enough to tell value from bound', policy(), { maxFeaturePsi: 0.20004, worstFeature: 'age' }, [['DataDrift', 'feature "age" PSI 0.20004 > 0.2']], []],
    ['bad input', full, { ...healthy, badInputRatio: 0.12 }, [['BadInputData', 'bad input ratio 0.12 > 0.05 over 1200 requests']], []],
    ['bad input: not judged without a bound', policy(), { maxFeaturePsi: 0.1, badInputRatio: 0.9 }, [], []],
    ['accuracy decay', full, { ...healthy, accuracy: 0.81, labels: 240 }, [['AccuracyDecay', 'accuracy 0.81 < 0.9 over 240 labelled predictions']], []],
    ['accuracy: exactly at the bound is healthy', full, { ...healthy, accuracy: 0.9 }, [], []],
    ['accuracy: exactly minLabels is enough', full, { ...healthy, accuracy: 0.5, labels: 100 }, [['AccuracyDecay', 'accuracy 0.5 < 0.9 over 100 labelled predictions']], []],
    ['accuracy: too few labels is not judged', full, { ...healthy, accuracy: 0.5, labels: 99 }, [], ['AccuracyDecay']],
    ['accuracy: no label count is not judged', full, { ...healthy, accuracy: 0.5, labels: undefined }, [], ['AccuracyDecay']],
    ['serving errors', full, { ...healthy, errorRate: 0.07 }, [['ServingErrors', '5xx error rate 0.07 > 0.01 over 1200 requests']], []],
    ['serving errors: without a request count', full, { ...healthy, errorRate: 0.07, requests: undefined, badInputRatio: undefined }, [['ServingErrors', '5xx error rate 0.07 > 0.01']], ['BadInputData']],
    ['ratios over no requests are not judged', full, { ...healthy, badInputRatio: 1, errorRate: 1, requests: 0 }, [], ['BadInputData', 'ServingErrors']],
    ['NaN is not a measurement', full, { ...healthy, maxFeaturePsi: Number.NaN, errorRate: Number.NaN }, [], ['DataDrift', 'ServingErrors']],
    [
      'several breaches: bad input, drift, accuracy, errors — where to look first',
      full,
      { maxFeaturePsi: 0.5, worstFeature: 'sepal_width', badInputRatio: 0.3, accuracy: 0.6, labels: 300, errorRate: 0.02, requests: 5000 },
      [
        ['BadInputData', 'bad input ratio 0.3 > 0.05 over 5000 requests'],
        ['DataDrift', 'feature "sepal_width" PSI 0.5 > 0.2'],
        ['AccuracyDecay', 'accuracy 0.6 < 0.9 over 300 labelled predictions'],
        ['ServingErrors', '5xx error rate 0.02 > 0.01 over 5000 requests'],
      ],
      [],
    ],
  ])('%s', (_what, p, obs, breaches, unjudged) => {
    const expected: HealthAssessment = { breaches: breaches.map(([kind, message]) => ({ kind, message })), unjudged };
    expect(assessHealth(p, obs)).toEqual(expected);
  });

  test.each<[string, DriftPolicy, HealthObservation, string, BreachKind[]]>([
    // what, policy, observation → inconclusive reason, unjudged kinds
    [
      'a provider error: no breach, however bad the numbers look',
      full,
      { ...healthy, maxFeaturePsi: 9, error: 'Prometheus at http://prometheus:9090 unreachable: ECONNREFUSED' },
      'could not measure the stable revision: Prometheus at http://prometheus:9090 unreachable: ECONNREFUSED',
      ['BadInputData', 'DataDrift', 'AccuracyDecay', 'ServingErrors'],
    ],
    ['no traffic: nothing to judge', full, { requests: 0, labels: 0 }, 'nothing to judge: no value for bad input ratio, feature PSI, accuracy (enough labels), error rate', ['BadInputData', 'DataDrift', 'AccuracyDecay', 'ServingErrors']],
    ['no reference profile and nothing else configured', policy(), {}, 'nothing to judge: no value for feature PSI', ['DataDrift']],
  ])('inconclusive: %s', (_what, p, obs, inconclusive, unjudged) => {
    expect(assessHealth(p, obs)).toEqual({ breaches: [], inconclusive, unjudged });
  });

  test('without a reference profile, feature drift is no check: the other bounds alone judge, and clear', () => {
    const p = policy({ maxErrorRate: 0.05 });
    const noProfile = { featureDrift: false };
    expect(assessHealth(p, { errorRate: 0.01, requests: 100 }, noProfile)).toEqual({ breaches: [], unjudged: [] });
    expect(assessHealth(p, { errorRate: 0.2, requests: 100 }, noProfile).breaches.map((b) => b.kind)).toEqual(['ServingErrors']);
    expect(assessHealth(p, { error: 'down' }, noProfile).unjudged).toEqual(['ServingErrors']);
    // With a profile the same observation lacks its PSI: not yet a recovery.
    expect(assessHealth(p, { errorRate: 0.01, requests: 100 }).unjudged).toEqual(['DataDrift']);
  });
});

describe('shouldFire', () => {
  const NOW = Date.parse('2026-06-01T12:00:00Z');
  test.each<[string, number | undefined, boolean]>([
    // what, last action → fires
    ['never fired', undefined, true],
    ['an unreadable stamp counts as never', Number.NaN, true],
    ['within the cooldown', NOW - 3_599_999, false],
    ['exactly one cooldown ago', NOW - 3_600_000, true],
    ['long ago', NOW - 86_400_000, true],
    ['just now', NOW, false],
    ['slightly in the future (a skewed clock)', NOW + 60_000, false],
    ['more than a cooldown in the future (cannot be a real firing)', NOW + 3_600_000, true],
  ])('%s → %p', (_what, last, fires) => {
    expect(shouldFire(last, 3600, NOW)).toBe(fires);
  });
});

// The canary analysis rules as a specification: what one window's numbers mean for a
// metric, for the round, and for the rollout.
import { describe, expect, test } from '@jest/globals';
import { decide, describeFailure, evaluateRound, type Measurement, type MetricSpec, type Observation } from './evaluate.ts';

const NOW = '2026-11-23T12:00:00Z';
const OPTS = { minSamples: 50, now: NOW };

const latency: MetricSpec = { name: 'latency-p99', kind: 'LatencyQuantile', max: 0.25 };
const errors: MetricSpec = { name: 'error-rate', kind: 'ErrorRate', max: 0.01, maxRelativeToStable: 1.2 };
const agreement: MetricSpec = { name: 'agreement', kind: 'PredictionAgreement', min: 0.95, minSamples: 100 };
const accuracy: MetricSpec = { name: 'accuracy', kind: 'Accuracy', minRelativeToStable: 0.9 };

function one(metric: MetricSpec, o: Omit<Observation, 'metric'> | undefined): Measurement {
  const r = evaluateRound([metric], o === undefined ? [] : [{ metric: metric.name, ...o }], OPTS);
  return r.measurements[0]!;
}

describe('evaluateRound: one metric', () => {
  // `absent` lists fields the measurement must not have at all.
  test.each<[string, MetricSpec, Omit<Observation, 'metric'> | undefined, Partial<Measurement> & { absent?: string[] }]>([
    ['a value within its max passes', latency, { value: 0.1, samples: 200 }, { verdict: 'Pass', value: 0.1, bound: '<= 0.25' }],
    ['a value on its bound passes', latency, { value: 0.25, samples: 200 }, { verdict: 'Pass' }],
    ['a value above its max fails, naming value and bound', latency, { value: 0.412, samples: 200 }, { verdict: 'Fail', value: 0.412, reason: '0.412 violates <= 0.25' }],
    ['a value below its min fails', agreement, { value: 0.9, samples: 500 }, { verdict: 'Fail', bound: '>= 0.95', reason: '0.9 violates >= 0.95' }],
    [
      'a relative bound is resolved against the stable value',
      errors,
      { value: 0.005, stableValue: 0.004, samples: 100 },
      { verdict: 'Fail', stableValue: 0.004, bound: '<= 0.01, <= 1.2 x stable (0.0048)', reason: '0.005 violates <= 1.2 x stable (0.0048)' },
    ],
    ['every violated bound is named', errors, { value: 0.02, stableValue: 0.001, samples: 100 }, { verdict: 'Fail', reason: '0.02 violates <= 0.01 and <= 1.2 x stable (0.0012)' }],
    ['a relative min passes above the stable share', accuracy, { value: 0.88, stableValue: 0.9, samples: 60 }, { verdict: 'Pass', bound: '>= 0.9 x stable (0.81)' }],
    ['a relative min fails below it', accuracy, { value: 0.7, stableValue: 0.9, samples: 60 }, { verdict: 'Fail', reason: '0.7 violates >= 0.9 x stable (0.81)' }],
    ['a relative bound without stable data is inconclusive', accuracy, { value: 0.7, samples: 60 }, { verdict: 'Inconclusive', bound: '>= 0.9 x stable', reason: 'no data for the stable revision, which the relative bound needs' }],
    ['a provider error is inconclusive with its message', latency, { error: 'Prometheus at http://p:9090 unreachable: ECONNREFUSED' }, { verdict: 'Inconclusive', reason: 'Prometheus at http://p:9090 unreachable: ECONNREFUSED' }],
    ['too few samples is inconclusive, even with a bad value', latency, { value: 9, samples: 12 }, { verdict: 'Inconclusive', value: 9, reason: '12 samples in the window, 50 needed' }],
    ['the metric minSamples overrides the analysis one', agreement, { value: 1, samples: 60 }, { verdict: 'Inconclusive', reason: '60 samples in the window, 100 needed' }],
    ['extrapolated counts round to whole samples', latency, { value: 0.1, samples: 49.6 }, { verdict: 'Pass' }],
    ['an empty result is inconclusive', latency, { samples: 200 }, { verdict: 'Inconclusive', reason: 'no data' }],
    ['NaN is no data', latency, { value: Number.NaN, samples: 200 }, { verdict: 'Inconclusive', reason: 'no data' }],
    ['+Inf fails a max and is not stored (status is JSON)', latency, { value: Infinity, samples: 200 }, { verdict: 'Fail', reason: '+Inf violates <= 0.25', absent: ['value'] }],
    ['a metric without an observation is inconclusive', latency, undefined, { verdict: 'Inconclusive', reason: 'not measured', absent: ['value', 'stableValue'] }],
  ])('%s', (_name, metric, observation, expected) => {
    const { absent = [], ...fields } = expected;
    const m = one(metric, observation);
    expect(m).toMatchObject({ metric: metric.name, time: NOW, ...fields });
    for (const field of absent) expect(m).not.toHaveProperty(field);
  });
});

describe('evaluateRound: the round', () => {
  const metrics = [latency, errors];
  const pass: Observation = { metric: 'latency-p99', value: 0.1, samples: 100 };
  test.each<[string, Observation[], string, string[]]>([
    ['every metric passing passes', [pass, { metric: 'error-rate', value: 0, stableValue: 0, samples: 100 }], 'Pass', []],
    ['one failure fails the round', [pass, { metric: 'error-rate', value: 0.5, stableValue: 0, samples: 100 }], 'Fail', ['error-rate']],
    ['a failure wins over an inconclusive metric', [{ metric: 'latency-p99', value: 1, samples: 100 }, { metric: 'error-rate', error: 'boom' }], 'Fail', ['latency-p99']],
    ['one inconclusive metric makes the round inconclusive', [pass], 'Inconclusive', []],
    ['observations of unknown metrics are ignored', [pass, { metric: 'error-rate', value: 0, stableValue: 0, samples: 100 }, { metric: 'other', value: 99 }], 'Pass', []],
  ])('%s', (_name, observations, verdict, failed) => {
    const r = evaluateRound(metrics, observations, OPTS);
    expect(r.verdict).toBe(verdict);
    expect(r.failed.map((m) => m.metric)).toEqual(failed);
    expect(r.measurements.map((m) => m.metric)).toEqual(['latency-p99', 'error-rate']);
  });

  test('no metrics judge nothing and block nothing', () => {
    expect(evaluateRound([], [], OPTS)).toEqual({ verdict: 'Pass', measurements: [], failed: [] });
  });
});

describe('decide', () => {
  const limits = { failureLimit: 2, inconclusiveLimit: 3 };
  test.each<[string, { failures: number; consecutiveInconclusive: number }, 'Pass' | 'Fail' | 'Inconclusive', { failures: number; consecutiveInconclusive: number }, string]>([
    ['a pass continues and resets the inconclusive streak', { failures: 1, consecutiveInconclusive: 2 }, 'Pass', { failures: 1, consecutiveInconclusive: 0 }, 'Continue'],
    ['failures up to the limit are tolerated', { failures: 1, consecutiveInconclusive: 0 }, 'Fail', { failures: 2, consecutiveInconclusive: 0 }, 'Continue'],
    ['one failure beyond the limit rolls back', { failures: 2, consecutiveInconclusive: 0 }, 'Fail', { failures: 3, consecutiveInconclusive: 0 }, 'Rollback'],
    ['a failure ends an inconclusive streak', { failures: 0, consecutiveInconclusive: 3 }, 'Fail', { failures: 1, consecutiveInconclusive: 0 }, 'Continue'],
    ['inconclusive rounds up to the limit continue', { failures: 0, consecutiveInconclusive: 2 }, 'Inconclusive', { failures: 0, consecutiveInconclusive: 3 }, 'Continue'],
    ['one inconclusive round beyond the limit pauses', { failures: 0, consecutiveInconclusive: 3 }, 'Inconclusive', { failures: 0, consecutiveInconclusive: 4 }, 'Pause'],
  ])('%s', (_name, counters, verdict, next, action) => {
    expect(decide(counters, verdict, limits)).toEqual({ counters: next, action });
  });

  test('failureLimit 0 rolls back on the first failure; passes in between do not forgive it', () => {
    const zero = { failureLimit: 0, inconclusiveLimit: 0 };
    expect(decide({ failures: 0, consecutiveInconclusive: 0 }, 'Fail', zero).action).toBe('Rollback');
    expect(decide({ failures: 0, consecutiveInconclusive: 0 }, 'Inconclusive', zero).action).toBe('Pause');
    let c = { failures: 0, consecutiveInconclusive: 0 };
    for (const v of ['Fail', 'Pass', 'Pass', 'Fail'] as const) c = decide(c, v, limits).counters;
    expect(c.failures).toBe(2);
  });

  test('other counters kept in status pass through', () => {
    expect(decide({ failures: 0, consecutiveInconclusive: 0, inconclusive: 7 }, 'Pass', limits).counters).toEqual({ failures: 0, consecutiveInconclusive: 0, inconclusive: 7 });
  });
});

describe('describeFailure', () => {
  test.each<[string, MetricSpec, Omit<Observation, 'metric'>, string]>([
    ['a failure names metric, value and bound', latency, { value: 0.412, samples: 100 }, 'metric latency-p99 = 0.412 violates <= 0.25'],
    ['long values are shortened', latency, { value: 0.41234567, samples: 100 }, 'metric latency-p99 = 0.4123 violates <= 0.25'],
    ['an inconclusive metric says why', latency, { value: 0.1, samples: 3 }, 'metric latency-p99 is inconclusive: 3 samples in the window, 50 needed'],
    ['a pass reads as one too', latency, { value: 0.1, samples: 100 }, 'metric latency-p99 = 0.1 within <= 0.25'],
  ])('%s', (_name, metric, o, text) => {
    expect(describeFailure(one(metric, o))).toBe(text);
  });
});

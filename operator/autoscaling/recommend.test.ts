// The autoscaler: metrics → replicas, with tolerance, bounds, missing metrics and
// stabilization windows that never let the Deployment flap.
import { describe, expect, test } from '@jest/globals';
import { recommend } from './recommend.ts';
import type { AutoscalePolicy, Recommendation, RecommendInput } from './recommend.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const ago = (seconds: number): number => NOW - seconds * 1000;

/** HPA-like defaults: scale up at once, scale down after 300 s of lower recommendations. */
function policy(p: Partial<AutoscalePolicy> = {}): AutoscalePolicy {
  return { minReplicas: 1, maxReplicas: 10, targetRequestsPerSecond: 5, scaleUpStabilizationSeconds: 0, scaleDownStabilizationSeconds: 300, ...p };
}
const latencyOnly = (p: Partial<AutoscalePolicy> = {}): AutoscalePolicy => policy({ targetRequestsPerSecond: undefined, targetP99LatencySeconds: 0.25, ...p });
const both = policy({ targetP99LatencySeconds: 0.25 });

function run(p: AutoscalePolicy, current: number, metrics: { requestRate?: number; p99?: number }, history: Recommendation[] = []) {
  return recommend({ policy: p, current, ...metrics, history, now: NOW });
}

describe('recommend: one decision, no history', () => {
  test.each<[string, AutoscalePolicy, number, { requestRate?: number; p99?: number }, number, number, string]>([
    // what, policy, current, metrics → desired, raw, reason
    ['rate: enough replicas for the target per replica', policy(), 2, { requestRate: 12.3 }, 3, 3, '12.3 req/s over 2 replicas, target 5 req/s per replica → 3'],
    ['rate: within 10% of target moves nothing', policy(), 2, { requestRate: 10.9 }, 2, 2, '10.9 req/s over 2 replicas, target 5 req/s per replica → 2 (within the 10% tolerance)'],
    ['rate: just past the tolerance moves', policy(), 2, { requestRate: 11.1 }, 3, 3, '11.1 req/s over 2 replicas, target 5 req/s per replica → 3'],
    ['rate: a scale-down with nothing in the window is immediate', policy(), 4, { requestRate: 4 }, 1, 1, '4 req/s over 4 replicas, target 5 req/s per replica → 1'],
    ['rate: exact multiples need no extra replica', policy({ targetRequestsPerSecond: 0.1 }), 3, { requestRate: 0.7 }, 7, 7, '0.7 req/s over 3 replicas, target 0.1 req/s per replica → 7'],
    ['bounds: capped at maxReplicas', policy(), 2, { requestRate: 100 }, 10, 20, '100 req/s over 2 replicas, target 5 req/s per replica → 20; capped at maxReplicas 10'],
    ['bounds: raised to minReplicas', policy({ minReplicas: 2 }), 3, { requestRate: 0 }, 2, 0, '0 req/s over 3 replicas, target 5 req/s per replica → 0; raised to minReplicas 2'],
    ['bounds: from zero pods', policy(), 0, { requestRate: 3 }, 1, 1, '3 req/s over 0 replicas, target 5 req/s per replica → 1'],
    [
      'bounds: a current count above a lowered max comes down at once',
      policy(),
      12,
      { requestRate: 55 },
      10,
      12,
      '55 req/s over 12 replicas, target 5 req/s per replica → 12 (within the 10% tolerance); capped at maxReplicas 10',
    ],
    ['latency: p99 at twice the target doubles', latencyOnly(), 2, { p99: 0.5 }, 4, 4, 'p99 0.5 s over 2 replicas, target 0.25 s → 4'],
    ['latency: up to 10% over target holds', latencyOnly(), 2, { p99: 0.27 }, 2, 2, 'p99 0.27 s over 2 replicas, target 0.25 s → 2 (within 0.5–1.1 × target)'],
    ['latency: down to half the target holds', latencyOnly(), 2, { p99: 0.13 }, 2, 2, 'p99 0.13 s over 2 replicas, target 0.25 s → 2 (within 0.5–1.1 × target)'],
    ['latency: under half the target scales down in proportion', latencyOnly(), 4, { p99: 0.1 }, 2, 2, 'p99 0.1 s over 4 replicas, target 0.25 s → 2'],
    [
      'both: the larger recommendation wins',
      both,
      2,
      { requestRate: 12, p99: 0.5 },
      4,
      4,
      '12 req/s over 2 replicas, target 5 req/s per replica → 3; p99 0.5 s over 2 replicas, target 0.25 s → 4',
    ],
    ['missing: no request rate holds', policy(), 2, {}, 2, 2, 'request rate missing: holding 2 replicas'],
    ['missing: NaN is missing', policy(), 2, { requestRate: Number.NaN }, 2, 2, 'request rate missing: holding 2 replicas'],
    ['missing: a negative rate is missing', policy(), 3, { requestRate: -1 }, 3, 3, 'request rate missing: holding 3 replicas'],
    ['missing: no p99 holds', latencyOnly(), 1, { p99: Number.POSITIVE_INFINITY }, 1, 1, 'p99 latency missing: holding 1 replica'],
    ['missing: both missing', both, 2, {}, 2, 2, 'request rate and p99 latency missing: holding 2 replicas'],
    ['missing: holding still respects the bounds', policy(), 0, {}, 1, 1, '0 is outside minReplicas–maxReplicas 1–10; request rate missing: holding 1 replica'],
    [
      'missing one of two: a scale-up from the other is followed',
      both,
      2,
      { requestRate: 20 },
      4,
      4,
      '20 req/s over 2 replicas, target 5 req/s per replica → 4; p99 latency missing, followed the scale-up anyway',
    ],
    [
      'missing one of two: a scale-down from the other is not',
      both,
      4,
      { requestRate: 4 },
      4,
      1,
      '4 req/s over 4 replicas, target 5 req/s per replica → 1; p99 latency missing, so no scale-down: holding 4',
    ],
  ])('%s', (_what, p, current, metrics, desired, raw, reason) => {
    const r = run(p, current, metrics);
    expect({ desired: r.desired, raw: r.raw, reason: r.reason }).toEqual({ desired, raw, reason });
  });

  test('rejects a current count that is not a replica count', () => {
    expect(() => run(policy(), -1, { requestRate: 1 })).toThrow(RangeError);
    expect(() => run(policy(), 1.5, { requestRate: 1 })).toThrow(RangeError);
  });
});

describe('recommend: stabilization windows', () => {
  test.each<[string, AutoscalePolicy, number, number, Recommendation[], number, string]>([
    // what, policy, current, request rate, history → desired, reason
    [
      'a scale-down waits for the highest recommendation in the last 300 s',
      policy(),
      4,
      4,
      [{ at: ago(200), replicas: 4 }],
      4,
      '4 req/s over 4 replicas, target 5 req/s per replica → 1; scale-down held by the 300 s stabilization window at 4',
    ],
    ['a recommendation exactly 300 s old no longer holds', policy(), 4, 4, [{ at: ago(300), replicas: 4 }], 1, '4 req/s over 4 replicas, target 5 req/s per replica → 1'],
    [
      'a scale-down goes as far as the window allows',
      policy(),
      4,
      4,
      [
        { at: ago(310), replicas: 4 },
        { at: ago(100), replicas: 2 },
      ],
      2,
      '4 req/s over 4 replicas, target 5 req/s per replica → 1; scale-down held by the 300 s stabilization window at 2',
    ],
    ['a scale-up is immediate with the default 0 s window', policy(), 2, 25, [{ at: ago(10), replicas: 2 }], 5, '25 req/s over 2 replicas, target 5 req/s per replica → 5'],
    [
      'a scale-up waits for the lowest recommendation in its window',
      policy({ scaleUpStabilizationSeconds: 60 }),
      2,
      25,
      [{ at: ago(30), replicas: 2 }],
      2,
      '25 req/s over 2 replicas, target 5 req/s per replica → 5; scale-up held by the 60 s stabilization window at 2',
    ],
    [
      'a scale-up goes as far as its window allows',
      policy({ scaleUpStabilizationSeconds: 60 }),
      2,
      25,
      [
        { at: ago(90), replicas: 2 },
        { at: ago(30), replicas: 3 },
      ],
      3,
      '25 req/s over 2 replicas, target 5 req/s per replica → 5; scale-up held by the 60 s stabilization window at 3',
    ],
    [
      'recommendations from the future (a skewed former leader) are ignored',
      policy(),
      4,
      4,
      [{ at: NOW + 60_000, replicas: 8 }],
      1,
      '4 req/s over 4 replicas, target 5 req/s per replica → 1',
    ],
  ])('%s', (_what, p, current, requestRate, history, desired, reason) => {
    const r = run(p, current, { requestRate }, history);
    expect({ desired: r.desired, reason: r.reason }).toEqual({ desired, reason });
  });

  test('an oscillating load never flaps the Deployment, and it scales down 300 s after the last peak', () => {
    const p = policy();
    let current = 4;
    let history: Recommendation[] = [];
    const desired: number[] = [];
    // Every 15 s for 5 minutes the load swings between 20 and 5 req/s, then stays at 5.
    for (let i = 0; i < 45; i++) {
      const now = NOW + i * 15_000;
      const requestRate = i < 20 && i % 2 === 0 ? 20 : 5;
      const r = recommend({ policy: p, current, requestRate, history, now });
      desired.push(r.desired);
      current = r.desired;
      history = r.history;
    }
    // The last peak is at i = 18 (270 s); 300 s later is i = 38.
    expect(desired.slice(0, 38)).toEqual(Array(38).fill(4));
    expect(desired.slice(38)).toEqual(Array(7).fill(1));
  });
});

describe('recommend: the history written back', () => {
  test('appends the clamped recommendation and drops what aged out of both windows', () => {
    const r = run(policy(), 4, { requestRate: 100 }, [
      { at: ago(400), replicas: 9 },
      { at: ago(100), replicas: 10 },
    ]);
    expect(r.history).toEqual([{ at: NOW, replicas: 10 }]);
  });

  test('keeps what may still decide a window, drops what a newer entry overrides', () => {
    // Scale-down window only: 3 is overridden by the newer 5, which outlives it.
    const r = run(policy(), 5, { requestRate: 9.5 }, [
      { at: ago(200), replicas: 3 },
      { at: ago(100), replicas: 5 },
      { at: ago(50), replicas: 4 },
    ]);
    expect(r.history).toEqual([
      { at: ago(100), replicas: 5 },
      { at: ago(50), replicas: 4 },
      { at: NOW, replicas: 2 },
    ]);
  });

  test('keeps the lows too while a scale-up window is configured', () => {
    const r = run(policy({ scaleUpStabilizationSeconds: 60 }), 3, { requestRate: 20 }, [
      { at: ago(200), replicas: 6 },
      { at: ago(40), replicas: 2 },
      { at: ago(20), replicas: 3 },
    ]);
    expect(r.desired).toBe(3);
    expect(r.history).toEqual([
      { at: ago(200), replicas: 6 },
      { at: ago(40), replicas: 2 },
      { at: ago(20), replicas: 3 },
      { at: NOW, replicas: 4 },
    ]);
  });

  test('holding for a missing metric records no recommendation', () => {
    const r = run(policy(), 4, {}, [{ at: ago(100), replicas: 4 }]);
    expect(r.history).toEqual([{ at: ago(100), replicas: 4 }]);
  });

  test('never holds more than 128 entries: the oldest, closest to expiring, go first', () => {
    const history = Array.from({ length: 200 }, (_, i) => ({ at: ago(299 - i), replicas: 1000 - i }));
    const r = run(policy({ maxReplicas: 1000 }), 801, { requestRate: 5 }, history);
    expect(r.history).toHaveLength(128);
    expect(r.history[0]).toEqual({ at: ago(299 - 73), replicas: 927 });
    expect(r.history.at(-1)).toEqual({ at: NOW, replicas: 1 });
  });

  test('thinning never changes a decision: the same load with the full history decides the same', () => {
    const p = policy({ scaleUpStabilizationSeconds: 60, scaleDownStabilizationSeconds: 300 });
    let seed = 42;
    const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const thinned = { current: 3, history: [] as Recommendation[] };
    const full = { current: 3, history: [] as Recommendation[] };
    const decisions = new Set<number>();
    for (let i = 0; i < 300; i++) {
      // A daily-ish swell with noise on top, sampled every 10 s.
      const requestRate = Math.max(0, 25 + 20 * Math.sin(i / 12) + (random() - 0.5) * 20);
      const input: Omit<RecommendInput, 'current' | 'history'> = { policy: p, requestRate, now: NOW + i * 10_000 };
      const a = recommend({ ...input, current: thinned.current, history: thinned.history });
      const b = recommend({ ...input, current: full.current, history: full.history });
      expect(a.desired).toBe(b.desired);
      decisions.add(a.desired);
      expect(a.history.length).toBeLessThanOrEqual(b.history.length);
      thinned.current = a.desired;
      thinned.history = a.history;
      full.current = b.desired;
      full.history = [...full.history, b.history.at(-1)!];
    }
    // The load really moved the Deployment, so the comparison means something.
    expect(decisions.size).toBeGreaterThanOrEqual(4);
  });
});

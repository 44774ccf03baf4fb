// Replica ratio: weights become pod counts, never leaving stable empty before full weight.
import { describe, expect, test } from '@jest/globals';
import { gatewaySplit, splitReplicas } from './split.ts';

describe('splitReplicas', () => {
  test.each([
    // total, weight → stable, canary, effective
    [10, 0, 10, 0, 0],
    [10, 20, 8, 2, 20],
    [10, 50, 5, 5, 50],
    [10, 100, 0, 10, 100],
    [1, 20, 1, 1, 50],
    [1, 100, 0, 1, 100],
    [3, 10, 2, 1, 33],
    [4, 90, 1, 4, 80],
    [0, 50, 0, 0, 0],
  ])('%i replicas at weight %i → stable %i, canary %i (effective %i%%)', (total, weight, stable, canary, effective) => {
    expect(splitReplicas(total, weight)).toEqual({ stable, canary, effectiveWeight: effective });
  });

  test.each([
    [-1, 10],
    [1.5, 10],
    [3, 101],
    [3, Number.NaN],
  ])('rejects total %p, weight %p', (total, weight) => {
    expect(() => splitReplicas(total, weight)).toThrow(RangeError);
  });
});

describe('gatewaySplit', () => {
  test.each([
    [4, 0, 4, 1],
    [4, 20, 4, 1],
    [4, 50, 4, 2],
    [4, 100, 4, 4],
    [0, 50, 0, 0],
  ])('%i replicas at weight %i: stable %i, canary %i', (total, weight, stable, canary) => {
    const s = gatewaySplit(total, weight);
    expect([s.stable, s.canary]).toEqual([stable, canary]);
    expect(s.effectiveWeight).toBe(total === 0 ? 0 : weight);
  });
});

// Replica ratio: weights become pod counts, never leaving stable empty before full weight.
import { describe, expect, test } from '@jest/globals';
import { gatewaySplit, shadowSplit, splitReplicas } from './split.ts';

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

describe('shadowSplit: a dark launch keeps stable whole and sizes the canary for its mirrored share', () => {
  test.each([
    [4, 0.5, 4, 2],
    [4, 0.2, 4, 1],
    [10, 0.25, 10, 3],
    [1, 1, 1, 1],
    [3, 0.01, 3, 1],
    [0, 0.5, 0, 0],
  ])('%i replicas mirroring %p: stable %i, canary %i, no client weight', (total, rate, stable, canary) => {
    expect(shadowSplit(total, rate)).toEqual({ stable, canary, effectiveWeight: 0 });
  });

  test.each([
    [-1, 0.5],
    [2, 0],
    [2, 1.5],
  ])('rejects total %p, sample rate %p', (total, rate) => {
    expect(() => shadowSplit(total, rate)).toThrow(RangeError);
  });
});

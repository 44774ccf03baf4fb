import { describe, test, expect } from '@jest/globals';
import { binIndex, psi, shares } from './psi.ts';

describe('binIndex', () => {
  const edges = [0, 1, 2];
  test.each([
    [-5, 0],
    [0, 1],
    [0.5, 1],
    [1, 2],
    [1.99, 2],
    [2, 3],
    [1e9, 3],
    [-Infinity, 0],
    [Infinity, 3],
    [Number.NaN, -1],
  ])('%p falls in bin %p', (x, bin) => {
    expect(binIndex(edges, x)).toBe(bin);
  });
});

describe('psi', () => {
  test.each([
    ['identical distributions', [0.25, 0.25, 0.5], [25, 25, 50], 0],
    ['identical up to scale', [1, 1], [500, 500], 0],
    // (0.5-0.25)ln(2) + (0.5-0.75)ln(2/3)
    ['a moderate shift', [0.25, 0.75], [50, 50], 0.25 * Math.log(2) - 0.25 * Math.log(2 / 3)],
  ])('%s', (_what, expected, actual, value) => {
    expect(psi(expected, actual)).toBeCloseTo(value, 10);
  });

  test('an empty actual bin is floored, so a shift is large but finite', () => {
    const v = psi([0.5, 0.5], [100, 0]);
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeGreaterThan(2);
  });

  test.each([
    ['no data yet', [0.5, 0.5], [0, 0]],
    ['mismatched bins', [0.5, 0.5], [1, 2, 3]],
  ])('undefined (NaN) with %s', (_what, e, a) => {
    expect(psi(e, a)).toBeNaN();
  });

  test('shares normalise counts', () => {
    expect(shares([1, 3])).toEqual([0.25, 0.75]);
    expect(shares([0, 0])).toEqual([0, 0]);
  });
});

import { describe, test, expect } from '@jest/globals';
import { DataQualityBreaker } from './breaker.ts';
import { SlidingHistogram, SlidingRatio } from './window.ts';

describe('SlidingHistogram', () => {
  test('keeps only the last N observations', () => {
    const h = new SlidingHistogram(3, 4);
    for (const b of [0, 0, 1, 2, 2, -1]) h.add(b);
    // Window now holds [1, 2, 2, -1].
    expect(h.counts()).toEqual([0, 1, 2]);
    expect(h.size()).toBe(4);
    expect(h.missingRatio()).toBe(0.25);
  });
});

describe('SlidingRatio', () => {
  test('ratio over the window', () => {
    const r = new SlidingRatio(3);
    expect(r.ratio()).toBe(0);
    for (const v of [true, true, false, false]) r.add(v);
    expect(r.ratio()).toBeCloseTo(1 / 3);
  });
});

describe('DataQualityBreaker', () => {
  test.each([
    ['stays closed below the threshold', [true, false, false, false], false],
    ['stays closed before the window is full', [true, true, true], false],
    ['opens above the threshold on a full window', [true, true, true, false], true],
  ])('%s', (_what, outcomes, open) => {
    const b = new DataQualityBreaker({ threshold: 0.5, window: 4 });
    for (const bad of outcomes) b.record(bad);
    expect(b.isOpen()).toBe(open);
  });

  test('closes again once the bad share falls to half the threshold', () => {
    const b = new DataQualityBreaker({ threshold: 0.5, window: 4 });
    for (let i = 0; i < 4; i++) b.record(true);
    expect(b.isOpen()).toBe(true);
    b.record(false);
    b.record(false);
    expect(b.isOpen()).toBe(true); // 50%: not recovered yet
    b.record(false);
    expect(b.isOpen()).toBe(false); // 25%
  });
});

import { describe, test, expect } from '@jest/globals';
import { FeedbackStore } from './feedback.ts';
import { agrees, predictionsOf, resolvePrediction } from './prediction.ts';
import type { Tensor } from '../protocol/tensor.ts';

describe('FeedbackStore', () => {
  test('scores classifier labels once, reports unknown and mismatched ids', () => {
    const s = new FeedbackStore(10, 60_000);
    s.remember('a', [1]);
    s.remember('b', [0, 2]);
    const r = s.score(
      [
        { id: 'a', label: 1 },
        { id: 'b', label: [0, 1] },
        { id: 'nope', label: 1 },
      ],
      'classifier',
    );
    expect(r).toMatchObject({ scored: 3, correct: 2, unknown: ['nope'], mismatched: [] });
    expect(s.score([{ id: 'a', label: 1 }], 'classifier').unknown).toEqual(['a']);
    s.remember('c', [1, 1]);
    expect(s.score([{ id: 'c', label: 1 }], 'classifier').mismatched).toEqual(['c']);
  });

  test('regressors get absolute errors', () => {
    const s = new FeedbackStore(10, 60_000);
    s.remember('a', [2.5]);
    expect(s.score([{ id: 'a', label: 1 }], 'regressor').absoluteErrors).toEqual([1.5]);
  });

  test('memory is bounded by capacity and entries expire', () => {
    let now = 0;
    const s = new FeedbackStore(100, 1000, () => now);
    for (let i = 0; i < 10_000; i++) s.remember(`id${i}`, [0]);
    expect(s.size()).toBe(100);
    expect(s.score([{ id: 'id0', label: 0 }], 'classifier').unknown).toEqual(['id0']);
    now = 2000;
    expect(s.score([{ id: 'id9999', label: 0 }], 'classifier').unknown).toEqual(['id9999']);
  });

  test('expired entries leave when new ones arrive, under capacity too, oldest first', () => {
    let now = 0;
    const s = new FeedbackStore(100, 1000, () => now);
    s.remember('a', [0]);
    now = 500;
    s.remember('b', [0]);
    s.score([{ id: 'b', label: 0 }], 'classifier');
    now = 1200;
    s.remember('c', [0]);
    expect(s.size()).toBe(1);
    expect(s.heldRows()).toBe(1);
    now = 2100;
    s.remember('d', [0]);
    expect(s.size()).toBe(2);
    now = 2300;
    s.remember('e', [0]);
    expect(s.size()).toBe(2);
    expect(s.score([{ id: 'd', label: 0 }, { id: 'e', label: 0 }], 'classifier').scored).toBe(2);
  });

  test('capacity counts rows: big requests evict several small ones, and one larger than capacity is not kept', () => {
    const s = new FeedbackStore(10, 60_000);
    for (let i = 0; i < 10; i++) s.remember(`small${i}`, [0]);
    s.remember('big', new Array<number>(4).fill(1));
    expect(s.heldRows()).toBe(10);
    expect(s.size()).toBe(7);
    s.remember('huge', new Array<number>(11).fill(1));
    expect(s.score([{ id: 'huge', label: 1 }], 'classifier').unknown).toEqual(['huge']);
    expect(s.heldRows()).toBe(10);
  });
});

describe('predictions', () => {
  const probs: Tensor = { name: 'p', datatype: 'FP32', shape: [2, 3], data: Float32Array.from([0.1, 0.7, 0.2, 0.6, 0.3, 0.1]) };
  const label: Tensor = { name: 'label', datatype: 'INT64', shape: [2], data: BigInt64Array.from([1n, 0n]) };
  const value: Tensor = { name: 'v', datatype: 'FP32', shape: [2, 1], data: Float32Array.from([1.5, -2]) };

  test.each([
    ['an integer label output is read as the class', [probs, label], 'auto' as const, [1, 0], 'classifier'],
    ['score rows give their argmax', [probs], 'auto' as const, [1, 0], 'classifier'],
    ['a single column is a regression value', [value], 'auto' as const, [1.5, -2], 'regressor'],
  ])('%s', (_what, outputs, task, expected, resolvedTask) => {
    const rule = resolvePrediction(
      outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: [-1, ...o.shape.slice(1)] })),
      task,
    )!;
    expect(rule.task).toBe(resolvedTask);
    expect(predictionsOf(outputs, rule)).toEqual(expected);
  });

  test.each([
    ['classifier', 1, 1, true],
    ['classifier', 1, 2, false],
    ['regressor', 100, 100.5, true],
    ['regressor', 100, 102, false],
  ] as const)('%s %p vs %p agree: %p', (task, a, b, expected) => {
    expect(agrees(task, a, b)).toBe(expected);
  });
});

describe('FeedbackStore work per request', () => {
  // The store's own count of queue slots visited stands for its work: a count, not a clock,
  // so the bound holds on any machine. At capacity each insert evicts, and labels leave dead
  // slots behind (the case that made a Map-ordered store walk its deletion holes on every insert).
  test('a million inserts into a full store of 1,000 rows, a third of them scored, cost a constant per insert', () => {
    let now = 0;
    const s = new FeedbackStore(1000, 60_000, () => now);
    const inserts = 1_000_000;
    for (let i = 0; i < inserts; i++) {
      now = i / 1000;
      s.remember(`id${i}`, [i % 3]);
      if (i % 3 === 0) s.score([{ id: `id${i - 300}`, label: 0 }], 'classifier');
      if (i % 7 === 0) s.remember(`id${i - 10}`, [0]); // a client reusing an id
    }
    expect(s.heldRows()).toBeLessThanOrEqual(1000);
    expect(s.heldRows()).toBeGreaterThan(990); // the last label took one
    expect(s.work()).toBeLessThan(4 * inserts);
    expect(s.work()).toBeGreaterThan(inserts / 2); // it did evict
  });

  test('expiry alone, never full, also evicts in order at constant cost', () => {
    let now = 0;
    const s = new FeedbackStore(1_000_000, 100, () => now);
    for (let i = 0; i < 200_000; i++) {
      now = i;
      s.remember(`id${i}`, [0]);
    }
    expect(s.size()).toBe(100);
    expect(s.score([{ id: 'id199899', label: 0 }], 'classifier').unknown).toEqual(['id199899']);
    expect(s.score([{ id: 'id199900', label: 0 }], 'classifier').scored).toBe(1);
    expect(s.work()).toBeLessThan(3 * 200_000);
  });
});

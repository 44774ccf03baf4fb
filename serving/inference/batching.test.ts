import { describe, test, expect } from '@jest/globals';
import { batchKey, mergeBatch, splitBatch } from './batching.ts';
import type { Tensor } from '../protocol/tensor.ts';

const t = (name: string, shape: number[], values: number[]): Tensor => ({ name, datatype: 'FP32', shape, data: Float32Array.from(values) });

describe('batching', () => {
  test.each([
    ['same tail dims', [t('x', [1, 2], [0, 0])], [t('x', [5, 2], new Array<number>(10).fill(0))], true],
    ['different tail dims', [t('x', [1, 2], [0, 0])], [t('x', [1, 3], [0, 0, 0])], false],
    ['different names', [t('x', [1, 2], [0, 0])], [t('y', [1, 2], [0, 0])], false],
  ])('batch key: %s → compatible %s', (_what, a, b, same) => {
    expect(batchKey(a) === batchKey(b)).toBe(same);
  });

  test('merge stacks rows in request order and split gives each request its own rows', () => {
    const merged = mergeBatch([[t('x', [1, 2], [1, 2])], [t('x', [2, 2], [3, 4, 5, 6])]]);
    expect(merged[0]!.shape).toEqual([3, 2]);
    expect(Array.from(merged[0]!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    const parts = splitBatch([t('y', [3, 1], [10, 20, 30]), t('z', [3], [7, 8, 9])], [1, 2]);
    expect(parts.map((p) => p.map((o) => [o.name, o.shape, Array.from(o.data as Float32Array)]))).toEqual([
      [['y', [1, 1], [10]], ['z', [1], [7]]],
      [['y', [2, 1], [20, 30]], ['z', [2], [8, 9]]],
    ]);
  });

  test('a single request passes through without a copy', () => {
    const input = [t('x', [1, 2], [1, 2])];
    expect(mergeBatch([input])[0]!.data).toBe(input[0]!.data);
  });

  test('an output whose rows do not match the batch is an error, not a wrong answer', () => {
    expect(() => splitBatch([t('y', [2], [1, 2])], [1, 2])).toThrow(/has 2 rows, the batch had 3/);
  });
});

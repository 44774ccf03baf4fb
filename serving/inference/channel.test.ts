import { describe, test, expect } from '@jest/globals';
import { Arena, createChannel } from './channel.ts';
import type { JobResult } from './channel.ts';
import type { Tensor } from '../protocol/tensor.ts';

const fp32 = (name: string, shape: number[], values: number[]): Tensor => ({ name, datatype: 'FP32', shape, data: Float32Array.from(values) });

describe('shared-memory channel', () => {
  test('a group of jobs round-trips with names, datatypes, shapes and values', () => {
    const arena = new Arena(createChannel(4096).input);
    const jobs: Tensor[][] = [
      [fp32('input', [2, 2], [1, 2, 3, 4]), { name: 'ids', datatype: 'INT64', shape: [2], data: BigInt64Array.from([7n, -1n]) }],
      [{ name: 'flags', datatype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) }, fp32('scalar', [], [0.5])],
    ];
    expect(arena.writeJobs(jobs)).toBe(true);
    const read = arena.readJobs();
    expect(read).toEqual(jobs);
    // The copies own plain buffers, so they survive the arena's next group.
    expect(read[0]![0]!.data.buffer).not.toBe(jobs[0]![0]!.data.buffer);
    expect(Object.prototype.toString.call(read[0]![0]!.data.buffer)).toBe('[object ArrayBuffer]');
  });

  test('the worker can read its inputs as views of the arena, aligned for any element size', () => {
    const channel = createChannel(4096);
    const jobs: Tensor[][] = [[fp32('odd', [3], [1, 2, 3]), { name: 'i64', datatype: 'INT64', shape: [1], data: BigInt64Array.from([9n]) }]];
    expect(new Arena(channel.input).writeJobs(jobs)).toBe(true);
    const read = new Arena(channel.input).readJobs(true);
    expect(read).toEqual(jobs);
    expect(read[0]![1]!.data.buffer).toBe(channel.input);
    expect(read[0]![1]!.data.byteOffset % 8).toBe(0);
  });

  test('a stack is written as the merged batch: rows summed, data concatenated in request order', () => {
    const arena = new Arena(createChannel(4096).input);
    const a = [fp32('x', [2, 2], [1, 2, 3, 4]), { name: 'ids', datatype: 'INT64', shape: [2], data: BigInt64Array.from([1n, 2n]) } as Tensor];
    // Inputs in another order: stacked by name, not position.
    const b = [{ name: 'ids', datatype: 'INT64', shape: [1], data: BigInt64Array.from([3n]) } as Tensor, fp32('x', [1, 2], [5, 6])];
    expect(arena.writeJobs([{ stack: [a, b] }, [fp32('y', [1], [9])]])).toBe(true);
    expect(arena.readJobs()).toEqual([
      [fp32('x', [3, 2], [1, 2, 3, 4, 5, 6]), { name: 'ids', datatype: 'INT64', shape: [3], data: BigInt64Array.from([1n, 2n, 3n]) }],
      [fp32('y', [1], [9])],
    ]);
    expect(() => arena.writeJobs([{ stack: [a, [fp32('other', [1, 2], [0, 0])]] }])).toThrow(/lacks input "x"/);
  });

  test('results carry outputs, compute time and per-job errors', () => {
    const arena = new Arena(createChannel(4096).output);
    const results: JobResult[] = [
      { outputs: [fp32('probabilities', [1, 3], [0.1, 0.2, 0.7])], computeSeconds: 0.00002 },
      { error: 'input "x": unexpected shape — ünïcode' },
    ];
    expect(arena.writeResults(results)).toBe(true);
    expect(arena.readResults()).toEqual(results);
  });

  test('a group larger than the arena is refused, for the caller to post instead', () => {
    const arena = new Arena(createChannel(256).input);
    expect(arena.writeJobs([[fp32('x', [64], new Array<number>(64).fill(1))]])).toBe(false);
    const half = fp32('x', [1, 32], new Array<number>(32).fill(1));
    expect(arena.writeJobs([{ stack: [[half], [half]] }])).toBe(false);
    expect(arena.writeResults([{ outputs: [fp32('y', [64], new Array<number>(64).fill(1))], computeSeconds: 0 }])).toBe(false);
  });
});

import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { tabularClassifier, corruptModel, unsupportedOpsetModel } from '../../test/fixtures/onnxModels.ts';
import { ModelLoadError } from '../errors.ts';
import { WorkerPool } from './pool.ts';
import { Scheduler } from './scheduler.ts';
import type { Tensor } from '../protocol/tensor.ts';

function input(rows: number[][]): Tensor[] {
  return [{ name: 'input', datatype: 'FP32', shape: [rows.length, 4], data: Float32Array.from(rows.flat()) }];
}

describe('worker pool', () => {
  let pool: WorkerPool;
  beforeAll(async () => {
    pool = await WorkerPool.start({ model: tabularClassifier(), size: 2, intraOpThreads: 1, spinning: false });
  });
  afterAll(async () => {
    await pool.close();
  });

  test('reads the signature from the ONNX graph', () => {
    expect(pool.signature).toEqual({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
    });
    expect(pool.size()).toBe(2);
    expect(pool.idle()).toBe(2);
  });

  test('runs a session inside a worker thread', async () => {
    const r = await pool.run(input([[1, 2, 3, 4]]));
    const probs = r.outputs.find((o) => o.name === 'probabilities')!;
    expect(probs.shape).toEqual([1, 3]);
    const sum = Array.from(probs.data as Float32Array).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 5);
    expect(Object.prototype.toString.call(r.outputs.find((o) => o.name === 'label')!.data)).toBe('[object BigInt64Array]');
  });

  test('a group runs each job on its own and answers each, errors included', async () => {
    const wrongShape: Tensor[] = [{ name: 'input', datatype: 'FP32', shape: [1, 5], data: new Float32Array(5) }];
    const [a, bad, b] = pool.runGroup([input([[1, 2, 3, 4]]), wrongShape, input([[0, 0, 0, 1], [1, 1, 1, 1]])]);
    expect((await a!).outputs[0]!.shape).toEqual([1, 3]);
    await expect(bad).rejects.toThrow(/the model rejected the input: Got invalid dimensions/);
    expect((await b!).outputs[0]!.shape).toEqual([2, 3]);
    expect(pool.idle()).toBe(2);
  });

  test('stacked requests run as one batch; a stack that cannot be stacked fails before claiming a worker', async () => {
    const [stacked] = pool.runGroup([{ stack: [input([[1, 2, 3, 4]]), input([[0, 0, 0, 1], [4, 3, 2, 1]])] }]);
    const merged = await pool.run(input([[1, 2, 3, 4], [0, 0, 0, 1], [4, 3, 2, 1]]));
    expect(Array.from((await stacked!).outputs[0]!.data as Float32Array)).toEqual(Array.from(merged.outputs[0]!.data as Float32Array));
    const other: Tensor[] = [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }];
    expect(() => pool.runGroup([{ stack: [input([[1, 2, 3, 4]]), other] }])).toThrow(/lacks input "input"/);
    expect(pool.idle()).toBe(2);
    // Too large for the arena: merged and posted instead, same answer.
    const rows = Array.from({ length: 150_000 }, (_, i) => [i % 5, 1, 2, 3]);
    const [big] = pool.runGroup([{ stack: [input(rows), input(rows)] }]);
    const out = (await big!).outputs[0]!;
    expect(out.shape).toEqual([300_000, 3]);
    expect(Array.from(out.data.subarray(0, 15) as Float32Array)).toEqual(Array.from(out.data.subarray(450_000, 450_015) as Float32Array));
  });

  test('a group too large for the shared arena travels by message and gives the same answer', async () => {
    const rows = Array.from({ length: 300_000 }, (_, i) => [i % 7, 1, 2, 3]);
    const big = await pool.run(input(rows));
    const small = await pool.run(input(rows.slice(0, 7)));
    expect(big.outputs[0]!.shape).toEqual([300_000, 3]);
    expect(Array.from(big.outputs[0]!.data.subarray(0, 21) as Float32Array)).toEqual(Array.from(small.outputs[0]!.data as Float32Array));
  });

  test('the scheduler cuts groups to fit the arena, so queued large requests never go by message', async () => {
    const scheduler = new Scheduler(pool, { batching: false, maxBatchSize: 1, maxDelayMs: 0, queueBound: 100 });
    // Cheap runs first, so the compute budget alone would allow large groups.
    for (let i = 0; i < 40; i++) await scheduler.submit(input([[i, 1, 2, 3]]), 1);
    // Twelve requests of 1 MB queued at once: six per worker, more than one arena holds.
    const rows = Array.from({ length: 62_500 }, (_, i) => [i % 3, 1, 2, 3]);
    const posted = pool.postedGroups;
    const answers = await Promise.all(Array.from({ length: 12 }, () => scheduler.submit(input(rows), rows.length)));
    expect(answers.map((a) => a.outputs[0]!.shape[0])).toEqual(new Array(12).fill(62_500));
    expect(pool.postedGroups).toBe(posted);
    // One request alone larger than the arena still goes by message.
    const huge = Array.from({ length: 300_000 }, () => [1, 1, 2, 3]);
    await scheduler.submit(input(huge), huge.length);
    expect(pool.postedGroups).toBe(posted + 1);
  });

  test('batched results equal the results of single requests', async () => {
    const rowsA = [[1, 2, 3, 4], [0, 0, 0, 1]];
    const rowsB = [[-1, 0.5, 2, 0]];
    const singleA = await pool.run(input(rowsA));
    const singleB = await pool.run(input(rowsB));
    const scheduler = new Scheduler(pool, { batching: true, maxBatchSize: 8, maxDelayMs: 20, queueBound: 10 });
    const [a, b] = await Promise.all([scheduler.submit(input(rowsA), 2), scheduler.submit(input(rowsB), 1)]);
    expect(a.batchRows).toBe(3);
    expect(Array.from(a.outputs[0]!.data as Float32Array)).toEqual(Array.from(singleA.outputs[0]!.data as Float32Array));
    expect(Array.from(b.outputs[0]!.data as Float32Array)).toEqual(Array.from(singleB.outputs[0]!.data as Float32Array));
  });
});

describe('a worker that dies', () => {
  test('fails only the job it held and is replaced', async () => {
    const pool = await WorkerPool.start({ model: tabularClassifier({ slowLayers: 3 }), size: 1, intraOpThreads: 1, spinning: false });
    try {
      const job = pool.run(input([[1, 2, 3, 4]]));
      // Reach into the pool as a crash would: the worker disappears mid-job.
      const slots = (pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots;
      await slots[0]!.worker.terminate();
      await expect(job).rejects.toThrow(/worker exited/);
      const replaced = new Promise<void>((resolve) => (pool.onIdle = resolve));
      await replaced;
      expect(pool.size()).toBe(1);
      const r = await pool.run(input([[1, 2, 3, 4]]));
      expect(r.outputs[0]!.shape).toEqual([1, 3]);
    } finally {
      await pool.close();
    }
  });
});

describe('a model that cannot load', () => {
  test.each([
    ['corrupt bytes', corruptModel(), /protobuf parsing failed/i],
    ['an unsupported opset', unsupportedOpsetModel(), /Opset 999/],
  ])('%s is a ModelLoadError', async (_what, model, message) => {
    const started = WorkerPool.start({ model, size: 1, intraOpThreads: 1, spinning: false });
    await expect(started).rejects.toBeInstanceOf(ModelLoadError);
    await expect(started).rejects.toThrow(message);
  });
});

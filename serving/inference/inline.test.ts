import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { tabularClassifier } from '../../test/fixtures/onnxModels.ts';
import type { Tensor } from '../protocol/tensor.ts';
import { RunCost } from './inline.ts';
import type { InlineRunner } from './inline.ts';
import { WorkerPool } from './pool.ts';
import type { RunResult } from './pool.ts';
import { Scheduler } from './scheduler.ts';

function input(rows: number[][]): Tensor[] {
  return [{ name: 'input', datatype: 'FP32', shape: [rows.length, 4], data: Float32Array.from(rows.flat()) }];
}

// The scheduler's choice of path, tested with a second real session as the inline runner.
// It lives in a worker thread of its own pool: Jest runs tests in a vm context, where
// onnxruntime's output arrays (made in Node's main realm) fail its own instanceof checks, so
// a session on this thread cannot run here. The real process runs the InlineSession itself
// (main.test.ts), and the ready log line says whether the path opened.
// Runs are chained: the real inline session runs one after another on its thread too.
class Counted implements InlineRunner {
  runs = 0;
  readonly inner: WorkerPool;
  private last: Promise<unknown> = Promise.resolve();
  constructor(inner: WorkerPool) {
    this.inner = inner;
  }
  run(inputs: readonly Tensor[]): Promise<RunResult> {
    this.runs++;
    const next = this.last.then(() => this.inner.run([...inputs]));
    this.last = next.catch(() => {});
    return next;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function learnt(perRowSeconds: number, rows = 1): RunCost {
  const cost = new RunCost();
  cost.observe(rows, perRowSeconds * rows);
  return cost;
}

describe('RunCost', () => {
  test('estimates from the nearest smaller bucket seen, per row, and learns larger batches', () => {
    const cost = new RunCost();
    expect(cost.estimate(1)).toBe(Number.POSITIVE_INFINITY);
    cost.observe(1, 10e-6);
    expect(cost.estimate(1)).toBeCloseTo(10e-6, 12);
    // 64 rows never seen: extrapolated from one row, which overestimates.
    expect(cost.estimate(64)).toBeCloseTo(640e-6, 12);
    cost.observe(64, 20e-6);
    expect(cost.estimate(64)).toBeCloseTo(20e-6, 12);
    // 100 rows: the 128 bucket is unseen, the 64 bucket's per-row cost scales.
    expect(cost.estimate(100)).toBeCloseTo((20e-6 / 64) * 100, 12);
    // Only larger buckets seen: the nearest larger one answers.
    const big = new RunCost();
    big.observe(32, 64e-6);
    expect(big.estimate(2)).toBeCloseTo(4e-6, 12);
  });

  test('moves towards new observations rather than jumping', () => {
    const cost = new RunCost();
    cost.observe(1, 10e-6);
    cost.observe(1, 1e-3);
    const after = cost.estimate(1);
    expect(after).toBeGreaterThan(10e-6);
    expect(after).toBeLessThan(1e-3);
    cost.observe(0, 1);
    cost.observe(1, Number.NaN);
    expect(cost.estimate(1)).toBe(after);
  });
});

describe('the idle fast path', () => {
  let pool: WorkerPool;
  let inline: Counted;
  beforeAll(async () => {
    const model = tabularClassifier();
    pool = await WorkerPool.start({ model, size: 1, intraOpThreads: 1, spinning: false });
    inline = new Counted(await WorkerPool.start({ model, size: 1, intraOpThreads: 1, spinning: false }));
  });
  afterAll(async () => {
    await inline.close();
    await pool.close();
  });

  test('runs a lone request inline with the same answer a worker gives', async () => {
    const rows = [[1, 2, 3, 4], [0.5, -1, 2, 0]];
    const fromWorker = await pool.run(input(rows));
    const scheduler = new Scheduler(pool, { batching: true, maxBatchSize: 32, maxDelayMs: 0, queueBound: 10 });
    scheduler.setInline(inline, 100e-6, learnt(1e-6));
    const before = inline.runs;
    const r = await scheduler.submit(input(rows), 2);
    expect(inline.runs).toBe(before + 1);
    expect(r.outputs.map((t) => t.name).sort()).toEqual(['label', 'probabilities']);
    const probs = (o: Tensor[]) => Array.from(o.find((t) => t.name === 'probabilities')!.data as Float32Array);
    expect(probs(r.outputs)).toEqual(probs(fromWorker.outputs));
    expect(r.computeSeconds).toBeGreaterThan(0);
  });

  test('requests that arrive together go to the workers, merged', async () => {
    const scheduler = new Scheduler(pool, { batching: true, maxBatchSize: 32, maxDelayMs: 0, queueBound: 100 });
    scheduler.setInline(inline, 100e-6, learnt(1e-6));
    const before = inline.runs;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => scheduler.submit(input([[i, 1, 2, 3]]), 1)));
    expect(inline.runs).toBe(before);
    expect(answers.every((a) => a.batchRows === 8)).toBe(true);
  });

  test('nothing runs inline while a worker is busy', async () => {
    // The slow fixture (~15 ms a row) keeps the worker busy while the third request arrives.
    const slowPool = await WorkerPool.start({ model: tabularClassifier({ slowLayers: 3 }), size: 1, intraOpThreads: 1, spinning: false });
    try {
      const scheduler = new Scheduler(slowPool, { batching: false, maxBatchSize: 1, maxDelayMs: 0, queueBound: 100 });
      scheduler.setInline(inline, 100e-6, learnt(1e-6));
      const before = inline.runs;
      const first = [scheduler.submit(input([[1, 2, 3, 4]]), 1), scheduler.submit(input([[2, 2, 3, 4]]), 1)];
      await new Promise((r) => setImmediate(r));
      expect(scheduler.pending()).toBe(2);
      const third = scheduler.submit(input([[3, 2, 3, 4]]), 1);
      await Promise.all([...first, third]);
      expect(inline.runs).toBe(before);
    } finally {
      await slowPool.close();
    }
  });

  test('a request estimated above the bound goes to a worker, and the worker runs teach the estimate', async () => {
    const scheduler = new Scheduler(pool, { batching: false, maxBatchSize: 1, maxDelayMs: 0, queueBound: 10 });
    // 50 µs per row learnt: one row fits a 100 µs bound, three rows do not.
    scheduler.setInline(inline, 100e-6, learnt(50e-6));
    const before = inline.runs;
    await scheduler.submit(input([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]), 3);
    expect(inline.runs).toBe(before);
    // An estimate of 1 ms per row: everything goes to the worker, whose measured runs pull
    // the estimate down until requests fit the bound and run inline again.
    const slow = new Scheduler(pool, { batching: false, maxBatchSize: 1, maxDelayMs: 0, queueBound: 10 });
    slow.setInline(inline, 100e-6, learnt(1e-3));
    let inlined = 0;
    let sent = 0;
    for (; sent < 100 && inlined === 0; sent++) {
      const runs = inline.runs;
      await slow.submit(input([[1, 2, 3, 4]]), 1);
      inlined = inline.runs - runs;
    }
    expect(sent).toBeGreaterThan(1);
    expect(inlined).toBe(1);
  });

  test('an explicit batching delay keeps lone requests waiting for company', async () => {
    const scheduler = new Scheduler(pool, { batching: true, maxBatchSize: 32, maxDelayMs: 5, queueBound: 10 });
    scheduler.setInline(inline, 100e-6, learnt(1e-6));
    const before = inline.runs;
    await scheduler.submit(input([[1, 2, 3, 4]]), 1);
    expect(inline.runs).toBe(before);
  });

  test('an onnxruntime error fails the request alone and the path keeps serving', async () => {
    const scheduler = new Scheduler(pool, { batching: false, maxBatchSize: 1, maxDelayMs: 0, queueBound: 10 });
    scheduler.setInline(inline, 100e-6, learnt(1e-6));
    const wrong: Tensor[] = [{ name: 'input', datatype: 'FP32', shape: [1, 5], data: new Float32Array(5) }];
    const before = inline.runs;
    await expect(scheduler.submit(wrong, 1)).rejects.toThrow(/inference failed/);
    expect(scheduler.pending()).toBe(0);
    const r = await scheduler.submit(input([[1, 2, 3, 4]]), 1);
    expect(r.outputs[0]!.shape[0]).toBe(1);
    expect(inline.runs).toBe(before + 2);
  });
});

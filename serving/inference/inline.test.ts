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

  test('moves towards new observations rather than jumping: one slow run at most doubles it', () => {
    const cost = new RunCost();
    cost.observe(1, 10e-6);
    cost.observe(1, 1e-3);
    // The slow run counts as 20 µs (twice the estimate): 10 + 0.2 × (20 − 10) = 12 µs.
    const after = cost.estimate(1);
    expect(after).toBeCloseTo(12e-6, 12);
    // A model that really became slow crosses a 100 µs bound within a few dozen runs.
    const slow = new RunCost();
    slow.observe(1, 10e-6);
    let runs = 0;
    while (slow.estimate(1) <= 100e-6 && runs < 100) {
      slow.observe(1, 1e-3);
      runs++;
    }
    expect(runs).toBeLessThan(20);
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
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      // Queued behind the busy worker, not run inline beside it.
      expect(scheduler.pending()).toBe(3);
      expect(inline.runs).toBe(before);
      await Promise.all([...first, third]);
    } finally {
      await slowPool.close();
    }
  });

  test('a request estimated above the bound goes to a worker; worker timings do not move the estimate', async () => {
    const scheduler = new Scheduler(pool, { batching: false, maxBatchSize: 1, maxDelayMs: 0, queueBound: 10 });
    // 50 µs per row learnt: one row fits a 100 µs bound, three rows do not.
    scheduler.setInline(inline, 100e-6, learnt(50e-6));
    const before = inline.runs;
    await scheduler.submit(input([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]), 3);
    expect(inline.runs).toBe(before);
    // The worker's timing includes its own event-loop hop: were it learnt, one worker run
    // would close the path for good. Learnt from inline runs only, the estimate stays put —
    // here, above the bound, so every request goes to the worker.
    const cost = learnt(1e-3);
    const slow = new Scheduler(pool, { batching: false, maxBatchSize: 1, maxDelayMs: 0, queueBound: 10 });
    slow.setInline(inline, 100e-6, cost);
    const runs = inline.runs;
    for (let i = 0; i < 10; i++) await slow.submit(input([[1, 2, 3, 4]]), 1);
    expect(inline.runs).toBe(runs);
    expect(cost.estimate(1)).toBeCloseTo(1e-3, 12);
    // And a cheap path stays open across requests that had to go to a worker.
    const cheap = learnt(1e-6);
    const mixed = new Scheduler(pool, { batching: false, maxBatchSize: 1, maxDelayMs: 0, queueBound: 10 });
    mixed.setInline(inline, 100e-6, cheap);
    await Promise.all([mixed.submit(input([[1, 2, 3, 4]]), 1), mixed.submit(input([[2, 2, 3, 4]]), 1)]);
    const afterWorker = inline.runs;
    await mixed.submit(input([[3, 2, 3, 4]]), 1);
    expect(inline.runs).toBe(afterWorker + 1);
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
    await expect(scheduler.submit(wrong, 1)).rejects.toThrow(/the model rejected the input: Got invalid dimensions/);
    expect(scheduler.pending()).toBe(0);
    const r = await scheduler.submit(input([[1, 2, 3, 4]]), 1);
    expect(r.outputs[0]!.shape[0]).toBe(1);
    expect(inline.runs).toBe(before + 2);
  });
});

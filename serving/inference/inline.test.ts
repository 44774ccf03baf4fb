import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { tabularClassifier } from '../../test/fixtures/onnxModels.ts';
import type { Tensor } from '../protocol/tensor.ts';
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
class Counted implements InlineRunner {
  runs = 0;
  readonly inner: WorkerPool;
  constructor(inner: WorkerPool) {
    this.inner = inner;
  }
  run(inputs: readonly Tensor[]): Promise<RunResult> {
    this.runs++;
    return this.inner.run([...inputs]);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

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

  test('runs a lone request on the inline runner with the same answer a worker gives', async () => {
    const rows = [[1, 2, 3, 4], [0.5, -1, 2, 0]];
    const fromWorker = await pool.run(input(rows));
    const scheduler = new Scheduler(pool, { batching: true, maxBatchSize: 32, maxDelayMs: 0, queueBound: 10 });
    scheduler.setInline(inline, 100e-6, 1e-6);
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
    scheduler.setInline(inline, 100e-6, 1e-6);
    const before = inline.runs;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => scheduler.submit(input([[i, 1, 2, 3]]), 1)));
    expect(inline.runs).toBe(before);
    expect(answers.every((a) => a.batchRows === 8)).toBe(true);
  });

  test('a request estimated above the bound goes to a worker, and so do all while the estimate is high', async () => {
    const scheduler = new Scheduler(pool, { batching: false, maxBatchSize: 1, maxDelayMs: 0, queueBound: 10 });
    // 50 µs per row measured: one row fits a 100 µs bound, three rows do not.
    scheduler.setInline(inline, 100e-6, 50e-6);
    const before = inline.runs;
    await scheduler.submit(input([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]), 3);
    expect(inline.runs).toBe(before);
    const slow = new Scheduler(pool, { batching: false, maxBatchSize: 1, maxDelayMs: 0, queueBound: 10 });
    slow.setInline(inline, 100e-6, 1e-3);
    // The worker's single-request runs feed the estimate: after a few it falls within bound.
    let inlined = 0;
    for (let i = 0; i < 100 && inlined === 0; i++) {
      const runs = inline.runs;
      await slow.submit(input([[1, 2, 3, 4]]), 1);
      inlined = inline.runs - runs;
    }
    expect(inlined).toBe(1);
  });

  test('an explicit batching delay keeps lone requests waiting for company', async () => {
    const scheduler = new Scheduler(pool, { batching: true, maxBatchSize: 32, maxDelayMs: 5, queueBound: 10 });
    scheduler.setInline(inline, 100e-6, 1e-6);
    const before = inline.runs;
    await scheduler.submit(input([[1, 2, 3, 4]]), 1);
    expect(inline.runs).toBe(before);
  });

  test('an onnxruntime error fails the request alone and the path keeps serving', async () => {
    const scheduler = new Scheduler(pool, { batching: false, maxBatchSize: 1, maxDelayMs: 0, queueBound: 10 });
    scheduler.setInline(inline, 100e-6, 1e-6);
    const wrong: Tensor[] = [{ name: 'input', datatype: 'FP32', shape: [1, 5], data: new Float32Array(5) }];
    await expect(scheduler.submit(wrong, 1)).rejects.toThrow(/inference failed/);
    expect(scheduler.pending()).toBe(0);
    const r = await scheduler.submit(input([[1, 2, 3, 4]]), 1);
    expect(r.outputs[0]!.shape[0]).toBe(1);
  });
});

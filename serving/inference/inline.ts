// The idle fast path. Handing a job to a worker thread costs tens of microseconds of wake-
// ups and context switches; for a model whose run takes less than that, a lone request on
// an idle server spends more time in the hand-off than in the model (at concurrency 1 the
// worker thread spent ~85 µs of CPU per request on a ~12 µs tabular run). The inline runner
// is one more session, on the event loop, that the scheduler uses only when nothing else is
// queued or running and the request's estimated run time (RunCost, learnt from its own runs)
// is within a small bound — so the event loop is never held longer than that bound, and
// never while another request waits.
import type { InferenceSession } from 'onnxruntime-node';
import { runFailed } from '../errors.ts';
import type { Tensor } from '../protocol/tensor.ts';
import type { RunResult } from './pool.ts';
import { createSession, runJob } from './session.ts';

/** Models larger than this never get a second, inline session: it would double their memory. */
export const INLINE_MAX_MODEL_BYTES = 64 * 1024 ** 2;

/** Largest row bucket: 2^20 rows and beyond share one estimate. */
const MAX_BUCKET = 20;

/**
 * What an inline run of `rows` rows costs, learnt from inline runs only (a worker's timing
 * includes its own event-loop hop, ~100 µs, and would shut the path for good): a moving
 * average of seconds per row for each power-of-two bucket of rows (per-row cost falls as
 * batches grow). One run can at most double a bucket's estimate, so a run that was merely
 * preempted on a busy machine does not close the path, while a model that really got slower
 * crosses the bound within a few runs. A bucket never seen is estimated from the nearest
 * smaller one seen — an overestimate, since rows get cheaper in larger batches — or, when
 * there is none, from the nearest larger one.
 */
export class RunCost {
  private readonly perRow: number[] = new Array<number>(MAX_BUCKET + 1).fill(Number.NaN);

  /** Records one run of `rows` rows that took `seconds`. */
  observe(rows: number, seconds: number): void {
    if (rows <= 0 || !(seconds >= 0)) return;
    const b = bucket(rows);
    const old = this.perRow[b]!;
    if (Number.isNaN(old)) {
      this.perRow[b] = seconds / rows;
      return;
    }
    const v = Math.min(seconds / rows, 2 * old);
    this.perRow[b] = old + 0.2 * (v - old);
  }

  /** Estimated seconds for a run of `rows` rows; Infinity before any run was seen. */
  estimate(rows: number): number {
    const b = bucket(Math.max(1, rows));
    for (let i = b; i >= 0; i--) if (!Number.isNaN(this.perRow[i]!)) return this.perRow[i]! * rows;
    for (let i = b + 1; i <= MAX_BUCKET; i++) if (!Number.isNaN(this.perRow[i]!)) return this.perRow[i]! * rows;
    return Number.POSITIVE_INFINITY;
  }
}

function bucket(rows: number): number {
  return Math.min(MAX_BUCKET, Math.ceil(Math.log2(rows)));
}

/** Runs single jobs on the calling thread. */
export interface InlineRunner {
  run(inputs: readonly Tensor[]): Promise<RunResult>;
  close(): Promise<void>;
}

/** A session on the event loop, one intra-op thread: compute stays on this thread. */
export class InlineSession implements InlineRunner {
  private readonly session: InferenceSession;

  private constructor(session: InferenceSession) {
    this.session = session;
  }

  /** Loads the model bytes into a main-thread session. */
  static async create(model: Uint8Array): Promise<InlineSession> {
    return new InlineSession(await createSession({ model, intraOpThreads: 1, spinning: false }));
  }

  /** Runs one job; an onnxruntime error rejects with the same answer a worker's would get. */
  async run(inputs: readonly Tensor[]): Promise<RunResult> {
    const started = performance.now();
    const r = await runJob(this.session, inputs);
    if ('error' in r) throw runFailed(r.error);
    r.computeSeconds = (performance.now() - started) / 1000;
    return r;
  }

  /** Releases the session. */
  async close(): Promise<void> {
    await this.session.release();
  }
}

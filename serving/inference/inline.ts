// The idle fast path. Handing a job to a worker thread costs tens of microseconds of wake-
// ups and context switches; for a model whose run takes less than that, a lone request on
// an idle server spends more time in the hand-off than in the model. The inline runner is
// one more session, on the event loop, that the scheduler uses only when nothing else is
// queued or running and the model's measured run time is below a small bound — so the
// event loop is never held longer than that bound, and never while anyone waits.
import type { InferenceSession } from 'onnxruntime-node';
import { inferenceFailed } from '../errors.ts';
import type { Tensor } from '../protocol/tensor.ts';
import type { RunResult } from './pool.ts';
import { createSession, runJob } from './session.ts';

/** Models larger than this never get a second, inline session: it would double their memory. */
export const INLINE_MAX_MODEL_BYTES = 64 * 1024 ** 2;

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

  /** Runs one job; an onnxruntime error rejects with the same 500 a worker would give. */
  async run(inputs: readonly Tensor[]): Promise<RunResult> {
    const started = performance.now();
    const r = await runJob(this.session, inputs);
    if ('error' in r) throw inferenceFailed(r.error);
    r.computeSeconds = (performance.now() - started) / 1000;
    return r;
  }

  /** Releases the session. */
  async close(): Promise<void> {
    await this.session.release();
  }
}

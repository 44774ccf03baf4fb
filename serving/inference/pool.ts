// A fixed pool of worker threads, one session and one job each. The scheduler decides
// what runs; the pool only knows which workers are free and keeps their number constant
// (a worker that dies is replaced, and the job it held fails alone).
import { Worker } from 'node:worker_threads';
import { ModelLoadError, inferenceFailed } from '../errors.ts';
import type { Tensor } from '../protocol/tensor.ts';
import type { Signature } from '../protocol/signature.ts';
import type { FromWorker, ToWorker, WorkerInit } from './messages.ts';


/** Output of one run on a worker. */
export interface RunResult {
  outputs: Tensor[];
  computeSeconds: number;
}

/** What the scheduler needs from whatever executes batches. */
export interface Executor {
  idle(): number;
  run(inputs: Tensor[]): Promise<RunResult>;
  /** Called whenever a worker becomes free. */
  onIdle: () => void;
}

/** Options of the pool. */
export interface PoolOptions {
  model: Uint8Array;
  size: number;
  intraOpThreads: number;
  spinning: boolean;
}

interface Job {
  seq: number;
  resolve: (r: RunResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
}

const WORKER_URL = new URL('./worker.ts', import.meta.url);

function spawn(init: WorkerInit): Promise<{ worker: Worker; signature: Signature }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: init });
    const onMessage = (msg: FromWorker): void => {
      cleanup();
      if (msg.kind === 'ready') resolve({ worker, signature: msg.signature });
      else if (msg.kind === 'load-error') reject(new ModelLoadError(`onnxruntime could not load the model: ${msg.message}`));
      else reject(new ModelLoadError(`worker sent ${msg.kind} before ready`));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new ModelLoadError(`worker failed while loading the model: ${err.message}`));
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new ModelLoadError(`worker exited with code ${code} while loading the model`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/** The worker-thread pool. */
export class WorkerPool implements Executor {
  /** The model's signature as the first worker read it from the graph. */
  readonly signature: Signature;
  onIdle: () => void = () => {};
  private readonly slots: Slot[] = [];
  private readonly init: WorkerInit;
  private seq = 0;
  private closing = false;

  private constructor(init: WorkerInit, signature: Signature) {
    this.init = init;
    this.signature = signature;
  }

  /** Starts `size` workers; rejects with ModelLoadError if the model does not load. */
  static async start(opts: PoolOptions): Promise<WorkerPool> {
    const init: WorkerInit = { model: opts.model, intraOpThreads: opts.intraOpThreads, spinning: opts.spinning };
    const results = await Promise.allSettled(Array.from({ length: Math.max(1, opts.size) }, () => spawn(init)));
    const failed = results.find((r) => r.status === 'rejected');
    const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (failed !== undefined || started.length === 0) {
      await Promise.all(started.map((s) => s.worker.terminate()));
      throw failed?.reason instanceof Error ? failed.reason : new ModelLoadError('no worker started');
    }
    const pool = new WorkerPool(init, started[0]!.signature);
    for (const s of started) pool.attach(s.worker);
    return pool;
  }

  /** Number of workers. */
  size(): number {
    return this.slots.length;
  }

  /** Number of workers without a job. */
  idle(): number {
    let n = 0;
    for (const s of this.slots) if (s.job === undefined) n++;
    return n;
  }

  /** Runs inputs on a free worker; the caller must have checked idle() > 0. */
  run(inputs: Tensor[]): Promise<RunResult> {
    const slot = this.slots.find((s) => s.job === undefined);
    if (slot === undefined) return Promise.reject(new Error('no idle worker'));
    return new Promise<RunResult>((resolve, reject) => {
      const seq = ++this.seq;
      slot.job = { seq, resolve, reject };
      const msg: ToWorker = { kind: 'run', seq, inputs };
      // Input buffers belong to this job alone (codec or batcher allocations, or a request
      // body the codec viewed into); several inputs may share one, so each moves once.
      slot.worker.postMessage(msg, [...new Set(inputs.map((t) => t.data.buffer as ArrayBuffer))]);
    });
  }

  /** Terminates every worker; jobs still held fail. */
  async close(): Promise<void> {
    this.closing = true;
    const slots = this.slots.splice(0);
    for (const s of slots) s.job?.reject(inferenceFailed('server is shutting down'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private attach(worker: Worker): void {
    const slot: Slot = { worker, job: undefined };
    this.slots.push(slot);
    worker.on('message', (msg: FromWorker) => {
      const job = slot.job;
      if (job === undefined || (msg.kind !== 'result' && msg.kind !== 'error') || msg.seq !== job.seq) return;
      slot.job = undefined;
      if (msg.kind === 'result') job.resolve({ outputs: msg.outputs, computeSeconds: msg.computeSeconds });
      else job.reject(inferenceFailed(msg.message));
      this.onIdle();
    });
    const lost = (reason: string): void => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      slot.job?.reject(inferenceFailed(`worker ${reason}`));
      slot.job = undefined;
      if (!this.closing) void this.replace();
    };
    worker.on('error', (err: Error) => lost(`crashed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
  }

  private async replace(): Promise<void> {
    try {
      const { worker } = await spawn(this.init);
      if (this.closing) {
        await worker.terminate();
        return;
      }
      this.attach(worker);
      this.onIdle();
    } catch {
      // The model loaded before, so a failing respawn means the process is in trouble;
      // the pool shrinks and readiness reports it through size().
    }
  }
}

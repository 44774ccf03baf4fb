// A fixed pool of worker threads, one session and one job group each. The scheduler
// decides what runs; the pool only knows which workers are free and keeps their number
// constant (a worker that dies is replaced, and the jobs it held fail alone). Groups go
// through each worker's shared-memory channel; only groups too large for it are posted.
// A group that outlives the run timeout fails with 504 and its worker is terminated and
// replaced; a replacement that cannot start leaves the pool dead, which fails liveness.
import { Worker } from 'node:worker_threads';
import { ModelLoadError, inferenceFailed, runFailed, runTimedOut, workersDead } from '../errors.ts';
import type { ServingError } from '../errors.ts';
import type { Tensor } from '../protocol/tensor.ts';
import type { Signature } from '../protocol/signature.ts';
import { mergeBatch } from './batching.ts';
import { Arena, JOB, JOB_VIA_MESSAGE, RESULT, VIA_MESSAGE, createChannel } from './channel.ts';
import type { JobInputs, JobResult } from './channel.ts';
import type { FromWorker, ToWorker, WorkerInit } from './messages.ts';

/** Output of one run on a worker. */
export interface RunResult {
  outputs: Tensor[];
  computeSeconds: number;
}

/** What the scheduler needs from whatever executes batches. */
export interface Executor {
  idle(): number;
  /** Runs independent jobs one after another on one free worker; one promise per job. */
  runGroup(jobs: readonly JobInputs[]): Promise<RunResult>[];
  /** Called whenever a worker becomes free. */
  onIdle: () => void;
  /** Why no more work can run, once that is so. */
  failure?(): ServingError | undefined;
  /** Called once when the executor dies: what is queued for it can be answered. */
  onDead?: (err: ServingError) => void;
}

/** Options of the pool. */
export interface PoolOptions {
  model: Uint8Array;
  size: number;
  intraOpThreads: number;
  spinning: boolean;
  /** A group running longer fails with 504 and its worker is replaced; undefined: no limit. */
  runTimeoutMs?: number;
}

interface Job {
  resolve: (r: RunResult) => void;
  reject: (e: Error) => void;
}

interface Group {
  seq: number;
  jobs: Job[];
}

interface Slot {
  worker: Worker;
  control: Int32Array;
  input: Arena;
  output: Arena;
  /** Groups sent to this worker so far: the doorbell values. */
  seq: number;
  group: Group | undefined;
  /** When the current group was rung for (performance.now()). */
  started: number;
  /** Timed out and out of the pool: its worker is terminated once its run returns. */
  retired: boolean;
}

type Settings = Omit<WorkerInit, 'channel'>;

const WORKER_URL = new URL('./worker.ts', import.meta.url);

function spawn(settings: Settings): Promise<{ worker: Worker; init: WorkerInit; signature: Signature }> {
  return new Promise((resolve, reject) => {
    // A fresh channel per worker: a replacement must not inherit a dead worker's doorbells.
    const init: WorkerInit = { ...settings, channel: createChannel() };
    const worker = new Worker(WORKER_URL, { workerData: init });
    const onMessage = (msg: FromWorker): void => {
      cleanup();
      if (msg.kind === 'ready') resolve({ worker, init, signature: msg.signature });
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
  onDead: (err: ServingError) => void = () => {};
  /** Groups that were too large for a worker's arena and went by postMessage. */
  postedGroups = 0;
  private readonly slots: Slot[] = [];
  private readonly settings: Settings;
  private closing = false;
  private dead: ServingError | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  /** Exits of timed-out workers still finishing their run. */
  private readonly retiring = new Set<Promise<unknown>>();

  /** The size the pool keeps. */
  private readonly workers: number;

  private constructor(settings: Settings, signature: Signature, workers: number, runTimeoutMs: number | undefined) {
    this.settings = settings;
    this.signature = signature;
    this.workers = workers;
    if (runTimeoutMs !== undefined) {
      // One timer for the pool rather than one per group: the hot path only stamps a time.
      const every = Math.max(10, Math.min(1000, Math.floor(runTimeoutMs / 4)));
      this.watchdog = setInterval(() => this.expire(runTimeoutMs), every).unref();
    }
  }

  /** Starts `size` workers; rejects with ModelLoadError if the model does not load. */
  static async start(opts: PoolOptions): Promise<WorkerPool> {
    const settings: Settings = { model: opts.model, intraOpThreads: opts.intraOpThreads, spinning: opts.spinning };
    const results = await Promise.allSettled(Array.from({ length: Math.max(1, opts.size) }, () => spawn(settings)));
    const failed = results.find((r) => r.status === 'rejected');
    const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (failed !== undefined || started.length === 0) {
      await Promise.all(started.map((s) => s.worker.terminate()));
      throw failed?.reason instanceof Error ? failed.reason : new ModelLoadError('no worker started');
    }
    const pool = new WorkerPool(settings, started[0]!.signature, started.length, opts.runTimeoutMs);
    for (const s of started) pool.attach(s.worker, s.init);
    return pool;
  }

  /** Number of workers. */
  size(): number {
    return this.slots.length;
  }

  /** Why the pool can run nothing more (a replacement worker failed to start), once that is so. */
  failure(): ServingError | undefined {
    return this.dead;
  }

  /** Number of workers without a job. */
  idle(): number {
    let n = 0;
    for (const s of this.slots) if (s.group === undefined) n++;
    return n;
  }

  /** Runs inputs on a free worker; the caller must have checked idle() > 0. */
  run(inputs: Tensor[]): Promise<RunResult> {
    return this.runGroup([inputs])[0]!;
  }

  /** Runs a group of jobs on one free worker; the caller must have checked idle() > 0. */
  runGroup(jobs: readonly JobInputs[]): Promise<RunResult>[] {
    const slot = this.slots.find((s) => s.group === undefined);
    if (slot === undefined) return jobs.map(() => Promise.reject(new Error('no idle worker')));
    const seq = ++slot.seq;
    const group: Group = { seq, jobs: [] };
    const promises = jobs.map(() => new Promise<RunResult>((resolve, reject) => group.jobs.push({ resolve, reject })));
    // Written (or, too large for the arena, merged) before the worker is claimed: a stack
    // that cannot be stacked throws here, nothing is rung for and the worker stays free.
    const plain = slot.input.writeJobs(jobs) ? undefined : jobs.map((j): Tensor[] => ('stack' in j ? mergeBatch(j.stack) : [...j]));
    slot.group = group;
    slot.started = performance.now();
    if (plain === undefined) {
      Atomics.store(slot.control, JOB_VIA_MESSAGE, 0);
    } else {
      // Input buffers belong to these jobs alone (codec or merge allocations, or a request
      // body the codec viewed into); several inputs may share one, so each moves once.
      const transfer = new Set<ArrayBuffer>();
      for (const inputs of plain) for (const t of inputs) transfer.add(t.data.buffer as ArrayBuffer);
      const msg: ToWorker = { kind: 'run', seq, jobs: plain };
      this.postedGroups++;
      // Queued on the port before the doorbell rings; the worker reads it synchronously.
      slot.worker.postMessage(msg, [...transfer]);
      Atomics.store(slot.control, JOB_VIA_MESSAGE, 1);
    }
    Atomics.store(slot.control, JOB, seq);
    Atomics.notify(slot.control, JOB);
    this.listen(slot, seq);
    return promises;
  }

  /** Terminates every worker (waiting for timed-out ones to finish their run); jobs still held fail. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    const slots = this.slots.splice(0);
    for (const s of slots) for (const j of s.group?.jobs ?? []) j.reject(inferenceFailed('server is shutting down'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
    // A process that exits while one still runs aborts the same way; a run that never ends
    // is what the caller's shutdown timeout is for.
    await Promise.all(this.retiring);
  }

  /**
   * Waits (without blocking the event loop) until the worker's RESULT word reaches `seq`,
   * then takes the results from the output arena, or leaves them to the message on its way.
   * Re-arms on any other value, so no ordering of messages and doorbells can lose a group.
   */
  private listen(slot: Slot, seq: number): void {
    if (slot.group?.seq !== seq) return;
    const current = Atomics.load(slot.control, RESULT);
    if (current !== seq) {
      const wait = Atomics.waitAsync(slot.control, RESULT, current);
      if (wait.async) void wait.value.then(() => this.listen(slot, seq));
      else this.listen(slot, seq);
      return;
    }
    if (Atomics.load(slot.control, VIA_MESSAGE) === 1) return;
    this.complete(slot, slot.output.readResults());
  }

  private complete(slot: Slot, results: JobResult[]): void {
    const group = slot.group!;
    slot.group = undefined;
    if (slot.retired) {
      // Back in JavaScript, so terminating is safe now (see expire()); its callers had their 504.
      void slot.worker.terminate();
      return;
    }
    group.jobs.forEach((job, i) => {
      const r = results[i];
      if (r === undefined) job.reject(inferenceFailed('worker returned no result'));
      else if ('error' in r) job.reject(runFailed(r.error));
      else job.resolve(r);
    });
    this.onIdle();
  }

  private attach(worker: Worker, init: WorkerInit): void {
    const slot: Slot = {
      worker,
      control: new Int32Array(init.channel.control),
      input: new Arena(init.channel.input),
      output: new Arena(init.channel.output),
      seq: 0,
      group: undefined,
      started: 0,
      retired: false,
    };
    this.slots.push(slot);
    worker.on('message', (msg: FromWorker) => {
      if (msg.kind !== 'result' || slot.group?.seq !== msg.seq) return;
      this.complete(slot, msg.results);
    });
    const lost = (reason: string): void => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      for (const j of slot.group?.jobs ?? []) j.reject(inferenceFailed(`worker ${reason}`));
      slot.group = undefined;
      if (!this.closing) void this.replace();
    };
    worker.on('error', (err: Error) => lost(`crashed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
  }

  /** Fails groups that outlived the run timeout and replaces their workers. */
  private expire(timeoutMs: number): void {
    const now = performance.now();
    for (const slot of [...this.slots]) {
      if (slot.group === undefined || now - slot.started <= timeoutMs) continue;
      this.slots.splice(this.slots.indexOf(slot), 1);
      for (const j of slot.group.jobs.splice(0)) j.reject(runTimedOut(timeoutMs));
      // Not terminated now: terminating a worker inside onnxruntime's run aborts the whole
      // process when the run returns (onnxruntime-node 1.30 throws a C++ Napi::Error into a
      // terminating environment). The group stays, so its doorbell still reaches complete(),
      // which terminates the worker then; meanwhile it holds no caller and not the process.
      slot.retired = true;
      const exited = new Promise((resolve) => slot.worker.once('exit', resolve));
      this.retiring.add(exited);
      void exited.then(() => this.retiring.delete(exited));
      // Runs that never return keep their threads (and cores) for ever: once they outnumber
      // the workers, the process has lost most of its compute and only a restart helps.
      if (this.retiring.size > this.workers) this.die(`${this.retiring.size} runs outlived the run timeout and still hold their threads`);
      void this.replace();
    }
  }

  private die(reason: string): void {
    if (this.closing || this.dead !== undefined) return;
    this.dead = workersDead(reason);
    clearInterval(this.watchdog);
    this.onDead(this.dead);
  }

  private async replace(): Promise<void> {
    try {
      const { worker, init } = await spawn(this.settings);
      if (this.closing) {
        await worker.terminate();
        return;
      }
      this.attach(worker, init);
      this.onIdle();
    } catch (err) {
      // The model loaded before, so a failing respawn means the process is in trouble: the
      // pool is dead, liveness says so, and the kubelet restarts the pod.
      this.die(`a replacement worker failed to start: ${(err as Error).message}`);
    }
  }
}

// The served model: verified bytes → worker pool → scheduler → warm-up → ready.
// Ready is a one-way door until shutdown; a model that fails any step never opens it.
import { ModelLoadError, notReady } from '../errors.ts';
import { INLINE_MAX_MODEL_BYTES, InlineSession, RunCost } from '../inference/inline.ts';
import type { InlineRunner } from '../inference/inline.ts';
import { WorkerPool } from '../inference/pool.ts';
import { Scheduler } from '../inference/scheduler.ts';
import type { BatchObserver, InferOutcome } from '../inference/scheduler.ts';
import { allocate, elementCount, isSupportedDatatype } from '../protocol/tensor.ts';
import type { Tensor } from '../protocol/tensor.ts';
import { hasBatchDimension } from '../protocol/signature.ts';
import type { Signature } from '../protocol/signature.ts';
import { fetchModel } from './source.ts';
import type { ModelSource } from './source.ts';

/** How to load and run the model. */
export interface ServedModelOptions {
  name: string;
  revision: string;
  source: ModelSource;
  workers: number;
  intraOpThreads: number;
  spinning: boolean;
  /** A worker run taking longer fails with 504 and its worker is replaced. */
  runTimeoutMs?: number;
  batchMaxSize: number;
  batchMaxDelayMs: number;
  queueBound: number;
  warmup: number;
  /** A lone request on an idle server runs on the event loop while its estimated run is within this many µs (0: never). */
  inlineMaxMicros: number;
  /** Called once per batch that ran (metrics). */
  onBatch?: BatchObserver;
  /** Told once when the workers die for good (the scheduler has answered what was queued). */
  onWorkersDead?: (err: Error) => void;
}

/** Inputs of the model's signature filled with small deterministic values, one row. */
export function warmupInputs(sig: Signature): Tensor[] {
  return sig.inputs.map((spec) => {
    if (!isSupportedDatatype(spec.datatype)) throw new ModelLoadError(`input "${spec.name}" has unsupported type ${spec.datatype}`);
    const shape = spec.shape.map((d) => (d < 0 ? 1 : d));
    const data = allocate(spec.datatype, elementCount(shape));
    if (data instanceof Float32Array || data instanceof Float64Array) for (let i = 0; i < data.length; i++) data[i] = (i % 7) / 7;
    return { name: spec.name, datatype: spec.datatype, shape, data };
  });
}

/** A loaded model behind its worker pool. */
export class ServedModel {
  /** Model name as served under /v2/models/{name}. */
  readonly name: string;
  /** Revision label (from the environment). */
  readonly revision: string;
  /** Inputs and outputs read from the ONNX graph. */
  readonly signature: Signature;
  /** Whether requests are merged along the batch dimension. */
  readonly batching: boolean;
  /** Seconds from start of fetch to ready. */
  loadSeconds = 0;
  private readonly pool: WorkerPool;
  private readonly scheduler: Scheduler;
  private inline: InlineRunner | undefined;
  private state: 'warming' | 'ready' | 'draining' = 'warming';

  private constructor(opts: ServedModelOptions, pool: WorkerPool) {
    this.name = opts.name;
    this.revision = opts.revision;
    this.pool = pool;
    this.signature = pool.signature;
    this.batching = hasBatchDimension(pool.signature) && opts.batchMaxSize > 1;
    this.scheduler = new Scheduler(
      pool,
      { batching: this.batching, maxBatchSize: opts.batchMaxSize, maxDelayMs: opts.batchMaxDelayMs, queueBound: opts.queueBound },
      opts.onBatch,
    );
    const failQueued = pool.onDead;
    pool.onDead = (err) => {
      failQueued(err);
      opts.onWorkersDead?.(err);
    };
  }

  /** Fetches, verifies, loads and warms the model; throws ModelLoadError on any failure. */
  static async load(opts: ServedModelOptions): Promise<ServedModel> {
    const started = performance.now();
    const bytes = await fetchModel(opts.source);
    const pool = await WorkerPool.start({
      model: bytes,
      size: opts.workers,
      intraOpThreads: opts.intraOpThreads,
      spinning: opts.spinning,
      runTimeoutMs: opts.runTimeoutMs,
    });
    const model = new ServedModel(opts, pool);
    try {
      // Warm every worker: run as many concurrent warm-ups as there are workers, N rounds.
      const computeSeconds: number[] = [];
      for (let round = 0; round < opts.warmup; round++) {
        const results = await Promise.all(Array.from({ length: pool.size() }, () => pool.run(warmupInputs(model.signature))));
        for (const r of results) computeSeconds.push(r.computeSeconds);
      }
      await model.startInline(opts, bytes, computeSeconds);
    } catch (err) {
      await model.inline?.close();
      await pool.close();
      throw new ModelLoadError(`warm-up inference failed: ${(err as Error).message}`);
    }
    model.loadSeconds = (performance.now() - started) / 1000;
    model.state = 'ready';
    return model;
  }

  /** Whether the inline path is open, and why (for the ready log line). */
  inlineStatus = 'off';

  /**
   * Opens the inline path when warm-up showed a one-row run within the bound: a second
   * session on the event loop, warmed and measured itself before the scheduler may use it.
   */
  private async startInline(opts: ServedModelOptions, bytes: Uint8Array, warmupSeconds: number[]): Promise<void> {
    const max = opts.inlineMaxMicros / 1e6;
    const us = (s: number) => `${Math.round(s * 1e6)} µs`;
    if (max <= 0) return void (this.inlineStatus = 'off (SISKIN_INLINE_MAX_MICROS=0)');
    if (warmupSeconds.length === 0) return void (this.inlineStatus = 'off (no warm-up run measured the model)');
    if (bytes.length > INLINE_MAX_MODEL_BYTES) return void (this.inlineStatus = 'off (model larger than 64 MiB)');
    // The first run of a session is cold (allocations, kernel selection): judge the later
    // ones, and measure a few more when warm-up was too short to have them — unless even the
    // fastest run was far beyond the bound, which a warm run does not make up for. The
    // fastest warm run is the model's cost; slower ones were preempted on a busy machine.
    const warm = warmupSeconds.slice(1);
    if (warm.length < 3 && Math.min(...warmupSeconds) <= 100 * max) {
      for (let i = warm.length; i < 3; i++) warm.push((await this.pool.run(warmupInputs(this.signature))).computeSeconds);
    }
    // A worker's timing includes its own event-loop hop and is only a filter (a model ten
    // times over the bound is not worth a second session); the inline session decides.
    const workerRun = Math.min(...(warm.length > 0 ? warm : warmupSeconds));
    if (workerRun > 10 * max) return void (this.inlineStatus = `off (one row takes ${us(workerRun)} > ${us(max)})`);
    let inline: InlineSession | undefined;
    try {
      inline = await InlineSession.create(bytes);
      const measured: number[] = [];
      for (let i = 0; i < Math.max(5, opts.warmup); i++) measured.push((await inline.run(warmupInputs(this.signature))).computeSeconds);
      const oneRow = Math.min(...measured.slice(1));
      if (oneRow > max) {
        await inline.close();
        this.inlineStatus = `off (one row takes ${us(oneRow)} > ${us(max)})`;
        return;
      }
      const cost = new RunCost();
      cost.observe(1, oneRow);
      this.inline = inline;
      this.scheduler.setInline(inline, max, cost);
      this.inlineStatus = `on (one row takes ${us(oneRow)} ≤ ${us(max)})`;
    } catch (err) {
      // Not a reason to refuse the model: the workers serve it (they already ran it).
      await inline?.close();
      this.inlineStatus = `off (the inline session failed: ${(err as Error).message})`;
    }
  }

  /** True when requests are accepted. */
  isReady(): boolean {
    // Not pool.size(): while a lost worker is being replaced requests queue for it.
    return this.state === 'ready' && this.pool.failure() === undefined;
  }

  /** False once the workers are dead and cannot be replaced: the process must be restarted. */
  isLive(): boolean {
    return this.pool.failure() === undefined;
  }

  /** Requests waiting for a worker. */
  queueDepth(): number {
    return this.scheduler.depth();
  }

  /** Requests queued or running. */
  pendingRequests(): number {
    return this.scheduler.pending();
  }

  /** Queues one validated request; 503 when not ready or the queue is full. */
  infer(inputs: Tensor[], rows: number): Promise<InferOutcome> {
    if (this.state !== 'ready') return Promise.reject(notReady(this.name));
    return this.scheduler.submit(inputs, rows);
  }

  /** Stops accepting, finishes every accepted request, then stops the workers. */
  async shutdown(): Promise<void> {
    this.state = 'draining';
    await this.scheduler.drain();
    await this.inline?.close();
    await this.pool.close();
  }
}

// The served model: verified bytes → worker pool → scheduler → warm-up → ready.
// Ready is a one-way door until shutdown; a model that fails any step never opens it.
import { ModelLoadError, notReady } from '../errors.ts';
import { INLINE_MAX_MODEL_BYTES, InlineSession, RunCost } from '../inference/inline.ts';
import type { InlineRunner } from '../inference/inline.ts';
import { WorkerPool } from '../inference/pool.ts';
import { Scheduler } from '../inference/scheduler.ts';
import type { BatchObserver, InferOutcome } from '../inference/scheduler.ts';
import type { WarmupReport } from '../../contract/modelMetadata.ts';
import type { WarmupSample } from '../../contract/servingEnv.ts';
import type { Tensor } from '../protocol/tensor.ts';
import { hasBatchDimension } from '../protocol/signature.ts';
import type { Signature } from '../protocol/signature.ts';
import { fetchModel } from './source.ts';
import type { ModelSource } from './source.ts';
import { generatedCandidates, generatedInputs, sampleInputs } from './warmup.ts';

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
  /** User-given warm-up inputs, used instead of generated ones; the model is refused if they fail. */
  warmupSample?: WarmupSample | undefined;
  /** A lone request on an idle server runs on the event loop while its estimated run is within this many µs (0: never). */
  inlineMaxMicros: number;
  /** Called once per batch that ran (metrics). */
  onBatch?: BatchObserver;
  /** Told once when the workers die for good (the scheduler has answered what was queued). */
  onWorkersDead?: (err: Error) => void;
}

/** Fresh warm-up inputs each call (a run transfers its tensors' buffers to the worker). */
type InputFactory = () => Tensor[];

/** What warm-up found: the inputs that ran (none when generated ones all failed) and the report. */
interface WarmupFinding {
  inputs: InputFactory | undefined;
  report: WarmupReport;
}

/**
 * Finds inputs the model runs: the user's sample (its failure refuses the model), or the
 * first generated candidate that runs. A model no generated input runs still serves: it
 * loaded, and a generator's guess is no verdict on a model (the canary analysis is).
 */
async function findWarmupInputs(pool: WorkerPool, sig: Signature, opts: ServedModelOptions): Promise<WarmupFinding> {
  if (opts.warmupSample !== undefined) {
    const sample = opts.warmupSample;
    const inputs = () => sampleInputs(sig, sample);
    // A sample that does not fit the signature is refused as such, before any run.
    inputs();
    try {
      await pool.run(inputs());
    } catch (err) {
      throw new ModelLoadError(`warm-up inference failed with the given sample: ${(err as Error).message}`);
    }
    return { inputs, report: { source: 'sample', ok: true } };
  }
  if (opts.warmup === 0) return { inputs: undefined, report: { source: 'none', ok: true } };
  let failure = 'no candidate within the size bound';
  for (const sizes of generatedCandidates()) {
    if (generatedInputs(sig, sizes) === undefined) continue;
    const inputs = () => generatedInputs(sig, sizes)!;
    try {
      await pool.run(inputs());
      const dynamic = sig.inputs.some((s) => s.shape.some((d) => d < 0));
      return { inputs, report: { source: 'generated', ok: true, ...(dynamic ? { dynamicSize: Math.max(sizes.batch, sizes.other) } : {}) } };
    } catch (err) {
      failure = (err as Error).message;
    }
  }
  return { inputs: undefined, report: { source: 'generated', ok: false, message: failure } };
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
  /** How warm-up went (reported in the model metadata and metrics). */
  warmup: WarmupReport = { source: 'none', ok: true };
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
      const found = await findWarmupInputs(pool, model.signature, opts);
      model.warmup = found.report;
      // Warm every worker: run as many concurrent warm-ups as there are workers, N rounds.
      // Inputs that ran once and then fail are a fault of the server, not of the guess.
      const computeSeconds: number[] = [];
      const inputs = found.inputs;
      for (let round = 0; inputs !== undefined && round < opts.warmup; round++) {
        const results = await Promise.all(Array.from({ length: pool.size() }, () => pool.run(inputs())));
        for (const r of results) computeSeconds.push(r.computeSeconds);
      }
      await model.startInline(opts, bytes, computeSeconds, inputs);
    } catch (err) {
      await model.inline?.close();
      await pool.close();
      if (err instanceof ModelLoadError) throw err;
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
  private async startInline(opts: ServedModelOptions, bytes: Uint8Array, warmupSeconds: number[], inputs: InputFactory | undefined): Promise<void> {
    const max = opts.inlineMaxMicros / 1e6;
    const us = (s: number) => `${Math.round(s * 1e6)} µs`;
    if (max <= 0) return void (this.inlineStatus = 'off (SISKIN_INLINE_MAX_MICROS=0)');
    if (inputs === undefined || warmupSeconds.length === 0) return void (this.inlineStatus = 'off (no warm-up run measured the model)');
    if (bytes.length > INLINE_MAX_MODEL_BYTES) return void (this.inlineStatus = 'off (model larger than 64 MiB)');
    // The first run of a session is cold (allocations, kernel selection): judge the later
    // ones, and measure a few more when warm-up was too short to have them — unless even the
    // fastest run was far beyond the bound, which a warm run does not make up for. The
    // fastest warm run is the model's cost; slower ones were preempted on a busy machine.
    const warm = warmupSeconds.slice(1);
    if (warm.length < 3 && Math.min(...warmupSeconds) <= 100 * max) {
      for (let i = warm.length; i < 3; i++) warm.push((await this.pool.run(inputs())).computeSeconds);
    }
    // A worker's timing includes its own event-loop hop and is only a filter (a model ten
    // times over the bound is not worth a second session); the inline session decides.
    const workerRun = Math.min(...(warm.length > 0 ? warm : warmupSeconds));
    if (workerRun > 10 * max) return void (this.inlineStatus = `off (one row takes ${us(workerRun)} > ${us(max)})`);
    let inline: InlineSession | undefined;
    try {
      inline = await InlineSession.create(bytes);
      const measured: number[] = [];
      for (let i = 0; i < Math.max(5, opts.warmup); i++) measured.push((await inline.run(inputs())).computeSeconds);
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

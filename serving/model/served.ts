// The served model: verified bytes → worker pool → scheduler → warm-up → ready.
// Ready is a one-way door until shutdown; a model that fails any step never opens it.
import { ModelLoadError, notReady } from '../errors.ts';
import { WorkerPool } from '../inference/pool.ts';
import { Scheduler } from '../inference/scheduler.ts';
import type { InferOutcome } from '../inference/scheduler.ts';
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
  batchMaxSize: number;
  batchMaxDelayMs: number;
  queueBound: number;
  warmup: number;
  /** Called once per batch that ran (metrics). */
  onBatch?: (rows: number, requests: number, computeSeconds: number) => void;
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
    });
    const model = new ServedModel(opts, pool);
    try {
      // Warm every worker: run as many concurrent warm-ups as there are workers, N rounds.
      for (let round = 0; round < opts.warmup; round++) {
        await Promise.all(Array.from({ length: pool.size() }, () => pool.run(warmupInputs(model.signature))));
      }
    } catch (err) {
      await pool.close();
      throw new ModelLoadError(`warm-up inference failed: ${(err as Error).message}`);
    }
    model.loadSeconds = (performance.now() - started) / 1000;
    model.state = 'ready';
    return model;
  }

  /** True when requests are accepted. */
  isReady(): boolean {
    return this.state === 'ready' && this.pool.size() > 0;
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
    await this.pool.close();
  }
}

// The bounded queue in front of the worker pool, with dynamic batching: whenever a worker
// is free, queued requests with the same batch key are stacked up to maxBatchSize rows.
// With maxDelayMs > 0 a partial batch waits that long for company. A full queue sheds
// load at once (503) instead of growing a backlog whose latency nobody would accept.
// Under load a free worker gets several batches at once (a group, still one session.run
// each): one wake-up of the worker per group instead of per request, sized so a group
// holds about GROUP_BUDGET_S of compute and never delays the first answer by much.
// Dispatch waits for the end of the current event-loop turn (setImmediate), so every
// request read in that turn joins the group or batch; dispatching per request instead
// lets a worker on the same core preempt the event loop after each one, and groups and
// batches then hold one or two requests.
// A lone request on an idle server may run inline instead (inline.ts): only when nothing
// else is queued or running and its estimated run time is within the inline bound. Under
// load the groups above already share each hand-off between many requests, and measured
// inline runs there cost the event loop as much as the hand-off they save (BENCHMARKS.md).
import { overloaded } from '../errors.ts';
import type { Tensor } from '../protocol/tensor.ts';
import { batchKey, splitBatch } from './batching.ts';
import { ARENA_BYTES } from './channel.ts';
import type { JobInputs } from './channel.ts';
import type { InlineRunner, RunCost } from './inline.ts';
import type { Executor, RunResult } from './pool.ts';

/** Scheduler settings. */
export interface SchedulerOptions {
  /** Off for models without a batch dimension. */
  batching: boolean;
  maxBatchSize: number;
  maxDelayMs: number;
  /** Requests waiting (not yet on a worker) beyond which new ones are refused. */
  queueBound: number;
}

/** Timings of one request, for metrics. */
export interface InferOutcome {
  outputs: Tensor[];
  queueSeconds: number;
  computeSeconds: number;
  batchRows: number;
}

/** Where a batch ran: a worker thread, or the event loop's idle fast path. */
export type RunPath = 'worker' | 'inline';

/** Receives one observation per batch that ran: its rows, requests, compute time and path. */
export type BatchObserver = (rows: number, requests: number, computeSeconds: number, path: RunPath) => void;

/**
 * Compute time a group of batches may hold. Not only the hand-off is shared: on a core the
 * event loop and the worker share, every switch refills caches a CNN has evicted. For the
 * PP-OCR classifier (~0.85 ms a row) groups of ~1 ms gave 635 req/s, 4 ms 840–905, 8 ms
 * 865–942, 16 ms 923–964 (BENCHMARKS.md); 8 ms keeps most of that while the first answer of
 * a group — which waits for the whole group — waits at most that long for the others, and
 * only when that many requests were already queued.
 */
const GROUP_BUDGET_S = 0.008;
/** Input bytes a group may hold: most of a worker's arena (the rest is tensor headers). */
const GROUP_MAX_BYTES = ARENA_BYTES - 64 * 1024;
/** Most batches in one group. */
const MAX_GROUP = 64;

interface Pending {
  inputs: Tensor[];
  rows: number;
  key: string;
  enqueued: number;
  resolve: (o: InferOutcome) => void;
  reject: (e: Error) => void;
}

/** Bounded, batching queue of inference requests. */
export class Scheduler {
  private readonly queue: Pending[] = [];
  private readonly executor: Executor;
  private readonly opts: SchedulerOptions;
  private readonly observe: BatchObserver;
  private inflight = 0;
  private pumpScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private drained: (() => void)[] = [];
  /** Moving average of compute seconds per batch, for the group size. */
  private computeAverage = GROUP_BUDGET_S;
  private inline: InlineRunner | undefined;
  private inlineMaxSeconds = 0;
  private cost: RunCost | undefined;

  constructor(executor: Executor, opts: SchedulerOptions, observe: BatchObserver = () => {}) {
    this.executor = executor;
    this.opts = opts;
    this.observe = observe;
    executor.onIdle = () => this.schedulePump();
    // Requests queued for workers that will never come are answered, not left to hang.
    executor.onDead = (err) => this.failQueued(err);
  }

  /**
   * Lets a lone request on an idle scheduler run on `runner` while its estimated run time
   * (from `cost`, which every inline run keeps learning) is at most `maxSeconds`.
   */
  setInline(runner: InlineRunner, maxSeconds: number, cost: RunCost): void {
    this.inline = runner;
    this.inlineMaxSeconds = maxSeconds;
    this.cost = cost;
  }

  /** Requests waiting for a worker. */
  depth(): number {
    return this.queue.length;
  }

  /** Requests queued or running. */
  pending(): number {
    return this.queue.length + this.inflight;
  }

  /** Queues one request of `rows` rows; rejects at once with 503 when the queue is full. */
  submit(inputs: Tensor[], rows: number): Promise<InferOutcome> {
    const dead = this.executor.failure?.();
    if (dead !== undefined) return Promise.reject(dead);
    if (this.queue.length >= this.opts.queueBound) {
      return Promise.reject(overloaded(1));
    }
    return new Promise<InferOutcome>((resolve, reject) => {
      const key = this.opts.batching ? batchKey(inputs) : '';
      this.queue.push({ inputs, rows, key, enqueued: performance.now(), resolve, reject });
      this.schedulePump();
    });
  }

  /** Resolves once nothing is queued or running (graceful shutdown). */
  drain(): Promise<void> {
    if (this.pending() === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    // An explicit batching delay asks requests to wait for company: honoured, no inline path.
    const mayInline = !this.opts.batching || this.opts.maxDelayMs === 0;
    if (this.inline !== undefined && mayInline && this.inflight === 0 && this.queue.length === 1) {
      const lone = this.queue[0]!;
      if ((this.cost?.estimate(lone.rows) ?? Number.POSITIVE_INFINITY) <= this.inlineMaxSeconds) {
        this.queue.length = 0;
        this.runInline(this.inline, lone);
        return;
      }
    }
    while (this.queue.length > 0 && this.executor.idle() > 0) {
      // Share the queue between the free workers rather than handing it all to the first.
      const share = Math.ceil(this.queue.length / this.executor.idle());
      const limit = Math.min(share, MAX_GROUP, Math.max(1, Math.floor(GROUP_BUDGET_S / this.computeAverage)));
      const group: Pending[][] = [];
      let bytes = 0;
      while (group.length < limit && this.queue.length > 0) {
        const batch = this.take();
        if (batch === undefined) break;
        // Groups stay within the worker's arena: a larger one would go by postMessage,
        // allocating merged copies and moving the request bodies away from their pool.
        let size = 0;
        for (const p of batch) for (const t of p.inputs) size += t.data.byteLength;
        if (group.length > 0 && bytes + size > GROUP_MAX_BYTES) {
          this.queue.unshift(...batch);
          break;
        }
        bytes += size;
        group.push(batch);
      }
      if (group.length === 0) return;
      this.dispatch(group);
    }
  }

  /** Picks the next batch, or undefined when a partial batch should wait for its delay. */
  private take(): Pending[] | undefined {
    const head = this.queue[0]!;
    if (!this.opts.batching) return this.queue.splice(0, 1);
    const max = this.opts.maxBatchSize;
    const picked: number[] = [0];
    let rows = head.rows;
    // Bounded scan: a long queue of incompatible shapes must not make every pump O(n).
    const scan = Math.min(this.queue.length, 4 * max);
    for (let i = 1; i < scan && rows < max; i++) {
      const p = this.queue[i]!;
      if (p.key === head.key && rows + p.rows <= max) {
        picked.push(i);
        rows += p.rows;
      }
    }
    if (rows < max && this.opts.maxDelayMs > 0) {
      const wait = head.enqueued + this.opts.maxDelayMs - performance.now();
      if (wait > 0) {
        if (this.timer === undefined) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.pump();
          }, Math.ceil(wait));
        }
        return undefined;
      }
    }
    const batch: Pending[] = [];
    for (let j = picked.length - 1; j >= 0; j--) batch.unshift(this.queue.splice(picked[j]!, 1)[0]!);
    return batch;
  }

  private dispatch(group: Pending[][]): void {
    const now = performance.now();
    // A merged batch travels as a stack: the pool writes its requests' tensors straight
    // into the worker's arena (one copy, instead of a merged buffer and then the arena).
    const jobs: JobInputs[] = group.map((batch) => (batch.length === 1 ? batch[0]!.inputs : { stack: batch.map((p) => p.inputs) }));
    for (const batch of group) this.inflight += batch.length;
    let results: Promise<RunResult>[];
    try {
      results = this.executor.runGroup(jobs);
    } catch (err) {
      // Requests of one batch share their batch key, so stacking cannot fail; if it did,
      // the group fails alone and the worker was not claimed.
      for (const batch of group) this.finish(batch, err as Error);
      return;
    }
    group.forEach((batch, i) => {
      results[i]!.then(
        (result) => this.complete(batch, now, result),
        (err: Error) => this.finish(batch, err),
      );
    });
  }

  private runInline(runner: InlineRunner, p: Pending): void {
    const now = performance.now();
    this.inflight += 1;
    runner.run(p.inputs).then(
      (result) => this.complete([p], now, result, 'inline'),
      (err: Error) => this.finish([p], err),
    );
  }

  private complete(batch: Pending[], dispatched: number, result: RunResult, path: RunPath = 'worker'): void {
    const rows = batch.map((p) => p.rows);
    let totalRows = 0;
    for (const r of rows) totalRows += r;
    if (path === 'worker') this.computeAverage += 0.1 * (result.computeSeconds - this.computeAverage);
    if (path === 'inline') this.cost?.observe(totalRows, result.computeSeconds);
    this.observe(totalRows, batch.length, result.computeSeconds, path);
    let parts: Tensor[][];
    try {
      parts = splitBatch(result.outputs, rows);
    } catch (err) {
      this.finish(batch, err as Error);
      return;
    }
    batch.forEach((p, i) =>
      p.resolve({
        outputs: parts[i]!,
        queueSeconds: (dispatched - p.enqueued) / 1000,
        computeSeconds: result.computeSeconds,
        batchRows: totalRows,
      }),
    );
    this.settle(batch.length);
  }

  /** Answers every queued request with `err` (queued requests are not in flight). */
  private failQueued(err: Error): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const p of this.queue.splice(0)) p.reject(err);
    if (this.pending() === 0) for (const d of this.drained.splice(0)) d();
  }

  private finish(batch: Pending[], err: Error): void {
    for (const p of batch) p.reject(err);
    this.settle(batch.length);
  }

  private settle(n: number): void {
    this.inflight -= n;
    if (this.pending() === 0) {
      for (const d of this.drained.splice(0)) d();
    }
    this.schedulePump();
  }
}

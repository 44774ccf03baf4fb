// A rate-limited work queue of object keys, after client-go's workqueue: a key is held at most
// once (dirty set), never handed to two workers at once (processing set), and backs off per key.
import { realClock, type Clock, type Timer } from './clock.ts';

/** Hooks the metrics layer uses to follow the queue without the queue knowing prom-client. */
export interface WorkQueueObserver {
  /** A key was accepted (not a duplicate). */
  onAdd?(): void;
  /** A key was scheduled for a rate-limited retry. */
  onRetry?(): void;
  /** The number of keys ready and waiting for a worker changed. */
  onDepth?(depth: number): void;
  /** A worker took a key that had waited this many milliseconds since it was added. */
  onDequeue?(waitedMs: number): void;
}

/** Tuning and dependencies of a WorkQueue. */
export interface WorkQueueOptions {
  /** First retry delay; doubles on every consecutive failure of the same key. Default 5 ms (client-go). */
  baseDelayMs?: number;
  /** Cap of the per-key retry delay. Default 1000 s (client-go). */
  maxDelayMs?: number;
  /** Time source; tests pass a ManualClock. */
  clock?: Clock;
  /** Metrics hooks. */
  observer?: WorkQueueObserver;
}

/** Counters for metrics and tests. */
export interface WorkQueueStats {
  /** Keys ready and waiting for a worker. */
  depth: number;
  /** Keys accepted since creation (duplicates excluded). */
  adds: number;
  /** Rate-limited retries scheduled since creation. */
  retries: number;
  /** Keys being processed right now. */
  processing: number;
  /** Keys scheduled for later (addAfter / retries). */
  delayed: number;
}

/** How shutDown treats keys that are queued but not yet started. */
export interface ShutDownOptions {
  /** true: workers still process every queued key; false (default): queued keys are dropped. */
  drain?: boolean;
}

/** A deduplicating, per-key serialized, per-key backed-off queue of string keys. */
export class WorkQueue {
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly clock: Clock;
  private readonly observer: WorkQueueObserver;
  private ready: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: Timer }>();
  private readonly failures = new Map<string, number>();
  private getters: Array<(key: string | undefined) => void> = [];
  private idleWaiters: Array<() => void> = [];
  private shuttingDown = false;
  private draining = false;
  private adds = 0;
  private retries = 0;

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 1_000_000;
    if (!(this.baseDelayMs > 0) || !(this.maxDelayMs >= this.baseDelayMs)) {
      throw new Error(`work queue needs 0 < baseDelayMs <= maxDelayMs, got ${this.baseDelayMs} and ${this.maxDelayMs}`);
    }
    this.clock = opts.clock ?? realClock;
    this.observer = opts.observer ?? {};
  }

  /** Queues key unless it is already queued; a key being processed is queued again once done. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAt.set(key, this.clock.now());
    this.adds++;
    this.observer.onAdd?.();
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Queues key after ms; an earlier pending schedule for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Queues key after its next backoff delay (base × 2^failures, capped); returns that delay. */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = Math.min(this.baseDelayMs * 2 ** failures, this.maxDelayMs);
    this.retries++;
    this.observer.onRetry?.();
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets key's backoff, after a success or a terminal failure. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Consecutive rate-limited retries of key since it was last forgotten. */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process, or undefined once the queue shut down (and, when draining, emptied). */
  get(): Promise<string | undefined> {
    if (this.ready.length > 0) return Promise.resolve(this.take());
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks key's processing finished; queues it again if it was added meanwhile. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.push(key);
    this.notifyIdle();
  }

  /** Runs concurrency workers that take keys and call handler; resolves when all workers exit after shutDown. A throwing handler gets its key retried with backoff. */
  async process(concurrency: number, handler: (key: string) => Promise<void>): Promise<void> {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
    const worker = async (): Promise<void> => {
      for (let key = await this.get(); key !== undefined; key = await this.get()) {
        try {
          await handler(key);
        } catch {
          this.addRateLimited(key);
        } finally {
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  /** Stops accepting keys and cancels delayed ones; resolves once no key is being processed (and, with drain, none is queued). */
  shutDown(opts: ShutDownOptions = {}): Promise<void> {
    this.shuttingDown = true;
    this.draining = opts.drain ?? false;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    if (!this.draining) {
      this.ready = [];
      this.dirty.clear();
      this.addedAt.clear();
      this.observer.onDepth?.(0);
    }
    // Waiting workers exist only while nothing is ready, so all of them can be released.
    for (const resolve of this.getters.splice(0)) resolve(undefined);
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.notifyIdle();
    });
  }

  /** True once shutDown was called. */
  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Keys ready and waiting for a worker. */
  len(): number {
    return this.ready.length;
  }

  /** A snapshot of the queue's counters. */
  stats(): WorkQueueStats {
    return { depth: this.ready.length, adds: this.adds, retries: this.retries, processing: this.processing.size, delayed: this.delayed.size };
  }

  private push(key: string): void {
    this.ready.push(key);
    const getter = this.getters.shift();
    if (getter) getter(this.take());
    else this.observer.onDepth?.(this.ready.length);
  }

  private take(): string {
    const key = this.ready.shift() as string;
    this.dirty.delete(key);
    this.processing.add(key);
    const addedAt = this.addedAt.get(key);
    this.addedAt.delete(key);
    this.observer.onDepth?.(this.ready.length);
    if (addedAt !== undefined) this.observer.onDequeue?.(this.clock.now() - addedAt);
    return key;
  }

  private notifyIdle(): void {
    if (!this.shuttingDown || this.processing.size > 0 || (this.draining && this.ready.length > 0)) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

// A controller: event sources feed keys into a work queue, bounded workers call the reconciler,
// and the reconcile outcome decides the follow-up (controller-runtime's reconcileHandler).
import type { KubernetesObject } from '@kubernetes/client-node';
import { realClock, type Clock } from './clock.ts';
import type { Informer } from './informer.ts';
import { createLogger, loggerForKey, type Logger } from './logger.ts';
import type { OperatorMetrics, ReconcileOutcome } from './metrics.ts';
import { objectKey, retryWithinOf, TerminalError, type Reconciler } from './reconcile.ts';
import { WorkQueue } from './workQueue.ts';

/** The soonest a failed reconcile is retried for the follow-up it had planned (see retryWithin). */
const RETRY_WITHIN_FLOOR_MS = 1_000;

/** Maps an event's object to the keys to reconcile (e.g. its controller owner's key). */
export type KeyMapper<T extends KubernetesObject> = (obj: T) => string | string[] | undefined;

/** Configuration of one controller. */
export interface ControllerOptions {
  /** Names the controller in logs and metric labels. */
  name: string;
  /** The reconcile function. */
  reconcile: Reconciler;
  /** Workers; a key is never reconciled by two at once. Default 1. */
  maxConcurrentReconciles?: number;
  /** First retry delay after a throw. Default 5 ms. */
  baseRetryDelayMs?: number;
  /** Longest retry delay. Default 1000 s. */
  maxRetryDelayMs?: number;
  /** Time source for the queue and durations. */
  clock?: Clock;
  /** Parent logger. */
  logger?: Logger;
  /** Metrics to record into. */
  metrics?: OperatorMetrics;
}

/** Reconciles keys from its event sources with bounded, per-key serialized workers. */
export class Controller {
  /** The controller's name. */
  readonly name: string;
  /** The controller's work queue (exposed for stats and direct enqueues). */
  readonly queue: WorkQueue;
  private readonly reconcile: Reconciler;
  private readonly concurrency: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: OperatorMetrics | undefined;
  private readonly abort = new AbortController();
  private readonly sources: Array<Informer<KubernetesObject>> = [];
  private workers: Promise<void> | undefined;

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.reconcile = opts.reconcile;
    this.concurrency = opts.maxConcurrentReconciles ?? 1;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new Error(`maxConcurrentReconciles must be a positive integer, got ${this.concurrency}`);
    }
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? createLogger({ level: 'silent' })).child({ controller: opts.name });
    this.metrics = opts.metrics;
    this.queue = new WorkQueue({
      baseDelayMs: opts.baseRetryDelayMs,
      maxDelayMs: opts.maxRetryDelayMs,
      clock: this.clock,
      observer: opts.metrics?.queueObserver(opts.name),
    });
    if (opts.metrics) {
      for (const result of ['success', 'error', 'requeue', 'requeue_after'] as const) opts.metrics.reconcileTotal.inc({ controller: opts.name, result }, 0);
      opts.metrics.reconcileErrors.inc({ controller: opts.name }, 0);
      opts.metrics.terminalReconcileErrors.inc({ controller: opts.name }, 0);
      opts.metrics.activeWorkers.set({ controller: opts.name }, 0);
    }
  }

  /** Enqueues keys for every add/update/delete of informer's objects: the object's own key, or what mapper returns. */
  watch<T extends KubernetesObject>(informer: Informer<T>, mapper?: KeyMapper<T>): this {
    this.sources.push(informer as unknown as Informer<KubernetesObject>);
    informer.onEvent((_type, obj) => {
      // Level-triggered: the event type is deliberately ignored; the reconciler re-reads the world.
      const keys = mapper ? mapper(obj) : objectKey(obj);
      for (const key of Array.isArray(keys) ? keys : keys === undefined ? [] : [keys]) this.queue.add(key);
    });
    return this;
  }

  /** Enqueues key directly (e.g. a periodic resync). */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** True when every watched informer has completed its first list. */
  hasSynced(): boolean {
    return this.sources.every((s) => s.hasSynced());
  }

  /** An AbortSignal that fires when the controller stops; reconcilers get it too. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Starts the workers (once); resolves when they exited after stop(). Informers are started by their owner. */
  run(): Promise<void> {
    this.workers ??= this.queue.process(this.concurrency, (key) => this.reconcileKey(key));
    return this.workers;
  }

  /** Stops at once: no new reconcile starts, queued keys are dropped, running ones see their signal abort; resolves when they returned. */
  async stop(): Promise<void> {
    this.abort.abort(new Error(`controller ${this.name} stopped`));
    await this.queue.shutDown();
    await this.workers;
  }

  private async reconcileKey(key: string): Promise<void> {
    const log = loggerForKey(this.log, key);
    const started = this.clock.now();
    const labels = { controller: this.name };
    this.metrics?.activeWorkers.inc(labels);
    let outcome: ReconcileOutcome;
    try {
      const result = await this.reconcile(key, { signal: this.abort.signal, log });
      if (result?.requeueAfter !== undefined && result.requeueAfter > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, result.requeueAfter);
        outcome = 'requeue_after';
        log.debug({ requeueAfterMs: result.requeueAfter }, 'reconciled; requeue after a known wait');
      } else if (result?.requeue) {
        this.queue.addRateLimited(key);
        outcome = 'requeue';
        log.debug('reconciled; requeue with backoff');
      } else {
        this.queue.forget(key);
        outcome = 'success';
        log.debug('reconciled');
      }
    } catch (err) {
      if (this.abort.signal.aborted) {
        // Stopped (shutdown, lost lease): the key is not ours to retry, and an interrupted
        // reconcile is no failure; whoever leads next re-reads the world and finishes it.
        log.info({ reason: String(this.abort.signal.reason) }, 'reconcile interrupted: the controller is stopping');
        return;
      }
      outcome = 'error';
      this.metrics?.reconcileErrors.inc(labels);
      if (err instanceof TerminalError) {
        // Retrying cannot help; the next change to the object brings the key back.
        this.queue.forget(key);
        this.metrics?.terminalReconcileErrors.inc(labels);
        log.error({ err }, 'reconcile failed terminally; not retrying');
      } else {
        let delay = this.queue.addRateLimited(key);
        // The follow-up the reconcile had planned survives its failure: backoff, but no later
        // (and never sooner than a second: a planned "right away" must not become a hot loop).
        const within = retryWithinOf(err);
        const cap = within === undefined ? undefined : Math.max(within, RETRY_WITHIN_FLOOR_MS);
        if (cap !== undefined && cap < delay) this.queue.addAfter(key, (delay = cap));
        log.error({ err, retryInMs: delay, retries: this.queue.numRequeues(key) }, 'reconcile failed; retrying with backoff');
      }
    } finally {
      this.metrics?.activeWorkers.dec(labels);
    }
    this.metrics?.reconcileTotal.inc({ ...labels, result: outcome });
    this.metrics?.reconcileTime.observe(labels, (this.clock.now() - started) / 1000);
  }
}

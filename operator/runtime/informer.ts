// A cache-backed informer over client-node's ListWatch that never stays down: client-node stops a
// ListWatch on any watch error except 410 Gone, so this wrapper restarts it with backoff.
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { realClock, type Clock, type Timer } from './clock.ts';
import { createLogger, type Logger } from './logger.ts';

/** The kind of change an informer reports. */
export type InformerEventType = 'add' | 'update' | 'delete';

/** Receives every change the informer's cache sees, including those found by a relist. */
export type InformerHandler<T> = (type: InformerEventType, obj: T) => void;

/** What to watch and how to recover. */
export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Collection path, e.g. /api/v1/configmaps (cluster-wide) or /api/v1/namespaces/ns/configmaps; see resourcePath. */
  path: string;
  /** Lists the same collection (the typed client call matching path). */
  list: () => Promise<KubernetesListObject<T>>;
  /** Server-side label filter. */
  labelSelector?: string;
  /** First restart delay after a failure. Default 500 ms. */
  restartBaseDelayMs?: number;
  /**
   * Longest restart delay. Default 5 s: a watch is resumed at most ~5 s after the API server is
   * back, however long it was away (30 s, client-go's reflector cap, left a process that rode out
   * a 16–31 s outage blind for up to 15 s after it). A few informers retrying every 5 s is no load.
   */
  restartMaxDelayMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** The Watch the connections go through (default: a plain one on kubeConfig). */
  watch?: Watch;
  /**
   * What the cache keeps of each object, listed or watched (default: the object as served). It
   * must keep metadata's name, namespace and resourceVersion; dropping what no reader needs
   * (managedFields, most of a Pod) is most of an operator's memory.
   */
  transform?: (obj: T) => T;
}

/** The collection path of a resource, namespaced when namespace is given, else cluster-wide. */
export function resourcePath(r: { apiVersion: string; plural: string; namespace?: string }): string {
  const prefix = r.apiVersion.includes('/') ? `/apis/${r.apiVersion}` : `/api/${r.apiVersion}`;
  return r.namespace ? `${prefix}/namespaces/${encodeURIComponent(r.namespace)}/${r.plural}` : `${prefix}/${r.plural}`;
}

// Sees every connection ListWatch makes: the first one means the initial list is in the cache,
// events prove the connection healthy. Bookmarks keep the resourceVersion fresh, so a reconnect
// rarely lands on a compacted version (410).
class ObservedWatch extends Watch {
  private readonly base: Watch | undefined;
  private readonly hooks: { connecting(): void; event(): void; closed(err: unknown): void };
  private readonly open = new Set<AbortController>();
  private closing = false;

  private readonly transform: ((obj: unknown) => unknown) | undefined;

  constructor(kubeConfig: KubeConfig, base: Watch | undefined, hooks: ObservedWatch['hooks'], transform?: (obj: unknown) => unknown) {
    super(kubeConfig);
    this.base = base;
    this.hooks = hooks;
    this.transform = transform;
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    this.hooks.connecting();
    const params = { ...queryParams, allowWatchBookmarks: true };
    const onEvent = (phase: string, obj: unknown, watchObj?: unknown): void => {
      this.hooks.event();
      // Bookmarks and errors carry no object to keep.
      callback(phase, this.transform && (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') ? this.transform(obj) : obj, watchObj);
    };
    const onDone = (err: unknown): void => {
      this.hooks.closed(err);
      done(err);
    };
    const request = this.base ? this.base.watch(path, params, onEvent, onDone) : super.watch(path, params, onEvent, onDone);
    // ListWatch.stop() can only abort a request it already holds; one still connecting when
    // stop() runs would live on unnoticed, so every request is tracked and aborted here.
    return request.then((controller) => {
      if (this.closing) controller.abort();
      else {
        this.open.add(controller);
        controller.signal.addEventListener('abort', () => this.open.delete(controller), { once: true });
      }
      return controller;
    });
  }

  /** Allows new connections (after abortAll). */
  reopen(): void {
    this.closing = false;
  }

  /** Aborts every open or still-connecting request. */
  abortAll(): void {
    this.closing = true;
    for (const c of this.open) c.abort();
    this.open.clear();
  }
}

/** A ListWatch with a cache, typed change events, hasSynced(), and restart with backoff on any error. */
export class Informer<T extends KubernetesObject> {
  /** The collection path being watched. */
  readonly path: string;
  private readonly lw: ListWatch<T>;
  private readonly watch: ObservedWatch;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly handlers: Array<InformerHandler<T>> = [];
  private readonly syncWaiters: Array<() => void> = [];
  private synced = false;
  private running = false;
  private failures = 0;
  private restarts = 0;
  private restartTimer: Timer | undefined;
  private lastError: unknown;

  constructor(opts: InformerOptions<T>) {
    this.path = opts.path;
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? createLogger({ level: 'silent' })).child({ informer: opts.path });
    this.baseDelayMs = opts.restartBaseDelayMs ?? 500;
    this.maxDelayMs = opts.restartMaxDelayMs ?? 5_000;
    const transform = opts.transform;
    const watch = (this.watch = new ObservedWatch(
      opts.kubeConfig,
      opts.watch,
      {
        connecting: () => this.markSynced(),
        event: () => (this.failures = 0),
        closed: (err) => {
          if (!err) this.failures = 0;
        },
      },
      transform as ((obj: unknown) => unknown) | undefined,
    ));
    const list = transform
      ? async (): Promise<KubernetesListObject<T>> => {
          const l = await opts.list();
          l.items = l.items.map(transform);
          return l;
        }
      : opts.list;
    this.lw = new ListWatch<T>(opts.path, watch, list, false, opts.labelSelector);
    this.lw.on('add', (obj) => this.emit('add', obj));
    this.lw.on('update', (obj) => this.emit('update', obj));
    this.lw.on('delete', (obj) => this.emit('delete', obj));
    // ListWatch reports here every failure it gave up on (list or watch); it is stopped afterwards.
    this.lw.on('error', (err) => this.onFailure(err));
  }

  /** Registers a change handler; register before start() to see the initial list as adds. */
  onEvent(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  /** Starts listing and watching; returns at once (see waitForSync). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.watch.reopen();
    this.connect();
  }

  /** True once the cache holds a complete list (stays true across restarts, like client-go). */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once hasSynced(); with timeoutMs, rejects if that takes longer. */
  waitForSync(timeoutMs?: number): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : this.clock.setTimer(() => reject(new Error(`informer ${this.path} not synced after ${timeoutMs} ms: ${String(this.lastError)}`)), timeoutMs);
      this.syncWaiters.push(() => {
        timer?.cancel();
        resolve();
      });
    });
  }

  /** The cached object, if present. */
  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  /** Cached objects, of one namespace or of all. */
  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace);
  }

  /** Counters for metrics and tests. */
  stats(): { restarts: number; failures: number; synced: boolean } {
    return { restarts: this.restarts, failures: this.failures, synced: this.synced };
  }

  /** Stops watching and cancels any pending restart. The cache stays readable. */
  async stop(): Promise<void> {
    this.running = false;
    this.restartTimer?.cancel();
    this.restartTimer = undefined;
    await this.lw.stop();
    this.watch.abortAll();
  }

  private connect(): void {
    this.restartTimer = undefined;
    if (!this.running) return;
    // start() keeps the last resourceVersion: a restart resumes the watch, and a 410 from the
    // server clears it inside ListWatch, which then relists and reports the differences.
    this.lw.start().catch((err: unknown) => this.onFailure(err));
  }

  private onFailure(err: unknown): void {
    // Stopping aborts the connection, which ListWatch reports as an error too.
    if (!this.running) return;
    this.lastError = err;
    const delay = Math.min(this.baseDelayMs * 2 ** this.failures, this.maxDelayMs);
    this.failures++;
    this.restarts++;
    this.log.warn({ err, restartInMs: delay, failures: this.failures }, 'watch failed; restarting');
    this.restartTimer?.cancel();
    this.restartTimer = this.clock.setTimer(() => this.connect(), delay);
  }

  private markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  private emit(type: InformerEventType, obj: T): void {
    for (const handler of this.handlers) {
      try {
        handler(type, obj);
      } catch (err) {
        // A faulty handler must not break the cache update of the others.
        this.log.error({ err, type }, 'informer event handler threw');
      }
    }
  }
}

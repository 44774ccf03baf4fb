// The reconcile contract, after controller-runtime's pkg/reconcile: a reconciler gets only a key,
// re-reads the world, and tells the controller how to follow up through its return value.
import type { Logger } from './logger.ts';

/** What a successful reconcile asks for next; nothing means "done until the next event". */
export interface ReconcileResult {
  /** Reconcile again after this many milliseconds (backoff is reset). */
  requeueAfter?: number;
  /** Reconcile again with the key's rate-limited backoff, without counting an error. */
  requeue?: boolean;
}

/** What a reconcile call gets besides its key. */
export interface ReconcileContext {
  /**
   * Aborted when this process must stop reconciling (lost leadership, shutdown): pass it to every
   * request (withSignal for client-node). A reconcile that rejects once it fired is neither an
   * error nor retried here: the next leader re-reads the world.
   */
  signal: AbortSignal;
  /** A logger whose every line carries the key. */
  log: Logger;
}

/** A level-triggered reconcile of one object key; throwing means "retry with backoff". */
export type Reconciler = (key: string, ctx: ReconcileContext) => Promise<ReconcileResult | void>;

const RETRY_WITHIN = Symbol('retryWithin');

/**
 * Marks a reconcile's error with the follow-up it had planned before failing: the controller
 * retries it with backoff, but no later than ms — a failed write must not push the next
 * analysis round minutes out. Non-Error values are wrapped.
 */
export function retryWithin<E>(err: E, ms: number | undefined): E | Error {
  if (ms === undefined) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  Object.defineProperty(e, RETRY_WITHIN, { value: ms, enumerable: false });
  return e;
}

/** The latest retry a thrown error asks for (see retryWithin), if any. */
export function retryWithinOf(err: unknown): number | undefined {
  return err instanceof Error ? ((err as Error & { [RETRY_WITHIN]?: number })[RETRY_WITHIN]) : undefined;
}

/** An error that retrying cannot fix (e.g. an invalid spec): logged and counted, never retried. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export { objectKey, splitKey } from './keys.ts';

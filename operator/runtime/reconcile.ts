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

/** An error that retrying cannot fix (e.g. an invalid spec): logged and counted, never retried. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export { objectKey, splitKey } from './keys.ts';

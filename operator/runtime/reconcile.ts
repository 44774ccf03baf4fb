// The reconcile contract, after controller-runtime's pkg/reconcile: a reconciler gets only a key,
// re-reads the world, and tells the controller how to follow up through its return value.
import type { KubernetesObject } from '@kubernetes/client-node';
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

/** The queue key of an object: namespace/name, or name for cluster-scoped objects. */
export function objectKey(obj: KubernetesObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error('object without metadata.name has no key');
  const namespace = obj.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

/** Splits a key back into namespace (empty for cluster-scoped objects) and name. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

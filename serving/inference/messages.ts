// The messages exchanged between the pool and its worker threads.
import type { Tensor } from '../protocol/tensor.ts';
import type { Signature } from '../protocol/signature.ts';

/** Data each worker starts with. */
export interface WorkerInit {
  model: Uint8Array;
  intraOpThreads: number;
  spinning: boolean;
}

/** Pool → worker. */
export type ToWorker = { kind: 'run'; seq: number; inputs: Tensor[] };

/** Worker → pool. */
export type FromWorker =
  | { kind: 'ready'; signature: Signature }
  | { kind: 'load-error'; message: string }
  | { kind: 'result'; seq: number; outputs: Tensor[]; computeSeconds: number }
  | { kind: 'error'; seq: number; message: string };

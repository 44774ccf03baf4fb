// The messages exchanged between the pool and its worker threads. Job groups normally
// travel through the shared-memory channel (channel.ts); these messages carry the groups
// too large for its arenas, and the worker's lifecycle.
import type { Tensor } from '../protocol/tensor.ts';
import type { Signature } from '../protocol/signature.ts';
import type { ChannelBuffers, JobResult } from './channel.ts';

/** Data each worker starts with. */
export interface WorkerInit {
  model: Uint8Array;
  intraOpThreads: number;
  spinning: boolean;
  channel: ChannelBuffers;
}

/** Pool → worker: a group of independent jobs that did not fit the input arena. */
export type ToWorker = { kind: 'run'; seq: number; jobs: Tensor[][] };

/** Worker → pool. */
export type FromWorker =
  | { kind: 'ready'; signature: Signature }
  | { kind: 'load-error'; message: string }
  | { kind: 'result'; seq: number; results: JobResult[] };

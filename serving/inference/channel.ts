// The shared-memory channel between the pool and one worker. A postMessage round trip
// with tensors costs ~45–60 µs of CPU on one core (structured clone, MessagePort and
// EventTarget dispatch on both threads), more than a tabular session.run; here a group of
// jobs is written into a SharedArrayBuffer arena and a doorbell in a shared Int32Array
// wakes the other side through Atomics (~14 µs round trip with the worker blocked in
// Atomics.wait; ~29 µs when both sides use waitAsync). Pure encoding: bytes in, tensors out.
import { DATATYPES, allocate, elementCount, viewOf } from '../protocol/tensor.ts';
import type { Datatype, Tensor, TensorData } from '../protocol/tensor.ts';

/** Control word the pool bumps when a job group is in the input arena. */
export const JOB = 0;
/** Control word the worker bumps when a group's results are ready. */
export const RESULT = 1;
/** Control word the worker sets to 1 when a group's results went by postMessage instead. */
export const VIA_MESSAGE = 2;
/** Control word the pool sets to 1 when the group it rang for went by postMessage instead. */
export const JOB_VIA_MESSAGE = 3;

/** Shared memory of one worker: the doorbells and one arena per direction. */
export interface ChannelBuffers {
  control: SharedArrayBuffer;
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
}

/**
 * One run's inputs: its tensors, or the requests whose tensors are stacked along dimension 0
 * into them (a merged batch), written into the arena without an intermediate copy. Requests
 * in a stack share names, datatypes and trailing dimensions (their batch key).
 */
export type JobInputs = readonly Tensor[] | { readonly stack: readonly (readonly Tensor[])[] };

/** Result of one job of a group: its outputs, or the message of the error it raised. */
export type JobResult = { outputs: Tensor[]; computeSeconds: number } | { error: string };

/** Arena size per direction; groups that do not fit travel by postMessage instead. */
export const ARENA_BYTES = 4 << 20;

/** Allocates the shared memory of one worker. */
export function createChannel(arenaBytes = ARENA_BYTES): ChannelBuffers {
  return { control: new SharedArrayBuffer(16), input: new SharedArrayBuffer(arenaBytes), output: new SharedArrayBuffer(arenaBytes) };
}

const CODES = Object.keys(DATATYPES) as Datatype[];
const CODE_OF = new Map(CODES.map((dt, i) => [dt, i]));

/** Byte views of one arena, made once per arena. */
export class Arena {
  readonly bytes: Buffer;
  private readonly view: DataView;

  constructor(buffer: SharedArrayBuffer) {
    this.bytes = Buffer.from(buffer);
    this.view = new DataView(buffer);
  }

  /** Writes job groups (pool → worker); false when they do not fit. */
  writeJobs(jobs: readonly JobInputs[]): boolean {
    let size = 4;
    for (const job of jobs) size += jobSize(job);
    if (size > this.bytes.length) return false;
    let at = this.u32(0, jobs.length);
    for (const job of jobs) at = 'stack' in job ? this.writeStack(at, job.stack) : this.writeTensors(at, job);
    return true;
  }

  /**
   * Reads what writeJobs wrote. With `views`, the tensors view the arena (no allocation or
   * copy: the worker's inputs, valid until the group is answered); else they own fresh buffers.
   */
  readJobs(views = false): Tensor[][] {
    const count = this.view.getUint32(0, true);
    const jobs: Tensor[][] = [];
    let at = 4;
    for (let j = 0; j < count; j++) {
      const read = this.readTensors(at, views);
      jobs.push(read.tensors);
      at = read.at;
    }
    return jobs;
  }

  /** Writes a group's results (worker → pool); false when they do not fit. */
  writeResults(results: readonly JobResult[]): boolean {
    let size = 4;
    for (const r of results) size += 'error' in r ? 8 + Buffer.byteLength(r.error) : 12 + tensorsSize(r.outputs);
    if (size > this.bytes.length) return false;
    let at = this.u32(0, results.length);
    for (const r of results) {
      if ('error' in r) {
        at = this.u32(at, 1);
        const n = this.bytes.write(r.error, at + 4, 'utf8');
        at = this.u32(at, n) + n;
      } else {
        at = this.u32(at, 0);
        this.view.setFloat64(at, r.computeSeconds, true);
        at = this.writeTensors(at + 8, r.outputs);
      }
    }
    return true;
  }

  /** Reads what writeResults wrote. */
  readResults(): JobResult[] {
    const count = this.view.getUint32(0, true);
    const results: JobResult[] = [];
    let at = 4;
    for (let j = 0; j < count; j++) {
      const status = this.view.getUint32(at, true);
      at += 4;
      if (status === 1) {
        const n = this.view.getUint32(at, true);
        results.push({ error: this.bytes.toString('utf8', at + 4, at + 4 + n) });
        at += 4 + n;
        continue;
      }
      const computeSeconds = this.view.getFloat64(at, true);
      const read = this.readTensors(at + 8, false);
      results.push({ outputs: read.tensors, computeSeconds });
      at = read.at;
    }
    return results;
  }

  private u32(at: number, v: number): number {
    this.view.setUint32(at, v, true);
    return at + 4;
  }

  // Per tensor: u16 name length, name (UTF-8), u8 datatype, u8 rank, f64 dims, u32 bytes,
  // data at the next multiple of 8 (so typed arrays of any element size can view it).
  private writeTensors(start: number, tensors: readonly Tensor[]): number {
    let at = this.u32(start, tensors.length);
    for (const t of tensors) at = this.writeTensor(at, t.name, t.datatype, t.shape, [t.data]);
    return at;
  }

  /** Writes the requests' tensors stacked: one tensor per name, rows summed, data concatenated. */
  private writeStack(start: number, requests: readonly (readonly Tensor[])[]): number {
    const first = requests[0]!;
    let at = this.u32(start, first.length);
    for (const proto of first) {
      const parts = requests.map((r) => stackPart(r, proto.name));
      let rows = 0;
      for (const p of parts) rows += p.shape[0] ?? 0;
      at = this.writeTensor(at, proto.name, proto.datatype, [rows, ...proto.shape.slice(1)], parts.map((p) => p.data));
    }
    return at;
  }

  private writeTensor(start: number, name: string, datatype: Datatype, shape: readonly number[], parts: readonly TensorData[]): number {
    const n = this.bytes.write(name, start + 2, 'utf8');
    this.view.setUint16(start, n, true);
    let at = start + 2 + n;
    this.view.setUint8(at, CODE_OF.get(datatype)!);
    this.view.setUint8(at + 1, shape.length);
    at += 2;
    for (const d of shape) {
      this.view.setFloat64(at, d, true);
      at += 8;
    }
    let byteLength = 0;
    for (const p of parts) byteLength += p.byteLength;
    at = align8(this.u32(at, byteLength));
    for (const p of parts) {
      this.bytes.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
      at += p.byteLength;
    }
    return at;
  }

  private readTensors(start: number, views: boolean): { tensors: Tensor[]; at: number } {
    const count = this.view.getUint32(start, true);
    let at = start + 4;
    const tensors: Tensor[] = [];
    for (let i = 0; i < count; i++) {
      const n = this.view.getUint16(at, true);
      const name = this.bytes.toString('utf8', at + 2, at + 2 + n);
      at += 2 + n;
      const datatype = CODES[this.view.getUint8(at)]!;
      const rank = this.view.getUint8(at + 1);
      at += 2;
      const shape: number[] = [];
      for (let d = 0; d < rank; d++) {
        shape.push(this.view.getFloat64(at, true));
        at += 8;
      }
      const byteLength = this.view.getUint32(at, true);
      at = align8(at + 4);
      const count = elementCount(shape);
      let data: TensorData;
      if (views) {
        data = viewOf(datatype, this.bytes.buffer, at, count);
      } else {
        // A fresh buffer per tensor: the arena is overwritten by the next group.
        data = allocate(datatype, count);
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(this.bytes.subarray(at, at + byteLength));
      }
      at += byteLength;
      tensors.push({ name, datatype, shape, data });
    }
    return { tensors, at };
  }
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function stackPart(request: readonly Tensor[], name: string): Tensor {
  const t = request.find((x) => x.name === name);
  if (t === undefined) throw new Error(`request lacks input "${name}"`);
  return t;
}

function jobSize(job: JobInputs): number {
  if (!('stack' in job)) return tensorsSize(job);
  // The stacked tensors have the first request's names and ranks, and all requests' bytes.
  let size = tensorsSize(job.stack[0]!);
  for (let i = 1; i < job.stack.length; i++) for (const t of job.stack[i]!) size += t.data.byteLength;
  return size;
}

function tensorsSize(tensors: readonly Tensor[]): number {
  let size = 4;
  // 4 bytes per character bound a name's UTF-8; 7 bytes of padding at most before the data.
  for (const t of tensors) size += 2 + 4 * t.name.length + 2 + 8 * t.shape.length + 4 + 7 + t.data.byteLength;
  return size;
}

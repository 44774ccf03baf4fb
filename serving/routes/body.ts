// Request bodies of the inference route, read without the garbage of a generic parser. A
// 110 KB image tensor read the usual way costs a chunk array, a concatenated copy and — when
// the binary part after the JSON header is not aligned for its typed array — one more copy,
// ~220 KB of short-lived ArrayBuffers per request that V8 answers with old-space GCs. Here a
// body with a Content-Length is read straight into a buffer from a small pool, placed so the
// binary part starts 8-byte aligned (the codec then views it without copying), and the
// buffer goes back to the pool once the request is finished with it.
import type { IncomingMessage } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { malformedRequest, payloadTooLarge } from '../errors.ts';

/** Bodies smaller than this are not pooled: they arrive in one chunk, which is used as is. */
export const POOL_MIN_BYTES = 16 * 1024;
/** Bodies larger than this get a buffer of their own (and then belong to the tensor). */
export const POOL_MAX_BYTES = 4 * 1024 * 1024;

/** Chunk bytes read between two requested scavenges. */
export const SCAVENGE_EVERY_BYTES = 16 * 1024 * 1024;

type MinorGc = (opts: { type: 'minor'; execution: 'async' }) => unknown;
let minorGc: MinorGc | undefined;
let chunkBytes = 0;

/**
 * Socket chunks (up to 64 KiB each, garbage once copied) are young ArrayBuffers: V8 counts
 * their bytes toward its full-GC trigger at once but frees them only at the next scavenge,
 * which JS allocation alone triggers far less often when bodies are large. At ~600 PP-OCR
 * requests a second that meant 20+ mark-compacts in 5 s and ~250 µs of GC CPU per request;
 * a small young generation (--max-semi-space-size=4) removed them but cost tabular models
 * 2-4%. So every SCAVENGE_EVERY_BYTES of chunks read, the server asks for an asynchronous
 * minor GC, which frees them; small bodies never reach it.
 */
export function countChunkBytes(n: number): void {
  chunkBytes += n;
  if (chunkBytes < SCAVENGE_EVERY_BYTES) return;
  chunkBytes = 0;
  if (minorGc === undefined) {
    setFlagsFromString('--expose-gc');
    minorGc = runInNewContext('gc') as MinorGc;
  }
  void minorGc({ type: 'minor', execution: 'async' });
}

/** A body read for the inference route. */
export interface Body {
  bytes: Buffer;
  /** True when `bytes` is the only view of its ArrayBuffer in use: the codec may view into it. */
  exclusive: boolean;
}

/** Reusable body buffers by power-of-two capacity, at most `maxIdleBytes` kept idle. */
export class BodyPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private readonly issued = new WeakSet<ArrayBuffer>();
  private readonly maxIdleBytes: number;
  private idleBytes = 0;
  /** Buffers handed out so far, for tests: when a body takes one tells what it holds. */
  acquired = 0;

  constructor(maxIdleBytes = 64 * 1024 * 1024) {
    this.maxIdleBytes = maxIdleBytes;
  }

  /** A buffer of `size` bytes starting `pad` bytes into a pooled ArrayBuffer. */
  acquire(size: number, pad: number): Buffer {
    let capacity = POOL_MIN_BYTES;
    while (capacity < size + pad) capacity *= 2;
    this.acquired++;
    const list = this.free.get(capacity);
    let ab = list?.pop();
    if (ab === undefined) {
      ab = new ArrayBuffer(capacity);
      this.issued.add(ab);
    } else {
      this.idleBytes -= capacity;
    }
    return Buffer.from(ab, pad, size);
  }

  /** Returns a body's buffer; anything the pool did not issue, or that was moved away, is dropped. */
  release(bytes: Buffer): void {
    const ab = bytes.buffer;
    if (!(ab instanceof ArrayBuffer) || !this.issued.has(ab) || ab.byteLength === 0) return;
    if (this.idleBytes + ab.byteLength > this.maxIdleBytes) return;
    let list = this.free.get(ab.byteLength);
    if (list === undefined) this.free.set(ab.byteLength, (list = []));
    if (list.includes(ab)) return;
    list.push(ab);
    this.idleBytes += ab.byteLength;
  }

  /** Bytes held idle, for tests and metrics. */
  idle(): number {
    return this.idleBytes;
  }
}

/** Where the binary part of a body would start unaligned, the padding that aligns it to 8. */
export function alignmentPad(headerLength: number | undefined): number {
  return headerLength === undefined ? 0 : (8 - (headerLength % 8)) % 8;
}

/**
 * Reads a request body: into a pooled, aligned buffer when Content-Length says it is large
 * enough, else as the single chunk it arrived in or a concatenation. Fails with 413 beyond
 * `limit` (before reading, when Content-Length tells) and 400 when the stream ends short of
 * its Content-Length or errors. The pooled buffer is taken only once every byte has arrived:
 * reserving the declared length up front let a slow client hold megabytes with a few bytes
 * sent, so until then a body holds only the chunks it has actually received.
 */
export function readBody(stream: IncomingMessage, limit: number, pool: BodyPool, headerLength: number | undefined): Promise<Body> {
  return new Promise((resolve, reject) => {
    const declared = stream.headers['content-length'];
    const length = declared === undefined ? undefined : Number(declared);
    if (length !== undefined && length > limit) {
      stream.resume();
      reject(payloadTooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      stream.off('data', onData);
      stream.resume();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      if (received + chunk.length > (length ?? limit)) {
        fail(length === undefined ? payloadTooLarge(limit) : malformedRequest(`body is longer than its Content-Length of ${length} bytes`));
        return;
      }
      chunks.push(chunk);
      received += chunk.length;
      countChunkBytes(chunk.length);
    };
    stream.on('data', onData);
    stream.once('error', (err) => fail(malformedRequest(`request body could not be read: ${err.message}`)));
    stream.once('aborted', () => fail(malformedRequest('request body was aborted')));
    stream.once('end', () => {
      if (settled) return;
      if (length !== undefined && received !== length) {
        fail(malformedRequest(`body ended after ${received} of its Content-Length of ${length} bytes`));
        return;
      }
      settled = true;
      resolve(assemble(chunks, received, length !== undefined, pool, headerLength));
    });
  });
}

/** The received chunks as one body: copied into a pooled, aligned buffer when large enough to be worth it. */
function assemble(chunks: Buffer[], size: number, declared: boolean, pool: BodyPool, headerLength: number | undefined): Body {
  if (!declared || size < POOL_MIN_BYTES || size > POOL_MAX_BYTES) {
    return { bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), exclusive: false };
  }
  const target = pool.acquire(size, alignmentPad(headerLength));
  let offset = 0;
  for (const chunk of chunks) offset += chunk.copy(target, offset);
  return { bytes: target, exclusive: true };
}

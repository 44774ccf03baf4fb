// Body reading for the inference route: the pool's reuse rules (pure), and readBody over
// real HTTP on loopback — Content-Length and chunked bodies, limits, truncation.
import { describe, test, expect, afterAll, beforeAll } from '@jest/globals';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServingError } from '../errors.ts';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { BodyPool, POOL_MIN_BYTES, SCAVENGE_EVERY_BYTES, alignmentPad, countChunkBytes, readBody } from './body.ts';
import type { Body } from './body.ts';

describe('BodyPool', () => {
  test('reuses a released buffer of the same size class, at the requested offset', () => {
    const pool = new BodyPool();
    const a = pool.acquire(20_000, 3);
    expect(a.length).toBe(20_000);
    expect(a.byteOffset).toBe(3);
    expect(a.buffer.byteLength).toBe(32 * 1024);
    pool.release(a);
    expect(pool.idle()).toBe(32 * 1024);
    const b = pool.acquire(30_000, 5);
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(5);
    expect(pool.idle()).toBe(0);
    // A different size class is a new buffer.
    expect(pool.acquire(100_000, 0).buffer).not.toBe(a.buffer);
  });

  test('drops what it did not issue, what was moved away, doubles, and anything beyond its idle cap', () => {
    const pool = new BodyPool(40 * 1024);
    pool.release(Buffer.alloc(POOL_MIN_BYTES));
    expect(pool.idle()).toBe(0);
    const moved = pool.acquire(POOL_MIN_BYTES, 0);
    structuredClone(moved.buffer, { transfer: [moved.buffer as ArrayBuffer] });
    pool.release(moved);
    expect(pool.idle()).toBe(0);
    const a = pool.acquire(20_000, 0);
    pool.release(a);
    pool.release(a);
    expect(pool.idle()).toBe(32 * 1024);
    const b = pool.acquire(20_000, 0);
    const c = pool.acquire(20_000, 0);
    pool.release(b);
    pool.release(c);
    expect(pool.idle()).toBe(32 * 1024);
  });

  test('pads the binary part of a body to an 8-byte boundary', () => {
    expect(alignmentPad(undefined)).toBe(0);
    expect(alignmentPad(8)).toBe(0);
    expect(alignmentPad(101)).toBe(3);
    expect((101 + alignmentPad(101)) % 8).toBe(0);
  });
});

describe('chunk garbage', () => {
  test('every SCAVENGE_EVERY_BYTES of chunks read asks V8 for a minor GC', async () => {
    const minors: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const detail = (e as unknown as { detail?: { kind?: number } }).detail;
        if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minors.push(e.startTime);
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    try {
      const crossed = performance.now();
      countChunkBytes(SCAVENGE_EVERY_BYTES);
      for (let i = 0; i < 40 && !minors.some((t) => t >= crossed); i++) await new Promise((r) => setTimeout(r, 10));
      expect(minors.some((t) => t >= crossed)).toBe(true);
    } finally {
      observer.disconnect();
    }
  });
});

describe('readBody over HTTP', () => {
  const pool = new BodyPool();
  let server: Server;
  let port = 0;
  let last: Body | ServingError | undefined;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const header = req.headers['inference-header-content-length'];
      readBody(req, 64 * 1024, pool, header === undefined ? undefined : Number(header)).then(
        (body) => {
          last = body;
          res.end(String(body.bytes.length));
        },
        (err: ServingError) => {
          last = err;
          res.statusCode = err.statusCode;
          res.end(err.message);
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** Sends `parts` as separate writes; `length` overrides Content-Length (undefined: chunked). */
  function send(parts: Buffer[], headers: Record<string, string | number>): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      for (const p of parts) req.write(p);
      req.end();
    });
  }

  test('a large body with Content-Length lands in a pooled buffer, its binary part aligned', async () => {
    const data = Buffer.alloc(40_000, 7);
    data[0] = 1;
    data[39_999] = 2;
    const r = await send([data.subarray(0, 10_000), data.subarray(10_000)], { 'content-length': data.length, 'inference-header-content-length': 101 });
    expect(r).toEqual({ status: 200, text: '40000' });
    const body = last as Body;
    expect(body.exclusive).toBe(true);
    expect(body.bytes.equals(data)).toBe(true);
    expect((body.bytes.byteOffset + 101) % 8).toBe(0);
    pool.release(body.bytes);
  });

  test('a small body or one without Content-Length is read as it came, not pooled', async () => {
    const small = await send([Buffer.from('{"inputs":[]}')], { 'content-length': 13 });
    expect(small.text).toBe('13');
    expect((last as Body).exclusive).toBe(false);
    const chunked = await send([Buffer.alloc(30_000, 1), Buffer.alloc(5_000, 2)], { 'transfer-encoding': 'chunked' });
    expect(chunked.text).toBe('35000');
    const body = last as Body;
    expect(body.exclusive).toBe(false);
    expect(body.bytes[29_999]).toBe(1);
    expect(body.bytes[30_000]).toBe(2);
  });

  test('413 beyond the limit: at once from Content-Length, while streaming without it', async () => {
    const declared = await send([Buffer.alloc(100_000)], { 'content-length': 100_000 });
    expect(declared.status).toBe(413);
    expect((last as ServingError).statusCode).toBe(413);
    const streamed = await send([Buffer.alloc(40_000), Buffer.alloc(40_000)], { 'transfer-encoding': 'chunked' });
    expect(streamed.status).toBe(413);
    expect(streamed.text).toMatch(/exceeds the limit of 65536 bytes/);
  });

  test('a body that ends short of its Content-Length is a 400 and never took a pooled buffer', async () => {
    // A slow or vanishing client must hold only the bytes it sent, not its declared length.
    const idle = pool.idle();
    const acquired = pool.acquired;
    expect(idle).toBe(64 * 1024);
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'content-length': 50_000 } });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(20_000));
      setTimeout(() => {
        expect(pool.acquired).toBe(acquired);
        req.destroy();
        resolve();
      }, 100);
    });
    for (let i = 0; i < 50 && !(last instanceof ServingError && last.statusCode === 400); i++) await new Promise((r) => setTimeout(r, 20));
    expect(last).toBeInstanceOf(ServingError);
    expect((last as ServingError).message).toMatch(/aborted|ended after 20000 of its Content-Length of 50000/);
    expect(pool.acquired).toBe(acquired);
    expect(pool.idle()).toBe(idle);
  });
});

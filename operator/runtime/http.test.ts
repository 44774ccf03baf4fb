// Capped body reads: a body is read whole up to the cap, refused past it, and cut by its signal.
import { describe, expect, test } from '@jest/globals';
import { getEventListeners } from 'node:events';
import { BodyTooLargeError, formatBytes, readCapped } from './http.ts';

/** A body of `chunk`-sized pieces, `count` of them (Infinity: never ends), counting what was pulled and whether it was cancelled. */
function streamed(chunk: Uint8Array, count: number, headers: Record<string, string> = {}): { res: Response; pulled: () => number; cancelled: () => boolean } {
  let pulled = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled >= count) return c.close();
      pulled++;
      c.enqueue(chunk);
    },
    cancel() {
      cancelled = true;
    },
  });
  return { res: new Response(body, { headers }), pulled: () => pulled, cancelled: () => cancelled };
}

/** A body that sends one chunk, then nothing, ever. */
function stalled(): { res: Response; cancelled: () => boolean } {
  let cancelled = false;
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent) return new Promise<void>(() => undefined);
      sent = true;
      c.enqueue(new TextEncoder().encode('{"status":'));
    },
    cancel() {
      cancelled = true;
    },
  });
  return { res: new Response(body), cancelled: () => cancelled };
}

describe('readCapped', () => {
  test('reads a body within the cap whole, as UTF-8 even when a character spans two chunks', async () => {
    const bytes = new TextEncoder().encode('{"name":"modèle"}');
    const split = bytes.indexOf(0xc3) + 1;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, split));
        c.enqueue(bytes.slice(split));
        c.close();
      },
    });
    expect(await readCapped(new Response(body), bytes.length)).toBe('{"name":"modèle"}');
    expect(await readCapped(new Response(null), 10)).toBe('');
  });

  test('refuses a declared Content-Length past the cap without reading the body', async () => {
    const s = streamed(new Uint8Array(1024), 10, { 'content-length': String(10 * 1024) });
    const read = readCapped(s.res, 4096);
    await expect(read).rejects.toThrow(BodyTooLargeError);
    await expect(read).rejects.toThrow('the answer is 10 KiB (Content-Length), more than the 4 KiB allowed; not read');
    expect(s.pulled()).toBeLessThanOrEqual(1);
    expect(s.cancelled()).toBe(true);
  });

  test('stops an endless body at the cap and cancels it: memory stays bounded', async () => {
    const s = streamed(new Uint8Array(64 * 1024), Infinity);
    await expect(readCapped(s.res, 1024 * 1024)).rejects.toThrow('the answer is larger than 1 MiB; stopped reading there');
    // The stream's queue holds at most a chunk or two beyond what was read.
    expect(s.pulled()).toBeLessThanOrEqual(1024 / 64 + 3);
    expect(s.cancelled()).toBe(true);
  });

  test("a body that stalls is cut when the signal aborts, with the signal's reason", async () => {
    const s = stalled();
    const signal = AbortSignal.timeout(100);
    const started = Date.now();
    await expect(readCapped(s.res, 1024, signal)).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(s.cancelled()).toBe(true);
  });

  test('an already aborted signal reads nothing', async () => {
    const s = streamed(new Uint8Array(8), 3);
    const reason = new Error('stopped');
    await expect(readCapped(s.res, 1024, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(s.pulled()).toBeLessThanOrEqual(1);
  });

  test('leaves no listener on a long-lived signal', async () => {
    const { signal } = new AbortController();
    for (let i = 0; i < 3; i++) await readCapped(streamed(new Uint8Array(8), 2).res, 1024, signal);
    await expect(readCapped(streamed(new Uint8Array(8), Infinity).res, 1024, signal)).rejects.toThrow(BodyTooLargeError);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });
});

describe('formatBytes', () => {
  test.each<[number, string]>([
    [512, '512 bytes'],
    [1536, '1.5 KiB'],
    [4 * 1024 * 1024, '4 MiB'],
    [3 * 1024 ** 3, '3 GiB'],
  ])('%d is %s', (n, text) => expect(formatBytes(n)).toBe(text));
});

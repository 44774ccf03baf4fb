// Slow clients over real HTTP on loopback: a thousand connections trickling their headers or
// their bodies a byte at a time must neither slow normal requests down, nor hold memory for
// the bodies they declare, nor keep their sockets past the configured timeouts.
import { describe, test, expect, afterEach } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { openSlow, trickle as trickleAll } from '../test/fixtures/hostile.ts';
import type { SlowClient } from '../test/fixtures/hostile.ts';
import { startServing } from '../test/fixtures/serving.ts';
import type { TestServer } from '../test/fixtures/serving.ts';

const HEADERS_TIMEOUT_MS = 4000;
const REQUEST_TIMEOUT_MS = 5000;
/** Half trickle their headers, half declare a 4 MiB body (a pooled size) and trickle it. */
const SLOW = 1000;
const DECLARED_BODY = 4 * 1024 * 1024;
/** Node checks timeouts on an interval; a client is also only seen closed on its next turn. */
const LATENESS_MS = 2000;
const SAMPLES = 200;

const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }] });

/** The loaded measurement stops this long before the first slow client's headers time out. */
const MEASURE_MARGIN_MS = 1000;
/** Fewer samples than this before the margin and the measurement says nothing. */
const MIN_SAMPLES = 20;

/**
 * Median latency in ms of up to `SAMPLES` sequential inference requests, the last one started
 * before `until` (a performance.now() time) when given: a slow machine takes fewer samples
 * rather than measuring after the slow clients are gone.
 */
async function medianLatency(base: string, until = Infinity): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < SAMPLES && performance.now() < until; i++) {
    const t0 = performance.now();
    const r = await fetch(`${base}/v2/models/tabular/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await r.text();
    ms.push(performance.now() - t0);
    expect(r.status).toBe(200);
  }
  expect(ms.length).toBeGreaterThanOrEqual(Math.min(SAMPLES, MIN_SAMPLES));
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)]!;
}

describe('slow clients', () => {
  let server: TestServer | undefined;
  let clients: SlowClient[] = [];
  let trickle: NodeJS.Timeout | undefined;
  afterEach(async () => {
    clearInterval(trickle);
    for (const c of clients) c.socket.destroy();
    clients = [];
    await server?.close();
    server = undefined;
  });

  test('a thousand trickling connections: normal latency holds, memory stays bounded, each is closed within its timeout', async () => {
    server = await startServing('classifier.onnx', {
      SISKIN_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      SISKIN_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
    await server.serving.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (server.serving.app.server.address() as AddressInfo).port;
    const base = `http://127.0.0.1:${port}`;
    await medianLatency(base); // warm the JIT and the keep-alive connection
    const baseline = await medianLatency(base);
    const before = process.memoryUsage();

    for (let i = 0; i < SLOW; i += 100) {
      const batch = Array.from({ length: 100 }, (_, j) => openSlow(port, (i + j) % 2 === 0 ? 'headers' : 'body', DECLARED_BODY));
      clients.push(...(await Promise.all(batch)));
    }
    // One byte every 500 ms on every socket: never idle, never finished.
    trickle = setInterval(() => trickleAll(clients), 500);

    // Measured while every slow client is still open: under load 200 samples can outlast the
    // headers timeout, and a latency measured after the clients went would prove nothing.
    const loaded = await medianLatency(base, Math.min(...clients.map((c) => c.opened)) + HEADERS_TIMEOUT_MS - MEASURE_MARGIN_MS);
    const during = process.memoryUsage();
    expect(clients.every((c) => c.closed === undefined)).toBe(true);
    // Generous: a thousand sockets cost the event loop something, but not a queue.
    expect(loaded).toBeLessThan(Math.max(baseline * 5, baseline + 5));
    // Reserving each declared body would be 500 × 4 MiB = 2 GiB of ArrayBuffers.
    expect(during.arrayBuffers - before.arrayBuffers).toBeLessThan(64 * 1024 ** 2);
    expect(during.rss - before.rss).toBeLessThan(256 * 1024 ** 2);

    const deadline = performance.now() + REQUEST_TIMEOUT_MS + LATENESS_MS + 1000;
    while (clients.some((c) => c.closed === undefined) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const kind of ['headers', 'body'] as const) {
      const mine = clients.filter((c) => c.kind === kind);
      const timeout = kind === 'headers' ? HEADERS_TIMEOUT_MS : REQUEST_TIMEOUT_MS;
      const lived = mine.map((c) => (c.closed ?? Infinity) - c.opened);
      expect(Math.max(...lived)).toBeLessThan(timeout + LATENESS_MS);
      expect(Math.min(...lived)).toBeGreaterThanOrEqual(timeout - 50);
      // Node answers the timeout 408 before it closes the socket.
      expect(mine.filter((c) => !c.answer.startsWith('HTTP/1.1 408'))).toHaveLength(0);
    }
    // And the server serves as before.
    expect(await medianLatency(base)).toBeLessThan(Math.max(baseline * 5, baseline + 5));
  });

  test('connections beyond the bound are closed as they arrive, and the server serves again once they go', async () => {
    server = await startServing('classifier.onnx', { SISKIN_MAX_CONNECTIONS: '10' });
    await server.serving.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (server.serving.app.server.address() as AddressInfo).port;
    for (let i = 0; i < 12; i++) clients.push(await openSlow(port, 'body', DECLARED_BODY));
    // Node counts a connection once accepted; the two beyond the bound are closed at once.
    const deadline = performance.now() + 2000;
    while (clients.filter((c) => c.closed !== undefined).length < 2 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    expect(clients.map((c) => c.closed !== undefined)).toEqual([...new Array<boolean>(10).fill(false), true, true]);
    for (const c of clients) c.socket.destroy();
    while ((await new Promise<number>((resolve) => server!.serving.app.server.getConnections((_e, n) => resolve(n)))) > 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const r = await fetch(`http://127.0.0.1:${port}/v2/models/tabular/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(r.status).toBe(200);
  });

  test('the request timeout covers receiving a request, not computing its answer', async () => {
    server = await startServing('classifier-slow.onnx', { SISKIN_HEADERS_TIMEOUT_MS: '200', SISKIN_REQUEST_TIMEOUT_MS: '300', SISKIN_INLINE_MAX_MICROS: '0' });
    await server.serving.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (server.serving.app.server.address() as AddressInfo).port;
    // 150 rows at 7-15 ms each: over a second of compute, several request timeouts long.
    const data = Array.from({ length: 150 * 4 }, (_, i) => (i % 5) / 5);
    const slow = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [150, 4], data }] });
    const t0 = performance.now();
    const r = await fetch(`http://127.0.0.1:${port}/v2/models/tabular/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: slow });
    expect(r.status).toBe(200);
    await r.text();
    expect(performance.now() - t0).toBeGreaterThan(3 * 300);
  });
});

// The server over real HTTP on loopback: concurrent load while health and metrics keep
// answering, load shedding with 503 + Retry-After, and a graceful shutdown that loses no
// accepted request. Uses the deliberately slow fixtures (~15 and ~60 ms per row on one worker).
import { describe, test, expect, afterEach } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { encodeInferRequest } from './protocol/codec.ts';
import { startServing } from '../test/fixtures/serving.ts';
import type { TestServer } from '../test/fixtures/serving.ts';

const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }] });

async function listen(server: TestServer): Promise<string> {
  await server.serving.app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(server.serving.app.server.address() as AddressInfo).port}`;
}

function infer(base: string): Promise<Response> {
  return fetch(`${base}/v2/models/tabular/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
}

describe('serving over real HTTP', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test('health and metrics answer promptly while inference is saturated', async () => {
    server = await startServing('classifier-slow.onnx', { SISKIN_QUEUE_BOUND: '1000' });
    const base = await listen(server);
    const started = performance.now();
    const load = Array.from({ length: 40 }, () => infer(base));
    const probes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const [live, metrics] = await Promise.all([fetch(`${base}/v2/health/live`), fetch(`${base}/metrics`)]);
      probes.push(performance.now() - t0);
      expect(live.status).toBe(200);
      expect(metrics.status).toBe(200);
      await metrics.text();
      await live.text();
    }
    const results = await Promise.all(load);
    const loadMs = performance.now() - started;
    expect(results.map((r) => r.status)).toEqual(new Array(40).fill(200));
    await Promise.all(results.map((r) => r.text()));
    // The 40 requests need ≥ 0.5 s of compute on one worker; a probe queued behind them
    // would take about that long. Relative, so a busy machine does not make it flaky.
    expect(Math.max(...probes)).toBeLessThan(loadMs / 3);
    const text = await (await fetch(`${base}/metrics`)).text();
    // Requests that queued together ran as batches of several rows.
    const batches = Number(/siskin_batch_size_rows_count\{[^}]*\} (\d+)/.exec(text)?.[1]);
    expect(batches).toBeLessThan(40);
  });

  test('a full queue sheds load with 503 and Retry-After, and serves again afterwards', async () => {
    server = await startServing('classifier-slow.onnx', { SISKIN_QUEUE_BOUND: '2', SISKIN_BATCH_MAX_SIZE: '1' });
    const base = await listen(server);
    const results = await Promise.all(Array.from({ length: 12 }, () => infer(base)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(statuses).toContain(200);
    const shed = results.find((r) => r.status === 503)!;
    expect(shed.headers.get('retry-after')).toBe('1');
    expect(((await shed.json()) as { error: string }).error).toMatch(/queue is full/);
    await Promise.all(results.filter((r) => !r.bodyUsed).map((r) => r.text()));
    expect((await infer(base)).status).toBe(200);
  });

  test('graceful shutdown finishes every accepted request', async () => {
    const s = await startServing('classifier-slower.onnx', { SISKIN_QUEUE_BOUND: '100', SISKIN_BATCH_MAX_SIZE: '1' });
    server = s;
    const base = await listen(s);
    const pending = Array.from({ length: 8 }, () => infer(base));
    // Wait until all eight are accepted (queued or running; ~0.5 s of work) before shutting down.
    while (s.serving.ctx.model!.pendingRequests() < 8) await new Promise((r) => setTimeout(r, 5));
    const closing = s.serving.shutdown();
    const results = await Promise.all(pending);
    await closing;
    expect(results.map((r) => r.status)).toEqual(new Array(8).fill(200));
    await Promise.all(results.map((r) => r.json()));
    await expect(fetch(`${base}/v2/health/live`)).rejects.toThrow();
    server = undefined;
    await s.close().catch(() => {});
  });

  test('concurrent large binary requests, read into reused buffers, each get their own answer', async () => {
    // 2,000 rows of 4 floats: 32 KB bodies, pooled and reused between requests, with headers
    // of different lengths so the alignment padding differs; merged into batches or not.
    for (const batch of ['1', '32']) {
      const s = await startServing('classifier.onnx', { SISKIN_QUEUE_BOUND: '1000', SISKIN_BATCH_MAX_SIZE: batch });
      server = s;
      const base = await listen(s);
      const requests = Array.from({ length: 24 }, (_, i) => {
        const data = Float32Array.from({ length: 8_000 }, (_, j) => Math.sin(i * 7.3 + j * 0.11) * (1 + (i % 5)));
        return encodeInferRequest([{ name: 'input', datatype: 'FP32', shape: [2_000, 4], data }], { id: 'r'.repeat(i + 1), binary: true });
      });
      const send = (r: (typeof requests)[number]) =>
        fetch(`${base}/v2/models/tabular/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(r.headerLength) },
          body: r.body as Buffer,
        }).then(async (res) => {
          if (res.status !== 200) throw new Error(`${res.status}: ${await res.text()}`);
          return ((await res.json()) as { outputs: { name: string; data: number[] }[] }).outputs.find((o) => o.name === 'probabilities')!.data;
        });
      const alone: number[][] = [];
      for (const r of requests) alone.push(await send(r));
      for (let round = 0; round < 3; round++) {
        const together = await Promise.all(requests.map(send));
        together.forEach((probs, i) => expect(probs).toEqual(alone[i]));
      }
      expect(new Set(alone.map((p) => p[0])).size).toBeGreaterThan(20);
      await s.close();
      server = undefined;
    }
  });
});

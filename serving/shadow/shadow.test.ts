// Shadow mirroring between two real servers on loopback, driven by a routing file that
// changes while the stable server runs.
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { startServing, tempDir } from '../../test/fixtures/serving.ts';
import type { TestServer } from '../../test/fixtures/serving.ts';
import { INFER_ROUTES } from '../../contract/http.ts';
import { MIRRORED_ROUTE } from '../../contract/metrics.ts';
import { MIRROR_HEADER, SHADOW_DEFAULTS } from '../../contract/routing.ts';
import { parseRouting } from './routing.ts';

function rows(n: number, seed: number): number[][] {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 4 - 2;
  return Array.from({ length: n }, () => [next(), next(), next(), next()]);
}

function shadowCount(text: string, result: string): number {
  const line = text.split('\n').find((l) => l.startsWith('siskin_shadow_comparisons_total{') && l.includes(`result="${result}"`));
  if (line === undefined) return 0;
  expect(line).toContain('shadow_revision="r2"');
  expect(line).toContain('revision="r1"');
  return Number(line.split(' ').pop());
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('parseRouting', () => {
  test.each([
    ['an empty file', '', undefined],
    ['no shadow', 'shadow: null\n', undefined],
    ['a shadow target', 'shadow:\n  url: http://canary:8080\n  sampleRate: 0.25\n  revision: "7"\n', { url: 'http://canary:8080', sampleRate: 0.25, revision: '7', ...SHADOW_DEFAULTS }],
  ])('%s', (_what, text, expected) => {
    expect(parseRouting(text)).toEqual(expected);
  });

  test.each([
    ['the operator\'s form: a Service IP', 'http://10.96.12.34'],
    ['a Service IP and port', 'http://10.96.12.34:8080'],
    ['a cluster DNS name and port', 'http://iris-canary.ml.svc.cluster.local:80'],
  ])('accepts %s', (_what, url) => {
    expect(parseRouting(`shadow: {url: "${url}", sampleRate: 1, revision: "a"}`)?.url).toBe(url);
  });

  test.each([
    ['a rate above 1', 'http://x:1', 2],
    ['a URL that is not http', 'ftp://x', 1],
    ['https (the operator writes http)', 'https://canary:8443', 1],
    ['a path', 'http://10.96.0.1/collect', 1],
    ['a trailing slash', 'http://10.96.0.1/', 1],
    ['a query', 'http://10.96.0.1?x=1', 1],
    ['a fragment', 'http://10.96.0.1#x', 1],
    ['userinfo', 'http://user:pw@10.96.0.1', 1],
    ['userinfo that hides the real host', 'http://canary.ml.svc@evil.example', 1],
    ['an octet above 255', 'http://10.96.0.256', 1],
    ['a numeric host a URL parser reads as an address', 'http://0x7f.1', 1],
    ['an IPv6 literal', 'http://[::1]:8080', 1],
    ['port 0', 'http://canary:0', 1],
    ['a port above 65535', 'http://canary:65536', 1],
    ['upper case and underscores', 'http://Canary_1.ml.svc', 1],
  ])('rejects %s', (_what, url, rate) => {
    expect(() => parseRouting(`shadow: {url: "${url}", sampleRate: ${rate}, revision: "a"}`)).toThrow(/invalid routing file/);
  });
});

describe('shadow mirroring', () => {
  let stable: TestServer;
  let shadow: TestServer;
  let shadowUrl = '';
  const tmp = tempDir();
  const routing = join(tmp.dir, 'routing.yaml');

  beforeAll(async () => {
    shadow = await startServing('classifier-other.onnx', { SISKIN_MODEL_REVISION: 'r2' });
    await shadow.serving.app.listen({ host: '127.0.0.1', port: 0 });
    shadowUrl = `http://127.0.0.1:${(shadow.serving.app.server.address() as AddressInfo).port}`;
    writeFileSync(routing, `shadow:\n  url: ${shadowUrl}\n  sampleRate: 1\n  revision: r2\n`);
    stable = await startServing('classifier.onnx', { SISKIN_ROUTING_FILE: routing }, { routingPollMs: 25 });
  });
  afterAll(async () => {
    await stable?.close();
    await shadow?.close();
    tmp.remove();
  });

  const labelsOf = async (server: TestServer, data: number[][]): Promise<number[]> => {
    const res = await server.serving.app.inject({
      method: 'POST',
      url: '/v2/models/tabular/infer',
      payload: { inputs: [{ name: 'input', datatype: 'FP32', shape: [data.length, 4], data }], outputs: [{ name: 'label' }] },
    });
    expect(res.statusCode).toBe(200);
    return res.json<{ outputs: { data: number[] }[] }>().outputs[0]!.data;
  };
  const metrics = async () => (await stable.serving.app.inject({ method: 'GET', url: '/metrics' })).body;

  test('every sampled row is compared and agreement matches the two models', async () => {
    let expectedAgree = 0;
    let total = 0;
    for (let i = 0; i < 10; i++) {
      const data = rows(3, i + 1);
      const mine = await labelsOf(stable, data);
      const theirs = await labelsOf(shadow, data);
      mine.forEach((l, j) => (expectedAgree += l === theirs[j] ? 1 : 0));
      total += data.length;
    }
    await stable.serving.ctx.shadow!.idle();
    const text = await metrics();
    expect(shadowCount(text, 'agree')).toBe(expectedAgree);
    expect(shadowCount(text, 'disagree')).toBe(total - expectedAgree);
    expect(shadowCount(text, 'error')).toBe(0);
    // The two fixtures have different weights: the test would not notice a comparison that always agrees.
    expect(total - expectedAgree).toBeGreaterThan(0);
  });

  test('the routing file is re-read on change: rate 0 stops mirroring, a shadow that hangs counts errors without delaying callers', async () => {
    writeFileSync(routing, `shadow:\n  url: ${shadowUrl}\n  sampleRate: 0\n  revision: r2\n`);
    await until(() => stable.serving.ctx.shadow!.target()?.sampleRate === 0);
    const before = await metrics();
    await labelsOf(stable, rows(2, 99));
    await stable.serving.ctx.shadow!.idle();
    const after = await metrics();
    expect(shadowCount(after, 'agree') + shadowCount(after, 'disagree')).toBe(shadowCount(before, 'agree') + shadowCount(before, 'disagree'));

    // A shadow that accepts connections and never answers: the caller must not wait for it.
    const sockets = new Set<Socket>();
    const blackHole = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;
      writeFileSync(routing, `shadow:\n  url: ${url}\n  sampleRate: 1\n  revision: r2\n  timeoutMs: 1500\n`);
      await until(() => stable.serving.ctx.shadow!.target()?.url === url);
      const t0 = performance.now();
      await labelsOf(stable, rows(2, 7));
      const callerMs = performance.now() - t0;
      await stable.serving.ctx.shadow!.idle();
      const mirrorMs = performance.now() - t0;
      expect(mirrorMs).toBeGreaterThanOrEqual(1400);
      expect(callerMs).toBeLessThan(mirrorMs / 2);
      expect(shadowCount(await metrics(), 'error')).toBe(2);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    }
  });
});

describe('shadow mirroring with serving.auth on', () => {
  let stable: TestServer;
  let canary: TestServer;
  const tmp = tempDir();
  const routing = join(tmp.dir, 'routing.yaml');
  const tokens = join(tmp.dir, 'tokens');
  const auth = { authorization: 'Bearer client-token' };

  beforeAll(async () => {
    // Both revisions mount the same Secret; the first token is the one a pod sends.
    writeFileSync(tokens, 'client-token\nother-client\n');
    canary = await startServing('classifier-other.onnx', { SISKIN_MODEL_REVISION: 'r2', SISKIN_AUTH_TOKEN_FILE: tokens });
    await canary.serving.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(canary.serving.app.server.address() as AddressInfo).port}`;
    writeFileSync(routing, `shadow:\n  url: ${url}\n  sampleRate: 1\n  revision: r2\n`);
    stable = await startServing('classifier.onnx', { SISKIN_ROUTING_FILE: routing, SISKIN_AUTH_TOKEN_FILE: tokens }, { routingPollMs: 25 });
  });
  afterAll(async () => {
    await stable?.close();
    await canary?.close();
    tmp.remove();
  });

  const metricsOf = async (server: TestServer) => (await server.serving.app.inject({ method: 'GET', url: '/metrics' })).body;
  const requestsOf = (text: string, route: string): number =>
    text
      .split('\n')
      .filter((l) => l.startsWith('siskin_requests_total{') && l.includes(`route="${route}"`))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);

  test('mirrored requests carry a token the canary accepts: every row compared, none refused, none counted as the canary\'s live traffic', async () => {
    for (let i = 0; i < 5; i++) {
      const data = rows(2, i + 11);
      const res = await stable.serving.app.inject({
        method: 'POST',
        url: '/v2/models/tabular/infer',
        headers: auth,
        payload: { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data }] },
      });
      expect(res.statusCode).toBe(200);
    }
    await stable.serving.ctx.shadow!.idle();
    const text = await metricsOf(stable);
    expect(shadowCount(text, 'agree') + shadowCount(text, 'disagree')).toBe(10);
    expect(shadowCount(text, 'error')).toBe(0);

    const canaryText = await metricsOf(canary);
    expect(requestsOf(canaryText, MIRRORED_ROUTE)).toBe(5);
    expect(canaryText).toContain(`siskin_requests_total{route="${MIRRORED_ROUTE}",code="200",model="tabular",revision="r2"} 5`);
    // The analysis selects INFER_ROUTES: mirrored requests are not in the canary's live series.
    for (const route of INFER_ROUTES) expect(requestsOf(canaryText, route)).toBe(0);
  });

  test('a request without a token still gets 401 from the canary: the mirror header opens nothing', async () => {
    const port = (canary.serving.app.server.address() as AddressInfo).port;
    const res = await fetch(`http://127.0.0.1:${port}/v2/models/tabular/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [MIRROR_HEADER]: 'r1' },
      body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [[0, 0, 0, 0]] }] }),
    });
    expect(res.status).toBe(401);
    // Refused mirrored requests stay out of the live series too: a 401 is never a canary sample.
    for (const route of INFER_ROUTES) expect(requestsOf(await metricsOf(canary), route)).toBe(0);
  });
});

describe('shadow mirroring is bounded', () => {
  let stable: TestServer;
  const tmp = tempDir();
  const routing = join(tmp.dir, 'routing.yaml');
  const sockets = new Set<Socket>();
  // A shadow that answers 200 and then streams bytes for ever, a chunk every 20 ms.
  const endless = createHttpServer((req, res) => {
    sockets.add(req.socket);
    res.writeHead(200, { 'content-type': 'application/json' });
    const timer = setInterval(() => res.write(Buffer.alloc(64 * 1024, 0x20)), 20);
    res.on('close', () => clearInterval(timer));
  });
  let endlessUrl = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    endlessUrl = `http://127.0.0.1:${(endless.address() as AddressInfo).port}`;
    writeFileSync(routing, 'shadow: null\n');
    stable = await startServing('classifier.onnx', { SISKIN_ROUTING_FILE: routing }, { routingPollMs: 25 });
  });
  afterAll(async () => {
    await stable?.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => endless.close(resolve));
    tmp.remove();
  });

  const infer = async (): Promise<void> => {
    const res = await stable.serving.app.inject({
      method: 'POST',
      url: '/v2/models/tabular/infer',
      payload: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: rows(1, 5) }] },
    });
    expect(res.statusCode).toBe(200);
  };
  const counted = async (result: string): Promise<number> => shadowCount((await stable.serving.app.inject({ method: 'GET', url: '/metrics' })).body, result);
  const route = async (text: string, ready: () => boolean): Promise<void> => {
    writeFileSync(routing, text);
    await until(ready);
  };

  test('an answer larger than maxResponseBytes is cut off at the cap, long before the timeout', async () => {
    await route(`shadow:\n  url: ${endlessUrl}\n  sampleRate: 1\n  revision: r2\n  timeoutMs: 30000\n  maxResponseBytes: 262144\n`, () => stable.serving.ctx.shadow!.target()?.maxResponseBytes === 262144);
    const t0 = performance.now();
    await infer();
    await stable.serving.ctx.shadow!.idle();
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(await counted('error')).toBe(1);
  });

  test('a shadow that keeps trickling bytes is cut off at timeoutMs: the deadline covers the whole answer', async () => {
    await route(`shadow:\n  url: ${endlessUrl}\n  sampleRate: 1\n  revision: r2\n  timeoutMs: 600\n  maxResponseBytes: 268435456\n`, () => stable.serving.ctx.shadow!.target()?.timeoutMs === 600);
    const t0 = performance.now();
    await infer();
    await stable.serving.ctx.shadow!.idle();
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(550);
    expect(ms).toBeLessThan(3000);
    expect(await counted('error')).toBe(2);
  });

  test('in-flight mirrors are bounded by maxConcurrency: the excess is dropped and counted, never queued', async () => {
    await route(`shadow:\n  url: ${endlessUrl}\n  sampleRate: 1\n  revision: r2\n  timeoutMs: 800\n  maxConcurrency: 1\n  maxResponseBytes: 268435456\n`, () => stable.serving.ctx.shadow!.target()?.maxConcurrency === 1);
    await Promise.all([infer(), infer(), infer()]);
    await stable.serving.ctx.shadow!.idle();
    expect(await counted('dropped')).toBe(2);
    expect(await counted('error')).toBe(3);
  });

  test('a routing file naming a URL the operator would never write is refused whole: nothing is mirrored', async () => {
    await route(`shadow:\n  url: ${endlessUrl}\n  sampleRate: 1\n  revision: r2\n`, () => stable.serving.ctx.shadow!.target()?.url === endlessUrl);
    const seen = sockets.size;
    await route(`shadow:\n  url: ${endlessUrl}/steal?x=1\n  sampleRate: 1\n  revision: r2\n`, () => stable.serving.ctx.shadow!.target() === undefined);
    await infer();
    await stable.serving.ctx.shadow!.idle();
    expect(sockets.size).toBe(seen);
    expect(await counted('error')).toBe(3);
  });
});

// withSignal against an "API server" that accepts requests and never answers: the typed client's
// request aborts with the signal, keeps the client's own middleware, and none starts once aborted.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { fence, FencedError, withSignal } from './abort.ts';

describe('withSignal', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
  let core: CoreV1Api;

  beforeAll(async () => {
    server = createServer((req) => void seen.push({ url: req.url ?? '', headers: req.headers }));
    server.on('connection', (c) => sockets.add(c));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'hang', server: `http://127.0.0.1:${(server.address() as { port: number }).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'hang', user: 'u' }],
      currentContext: 'c',
    });
    core = kc.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    for (const c of sockets) c.destroy();
    await new Promise((r) => server.close(r));
  });

  test('a request in flight rejects with the abort reason at once', async () => {
    const abort = new AbortController();
    const request = core.createNamespacedConfigMap({ namespace: 'ns', body: { metadata: { name: 'x' } } }, withSignal(abort.signal)).catch((err: unknown) => err);
    for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(seen.map((s) => s.url)).toEqual(['/api/v1/namespaces/ns/configmaps']);
    // The client's own middleware still ran: the withSignal options were appended, not substituted.
    expect(seen[0]!.headers['user-agent']).toMatch(/kubernetes/i);
    const reason = new Error('controller stopped');
    const at = Date.now();
    abort.abort(reason);
    expect(await request).toBe(reason);
    expect(Date.now() - at).toBeLessThan(500);
  });

  test('a request after the abort never reaches the server', async () => {
    const before = seen.length;
    const abort = new AbortController();
    abort.abort(new Error('lost leadership'));
    await expect(core.readNamespacedConfigMap({ namespace: 'ns', name: 'x' }, withSignal(abort.signal))).rejects.toThrow('lost leadership');
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(before);
  });

  test('a fenced signal refuses a request when it is sent, and lets it through while the fence holds', async () => {
    const before = seen.length;
    const abort = new AbortController();
    let why: string | undefined = 'the lease was last renewed 11000 ms ago, past the renew deadline (10000 ms)';
    fence(abort.signal, () => why);
    await expect(core.readNamespacedConfigMap({ namespace: 'ns', name: 'x' }, withSignal(abort.signal))).rejects.toThrow(FencedError);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(before);
    // The check runs per request, not once: a renewed lease lets the next one through.
    why = undefined;
    const sent = core.readNamespacedConfigMap({ namespace: 'ns', name: 'y' }, withSignal(abort.signal)).catch((err: unknown) => err);
    for (let i = 0; i < 200 && seen.length === before; i++) await new Promise((r) => setTimeout(r, 5));
    expect(seen.at(-1)?.url).toBe('/api/v1/namespaces/ns/configmaps/y');
    abort.abort(new Error('done'));
    await sent;
  });
});

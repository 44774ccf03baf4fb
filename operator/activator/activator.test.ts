// The activator on loopback: a real HTTP listener holding requests, and a real HTTP server
// standing in for the model's pod. Held requests are answered by the pod once it is Ready,
// exactly as sent; the bounds answer 413 and 503 with Retry-After, never a lost request.
import { afterEach, describe, expect, test } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { Activator, type HoldLimits } from './activator.ts';

const KEY = 'ml/iris';
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** A "pod": echoes method, path, one header and the body as JSON. */
async function startPod(): Promise<{ ip: string; port: number }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-pod': 'yes' });
      res.end(JSON.stringify({ method: req.method, path: req.url, token: req.headers['x-token'], body: Buffer.concat(chunks).toString() }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { ip: '127.0.0.1', port: (server.address() as AddressInfo).port };
}

/** An activator on a free port for KEY; ready() decides whether the pod is Ready. */
async function startActivator(pod: { ip: string; port: number }, limits: Partial<HoldLimits> = {}) {
  let ready = false;
  const wakes: string[] = [];
  const registry = new Registry();
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const activator = new Activator({ host: '127.0.0.1', address: '127.0.0.1', ports: { first: port, last: port }, limits, registry, readyPod: () => (ready ? pod : undefined), wake: (k) => wakes.push(k) });
  await activator.serve(KEY, port);
  cleanups.push(() => activator.stop());
  const url = `http://127.0.0.1:${port}`;
  const model = { namespace: 'ml', name: 'iris' };
  const series = async (metric: string) => (await registry.getSingleMetric(metric)!.get()).values;
  const outcomes = async (): Promise<Record<string, number>> =>
    Object.fromEntries(
      (await series('siskin_activator_requests_total'))
        .filter((v) => v.value !== 0)
        .map((v): [string, number] => {
          // Every series names the ModelDeployment, like the operator's own.
          expect({ namespace: v.labels.namespace, name: v.labels.name }).toEqual(model);
          return [String(v.labels.outcome), v.value];
        }),
    );
  const held = async (): Promise<number | undefined> => (await series('siskin_activator_held_requests')).find((v) => v.labels.name === model.name && v.labels.namespace === model.namespace)?.value;
  return { activator, url, wakes, outcomes, held, series, setReady: (r: boolean) => void (ready = r) };
}

describe('the activator', () => {
  test('holds every request while no pod is Ready, asks to wake the model, then forwards each exactly as sent', async () => {
    const a = await startActivator(await startPod());
    const sent = Array.from({ length: 8 }, (_, i) =>
      fetch(`${a.url}/v2/models/iris/infer?n=${i}`, { method: 'POST', headers: { 'x-token': `t${i}` }, body: `{"i":${i}}` }).then(async (r) => ({ status: r.status, pod: r.headers.get('x-pod'), json: await r.json() })),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(a.activator.demand(KEY)).toBe(true);
    expect(await a.held()).toBe(8);
    expect(a.wakes).toEqual([KEY]);
    a.setReady(true);
    const answers = await Promise.all(sent);
    answers.forEach((ans, i) => expect(ans).toEqual({ status: 200, pod: 'yes', json: { method: 'POST', path: `/v2/models/iris/infer?n=${i}`, token: `t${i}`, body: `{"i":${i}}` } }));
    expect(a.activator.demand(KEY)).toBe(false);
    expect(await a.outcomes()).toEqual({ forwarded: 8 });
    expect(await a.held()).toBe(0);
    const waited = (await a.series('siskin_activator_hold_duration_seconds')).find((v) => (v as { metricName?: string }).metricName === 'siskin_activator_hold_duration_seconds_count');
    expect(waited?.value).toBe(8);
  });

  test("a model's series exist from the start, at zero, and go when it is released", async () => {
    const a = await startActivator(await startPod());
    const outcomes = (await a.series('siskin_activator_requests_total')).map((v) => `${String(v.labels.name)} ${String(v.labels.outcome)} ${v.value}`);
    expect(outcomes.sort()).toEqual(['iris cancelled 0', 'iris failed 0', 'iris forwarded 0', 'iris rejected 0', 'iris timed_out 0', 'iris too_large 0']);
    expect(await a.held()).toBe(0);
    await a.activator.release(KEY);
    expect(await a.series('siskin_activator_requests_total')).toEqual([]);
    expect(await a.held()).toBeUndefined();
    expect(await a.series('siskin_activator_hold_duration_seconds')).toEqual([]);
  });

  test('with a Ready pod a request is forwarded at once, not held', async () => {
    const a = await startActivator(await startPod());
    a.setReady(true);
    const r = await fetch(`${a.url}/v2/health/ready`);
    expect(r.status).toBe(200);
    expect(a.wakes).toEqual([]);
  });

  test('a request held past the hold timeout gets 503 with Retry-After', async () => {
    const a = await startActivator(await startPod(), { holdTimeoutMs: 200 });
    const r = await fetch(`${a.url}/v2/models/iris/infer`, { method: 'POST', body: '{}' });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('5');
    expect(await r.json()).toEqual({ error: 'ml/iris did not become ready within 0.2 s; retry' });
    expect(await a.outcomes()).toEqual({ timed_out: 1 });
  });

  test('an activator that stops (its operator lost the lease) answers what it holds 503 with Retry-After, so clients retry on the new leader', async () => {
    const a = await startActivator(await startPod());
    const held = fetch(`${a.url}/v2/models/iris/infer`, { method: 'POST', body: '{}' });
    await new Promise((r) => setTimeout(r, 200));
    expect(a.activator.demand(KEY)).toBe(true);
    const outcomes = a.outcomes;
    await a.activator.stop();
    const r = await held;
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('5');
    expect(await r.json()).toEqual({ error: 'the activator is shutting down; retry' });
    expect(await outcomes()).toEqual({ failed: 1 });
    // And it no longer listens: the port is free for the next leader.
    await expect(fetch(a.url)).rejects.toThrow();
  });

  test('a body over the limit is a client error (413), not a held request', async () => {
    const a = await startActivator(await startPod(), { maxBodyBytes: 10 });
    const r = await fetch(`${a.url}/v2/models/iris/infer`, { method: 'POST', body: 'x'.repeat(11) });
    expect(r.status).toBe(413);
    expect(a.wakes).toEqual([]);
    // The client's fault: counted apart from the requests the activator had to refuse.
    expect(await a.outcomes()).toEqual({ too_large: 1 });
  });

  test('beyond the per-model bound a request gets 503 with Retry-After; those held are still answered', async () => {
    const a = await startActivator(await startPod(), { maxHeldPerModel: 2 });
    const held = [1, 2].map((i) => fetch(`${a.url}/x${i}`).then((r) => r.status));
    await new Promise((r) => setTimeout(r, 200));
    const over = await fetch(`${a.url}/x3`);
    expect(over.status).toBe(503);
    expect(over.headers.get('retry-after')).toBe('5');
    a.setReady(true);
    expect(await Promise.all(held)).toEqual([200, 200]);
    expect(await a.outcomes()).toEqual({ forwarded: 2, rejected: 1 });
  });

  test('ports: a recorded port is kept, one held by this activator for another model is not given out', async () => {
    const a = await startActivator(await startPod());
    const served = Number(new URL(a.url).port);
    expect(a.activator.portFor(KEY, served, new Map())).toEqual({ port: served });
    expect(a.activator.portFor('ml/other', undefined, new Map())).toEqual({ error: expect.stringContaining('are taken') });
  });
});

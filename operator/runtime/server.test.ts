// Probe and metrics endpoints over real HTTP on loopback.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { OperatorMetrics } from './metrics.ts';
import { startServer, type OperatorServer } from './server.ts';
import { WorkQueue } from './workQueue.ts';
import { ManualClock } from './clock.ts';

describe('operator server', () => {
  let server: OperatorServer;
  let synced = false;
  const metrics = new OperatorMetrics();
  const base = (): string => `http://127.0.0.1:${server.port}`;

  beforeAll(async () => {
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      readiness: [
        { name: 'informer-modeldeployments', check: () => synced },
        { name: 'always', check: () => true },
      ],
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  test('/healthz answers 200 while the process is alive', async () => {
    const res = await fetch(`${base()}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok\n');
  });

  test('/readyz is 503 naming the unsynced informer, then 200 once synced', async () => {
    synced = false;
    const before = await fetch(`${base()}/readyz`);
    expect(before.status).toBe(503);
    expect(await before.text()).toBe('failed: informer-modeldeployments\n');
    const verbose = await fetch(`${base()}/readyz?verbose`);
    expect(await verbose.text()).toBe('[-]informer-modeldeployments failed\n[+]always ok\n');
    synced = true;
    const after = await fetch(`${base()}/readyz`);
    expect(after.status).toBe(200);
  });

  test('/metrics exposes the reconcile, work queue and leader series in Prometheus text format', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock, observer: metrics.queueObserver('modeldeployment') });
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    clock.advance(2000);
    q.done((await q.get()) as string);
    q.addRateLimited('ns/c');
    metrics.reconcileTotal.inc({ controller: 'modeldeployment', result: 'success' });
    metrics.reconcileTime.observe({ controller: 'modeldeployment' }, 0.042);
    metrics.leaderStatus.set({ name: 'siskin-operator' }, 1);
    const res = await fetch(`${base()}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const body = await res.text();
    expect(body).toContain('siskin_reconcile_total{controller="modeldeployment",result="success"} 1');
    expect(body).toContain('siskin_reconcile_time_seconds_bucket{le="0.05",controller="modeldeployment"} 1');
    expect(body).toContain('siskin_reconcile_time_seconds_bucket{le="0.025",controller="modeldeployment"} 0');
    expect(body).toContain('siskin_workqueue_adds_total{name="modeldeployment"} 2');
    expect(body).toContain('siskin_workqueue_retries_total{name="modeldeployment"} 1');
    expect(body).toContain('siskin_workqueue_depth{name="modeldeployment"} 1');
    expect(body).toContain('siskin_workqueue_queue_duration_seconds_bucket{le="5",name="modeldeployment"} 1');
    expect(body).toContain('siskin_workqueue_queue_duration_seconds_bucket{le="1",name="modeldeployment"} 0');
    expect(body).toContain('siskin_leader_election_master_status{name="siskin-operator"} 1');
    expect(body).toContain('# TYPE siskin_reconcile_errors_total counter');
    await q.shutDown();
  });

  test('two metric sets never share a registry', async () => {
    const other = new OperatorMetrics();
    other.reconcileTotal.inc({ controller: 'other', result: 'error' });
    expect(await metrics.registry.metrics()).not.toContain('controller="other"');
  });

  test('process metrics are opt-in and use the standard names', async () => {
    const withProcess = new OperatorMetrics({ processMetrics: true });
    expect(await withProcess.registry.metrics()).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(await metrics.registry.metrics()).not.toContain('process_cpu_user_seconds_total');
  });

  test('unknown paths are 404 and writes are 405', async () => {
    expect((await fetch(`${base()}/nope`)).status).toBe(404);
    expect((await fetch(`${base()}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});

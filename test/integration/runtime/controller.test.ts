// A controller over a real informer: every key reconciled from the cache, retries with backoff,
// requeueAfter, TerminalError, owner mapping, and never the same key twice at once.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { startCluster, waitFor, type LocalCluster } from '../../cluster/index.ts';
import { Controller } from '../../../operator/runtime/controller.ts';
import { Informer, resourcePath } from '../../../operator/runtime/informer.ts';
import { OperatorMetrics } from '../../../operator/runtime/metrics.ts';
import { controllerOwnerKey } from '../../../operator/runtime/ownerRefs.ts';
import { objectKey, splitKey, TerminalError, type ReconcileResult } from '../../../operator/runtime/reconcile.ts';

const NS = 'ctl';

interface Call {
  key: string;
  start: number;
  end: number;
  data: Record<string, string> | undefined;
}

describe('Controller over a ConfigMap informer', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let informer: Informer<V1ConfigMap>;
  let controller: Controller;
  let running: Promise<void>;
  const metrics = new OperatorMetrics();
  const calls: Call[] = [];
  const inFlight = new Map<string, number>();
  let maxSameKey = 0;
  let maxAll = 0;

  const callsOf = (name: string): Call[] => calls.filter((c) => c.key === `${NS}/${name}`);
  const untilCalls = (name: string, n: number, timeoutMs = 15_000): Promise<true> =>
    waitFor(`${n} reconciles of ${name}`, () => Promise.resolve(callsOf(name).length >= n ? true : undefined), { timeoutMs, intervalMs: 20 });

  // The reconciler's behaviour is chosen by the object's data, read from the cache like a real one.
  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const cm = informer.get(name, namespace);
    const started = Date.now();
    inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
    maxSameKey = Math.max(maxSameKey, inFlight.get(key) ?? 0);
    maxAll = Math.max(maxAll, [...inFlight.values()].reduce((a, b) => a + b, 0));
    try {
      const mode = cm?.data?.mode;
      const attempt = callsOf(name).length + 1;
      if (mode === 'slow') await new Promise((r) => setTimeout(r, 300));
      if (mode === 'flaky' && attempt <= 3) throw new Error(`transient failure ${attempt}`);
      if (mode === 'terminal') throw new TerminalError('cannot ever work');
      if (mode === 'periodic') return { requeueAfter: 400 };
    } finally {
      inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
      calls.push({ key, start: started, end: Date.now(), data: cm?.data });
    }
  }

  async function create(name: string, data: Record<string, string>, owner?: V1ConfigMap): Promise<V1ConfigMap> {
    return core.createNamespacedConfigMap({
      namespace: NS,
      body: {
        metadata: {
          name,
          ownerReferences: owner
            ? [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata?.name ?? '', uid: owner.metadata?.uid ?? '', controller: true }]
            : undefined,
        },
        data,
      },
    });
  }

  beforeAll(async () => {
    cluster = await startCluster();
    kc = cluster.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    informer = new Informer<V1ConfigMap>({
      kubeConfig: kc,
      path: resourcePath({ apiVersion: 'v1', plural: 'configmaps', namespace: NS }),
      list: () => core.listNamespacedConfigMap({ namespace: NS }),
    });
    controller = new Controller({ name: 'configmap', reconcile, maxConcurrentReconciles: 4, baseRetryDelayMs: 100, maxRetryDelayMs: 2000, metrics });
    // Each ConfigMap reconciles itself and, as an owned object, its controller owner (a ConfigMap too).
    controller.watch(informer, (cm) => [objectKey(cm), controllerOwnerKey(cm, { apiVersion: 'v1', kind: 'ConfigMap' })].filter((k) => k !== undefined));
    informer.start();
    await informer.waitForSync(30_000);
    expect(controller.hasSynced()).toBe(true);
    running = controller.run();
  });
  afterAll(async () => {
    await controller?.stop();
    await running;
    await informer?.stop();
    await cluster?.stop();
  });

  test('reconciles a new object once, seeing its data in the cache', async () => {
    await create('plain', { mode: 'ok', v: '1' });
    await untilCalls('plain', 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(callsOf('plain')).toHaveLength(1);
    expect(callsOf('plain')[0]?.data).toEqual({ mode: 'ok', v: '1' });
  });

  test('a throwing reconcile is retried with growing backoff until it succeeds, then stops', async () => {
    await create('flaky', { mode: 'flaky' });
    await untilCalls('flaky', 4);
    const starts = callsOf('flaky').map((c) => c.start);
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] as number));
    // 100, 200, 400 ms backoff; timers may fire late, never early (a little slack for clock granularity).
    expect(gaps[0]).toBeGreaterThanOrEqual(95);
    expect(gaps[1]).toBeGreaterThanOrEqual(195);
    expect(gaps[2]).toBeGreaterThanOrEqual(395);
    await new Promise((r) => setTimeout(r, 1000));
    expect(callsOf('flaky')).toHaveLength(4);
    expect(controller.queue.numRequeues(`${NS}/flaky`)).toBe(0);
    const errors = (await metrics.reconcileTotal.get()).values.find((v) => v.labels.result === 'error')?.value;
    expect(errors).toBeGreaterThanOrEqual(3);
  });

  test('requeueAfter reconciles again after the requested wait without any event', async () => {
    await create('periodic', { mode: 'periodic' });
    await untilCalls('periodic', 4);
    const starts = callsOf('periodic').map((c) => c.start);
    for (let i = 1; i < starts.length; i++) expect((starts[i] as number) - (starts[i - 1] as number)).toBeGreaterThanOrEqual(395);
    await core.deleteNamespacedConfigMap({ namespace: NS, name: 'periodic' });
  });

  test('a TerminalError is not retried', async () => {
    await create('terminal', { mode: 'terminal' });
    await untilCalls('terminal', 1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(callsOf('terminal')).toHaveLength(1);
    expect((await metrics.terminalReconcileErrors.get()).values[0]?.value).toBe(1);
  });

  test('events during a running reconcile queue the key once more, never a concurrent run', async () => {
    await create('slow', { mode: 'slow', v: '0' });
    await create('slow-2', { mode: 'slow' });
    await waitFor('slow running', () => Promise.resolve((inFlight.get(`${NS}/slow`) ?? 0) > 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 5 });
    for (let v = 1; v <= 5; v++) {
      await core.patchNamespacedConfigMap({ namespace: NS, name: 'slow', body: [{ op: 'replace', path: '/data/v', value: String(v) }] });
    }
    await waitFor('last version reconciled', () => Promise.resolve(callsOf('slow').some((c) => c.data?.v === '5') ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 20,
    });
    const slow = callsOf('slow');
    // Five updates collapsed into far fewer reconciles, which never overlapped.
    expect(slow.length).toBeLessThan(6);
    for (let i = 1; i < slow.length; i++) expect((slow[i] as Call).start).toBeGreaterThanOrEqual((slow[i - 1] as Call).end);
    expect(maxSameKey).toBe(1);
    expect(maxAll).toBeGreaterThan(1); // different keys did run in parallel
  });

  test('an owned object\'s change reconciles its controller owner, found by owner reference', async () => {
    const owner = await create('owner', { mode: 'ok' });
    await untilCalls('owner', 1);
    await create('child', { mode: 'ok' }, owner);
    await untilCalls('owner', 2);
    // A same-named object that is not controlled by it does not reconcile the owner.
    const before = callsOf('owner').length;
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'bystander', ownerReferences: [{ apiVersion: 'v1', kind: 'Secret', name: 'owner', uid: owner.metadata?.uid ?? '', controller: true }] } },
    });
    await untilCalls('bystander', 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(callsOf('owner')).toHaveLength(before);
  });

  test('a deleted object is reconciled once more, finding it gone from the cache', async () => {
    await core.deleteNamespacedConfigMap({ namespace: NS, name: 'plain' });
    await untilCalls('plain', 2);
    expect(callsOf('plain')[1]?.data).toBeUndefined();
  });
});

// Informers against a real API server: cache and events, namespace or cluster scope, restart with
// backoff after real connection failures, and a relist after a real 410 Gone.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import { makeTempDir, startCluster, waitFor, type LocalCluster } from '../../cluster/index.ts';
import { startControlPlane, type ControlPlane } from '../../cluster/controlPlane.ts';
import { writeKubeconfig } from '../../cluster/kubeconfig.ts';
import { Informer, resourcePath, type InformerEventType } from '../../../operator/runtime/informer.ts';
import { createLogger } from '../../../operator/runtime/logger.ts';
import { TcpProxy } from '../../cluster/tcpProxy.ts';
import { Writable } from 'node:stream';

type Event = `${InformerEventType} ${string}`;

function record(informer: Informer<V1ConfigMap>): Event[] {
  const events: Event[] = [];
  informer.onEvent((type, cm) => events.push(`${type} ${cm.metadata?.namespace}/${cm.metadata?.name}`));
  return events;
}

function logSink(): { lines: Array<Record<string, unknown>>; stream: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, stream };
}

async function createNs(core: CoreV1Api, name: string): Promise<void> {
  await core.createNamespace({ body: { metadata: { name } } });
}

function configMapInformer(kc: KubeConfig, namespace: string | undefined, extra: Partial<ConstructorParameters<typeof Informer<V1ConfigMap>>[0]> = {}): Informer<V1ConfigMap> {
  const core = kc.makeApiClient(CoreV1Api);
  return new Informer<V1ConfigMap>({
    kubeConfig: kc,
    path: resourcePath({ apiVersion: 'v1', plural: 'configmaps', namespace }),
    list: () => (namespace ? core.listNamespacedConfigMap({ namespace }) : core.listConfigMapForAllNamespaces()),
    ...extra,
  });
}

const has = (events: Event[], e: Event) => () => Promise.resolve(events.includes(e) ? true : undefined);

describe('Informer on the default API server', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;
  let core: CoreV1Api;
  const informers: Informer<V1ConfigMap>[] = [];
  const proxies: TcpProxy[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
    kc = cluster.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    for (const i of informers) await i.stop();
    for (const p of proxies) await p.stop();
    await cluster?.stop();
  });

  test('a namespaced informer lists, then sees add, update and delete of its namespace only', async () => {
    await createNs(core, 'inf-a');
    await createNs(core, 'inf-b');
    await core.createNamespacedConfigMap({ namespace: 'inf-a', body: { metadata: { name: 'before' }, data: { v: '0' } } });
    const informer = configMapInformer(kc, 'inf-a');
    informers.push(informer);
    const events = record(informer);
    expect(informer.hasSynced()).toBe(false);
    informer.start();
    await informer.waitForSync(30_000);
    expect(informer.hasSynced()).toBe(true);
    expect(events).toContain('add inf-a/before');
    expect(informer.get('before', 'inf-a')?.data).toEqual({ v: '0' });

    await core.createNamespacedConfigMap({ namespace: 'inf-a', body: { metadata: { name: 'cm' }, data: { v: '1' } } });
    await core.createNamespacedConfigMap({ namespace: 'inf-b', body: { metadata: { name: 'elsewhere' } } });
    await waitFor('add', has(events, 'add inf-a/cm'), { timeoutMs: 10_000, intervalMs: 50 });
    await core.patchNamespacedConfigMap(
      { namespace: 'inf-a', name: 'cm', body: [{ op: 'replace', path: '/data/v', value: '2' }] },
    );
    await waitFor('update', has(events, 'update inf-a/cm'), { timeoutMs: 10_000, intervalMs: 50 });
    expect(informer.get('cm', 'inf-a')?.data).toEqual({ v: '2' });
    await core.deleteNamespacedConfigMap({ namespace: 'inf-a', name: 'cm' });
    await waitFor('delete', has(events, 'delete inf-a/cm'), { timeoutMs: 10_000, intervalMs: 50 });
    expect(informer.get('cm', 'inf-a')).toBeUndefined();
    expect(events.filter((e) => e.includes('inf-b/'))).toEqual([]);
    expect(informer.list().map((c) => c.metadata?.name)).toEqual(['before']);
  });

  test('a cluster-wide informer sees every namespace', async () => {
    const informer = configMapInformer(kc, undefined);
    informers.push(informer);
    const events = record(informer);
    informer.start();
    await informer.waitForSync(30_000);
    expect(events).toEqual(expect.arrayContaining(['add inf-a/before', 'add inf-b/elsewhere']));
    await core.createNamespacedConfigMap({ namespace: 'inf-b', body: { metadata: { name: 'late' } } });
    await waitFor('add in inf-b', has(events, 'add inf-b/late'), { timeoutMs: 10_000, intervalMs: 50 });
    expect(informer.list('inf-b').map((c) => c.metadata?.name).sort()).toEqual(['elsewhere', 'late']);
  });

  test('a broken connection is restarted with growing backoff and the cache catches up on what it missed', async () => {
    await createNs(core, 'inf-c');
    await core.createNamespacedConfigMap({ namespace: 'inf-c', body: { metadata: { name: 'doomed' } } });
    const proxy = new TcpProxy(cluster.server);
    proxies.push(proxy);
    await proxy.start();
    const log = logSink();
    const informer = configMapInformer(proxy.kubeConfig(kc), 'inf-c', {
      restartBaseDelayMs: 100,
      restartMaxDelayMs: 800,
      logger: createLogger({ level: 'warn', destination: log.stream }),
    });
    informers.push(informer);
    const events = record(informer);
    informer.start();
    await informer.waitForSync(30_000);

    await proxy.stop(); // the watch connection dies mid-stream; new connections are refused
    await waitFor('several restart attempts', () => Promise.resolve(informer.stats().restarts >= 4 ? true : undefined), { timeoutMs: 20_000, intervalMs: 50 });
    await core.createNamespacedConfigMap({ namespace: 'inf-c', body: { metadata: { name: 'born-offline' } } });
    await core.deleteNamespacedConfigMap({ namespace: 'inf-c', name: 'doomed' });
    expect(informer.get('born-offline', 'inf-c')).toBeUndefined();
    expect(informer.get('doomed', 'inf-c')).toBeDefined();

    await proxy.start();
    await waitFor('cache caught up', () => Promise.resolve(informer.get('born-offline', 'inf-c') && !informer.get('doomed', 'inf-c') ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    expect(events).toEqual(expect.arrayContaining(['add inf-c/born-offline', 'delete inf-c/doomed']));
    const delays = log.lines.filter((l) => l.msg === 'watch failed; restarting').map((l) => l.restartInMs as number);
    expect(delays.slice(0, 4)).toEqual([100, 200, 400, 800]);
    expect(Math.max(...delays)).toBe(800);

    // The restarted watch is live again, not just a one-off relist.
    await core.createNamespacedConfigMap({ namespace: 'inf-c', body: { metadata: { name: 'after' } } });
    await waitFor('live again', has(events, 'add inf-c/after'), { timeoutMs: 10_000, intervalMs: 50 });
  });

  test('an informer started while the API server is unreachable syncs once it is reachable', async () => {
    const proxy = new TcpProxy(cluster.server);
    proxies.push(proxy);
    await proxy.start();
    const kcViaProxy = proxy.kubeConfig(kc);
    await proxy.stop();
    const informer = configMapInformer(kcViaProxy, 'inf-a', { restartBaseDelayMs: 50, restartMaxDelayMs: 200 });
    informers.push(informer);
    informer.start();
    await waitFor('failed attempts', () => Promise.resolve(informer.stats().restarts >= 3 ? true : undefined), { timeoutMs: 20_000, intervalMs: 50 });
    expect(informer.hasSynced()).toBe(false);
    await proxy.start();
    await informer.waitForSync(20_000);
    expect(informer.get('before', 'inf-a')).toBeDefined();
  });

  test('with the default back-off, an informer cut off for 20 s resumes within 10 s of the API server coming back', async () => {
    await createNs(core, 'inf-long');
    const proxy = new TcpProxy(cluster.server);
    proxies.push(proxy);
    await proxy.start();
    const informer = configMapInformer(proxy.kubeConfig(kc), 'inf-long');
    informers.push(informer);
    const events = record(informer);
    informer.start();
    await informer.waitForSync(30_000);
    // Down for 20 s: every watch cut, new connections refused, as while kube-apiserver restarts.
    await proxy.stop();
    await new Promise((r) => setTimeout(r, 20_000));
    await core.createNamespacedConfigMap({ namespace: 'inf-long', body: { metadata: { name: 'made-while-down' } } });
    await proxy.start();
    const back = Date.now();
    await waitFor('the change made during the outage', has(events, 'add inf-long/made-while-down'), { timeoutMs: 40_000, intervalMs: 50 });
    expect(Date.now() - back).toBeLessThanOrEqual(10_000);
  }, 90_000);

  test('a transform shapes what the cache keeps, for listed and watched objects alike', async () => {
    await createNs(core, 'inf-shape');
    await core.createNamespacedConfigMap({ namespace: 'inf-shape', body: { metadata: { name: 'listed' }, data: { a: '1' } } });
    const informer = configMapInformer(kc, 'inf-shape', { transform: (cm) => ({ metadata: { name: cm.metadata?.name, namespace: cm.metadata?.namespace, resourceVersion: cm.metadata?.resourceVersion }, data: { kept: 'yes' } }) });
    informers.push(informer);
    const events = record(informer);
    informer.start();
    await informer.waitForSync(30_000);
    await waitFor('listed', has(events, 'add inf-shape/listed'), { timeoutMs: 10_000, intervalMs: 50 });
    await core.createNamespacedConfigMap({ namespace: 'inf-shape', body: { metadata: { name: 'watched' }, data: { b: '2' } } });
    await waitFor('watched', has(events, 'add inf-shape/watched'), { timeoutMs: 10_000, intervalMs: 50 });
    await core.patchNamespacedConfigMap({ namespace: 'inf-shape', name: 'watched', body: [{ op: 'replace', path: '/data/b', value: '3' }] });
    await waitFor('updated', has(events, 'update inf-shape/watched'), { timeoutMs: 10_000, intervalMs: 50 });
    for (const name of ['listed', 'watched']) {
      const cm = informer.get(name, 'inf-shape');
      expect(cm?.data).toEqual({ kept: 'yes' });
      expect(cm?.metadata?.managedFields).toBeUndefined();
    }
  });

  test('stop() ends the watch for good: later changes are not seen and no restart is attempted', async () => {
    const informer = configMapInformer(kc, 'inf-b');
    const events = record(informer);
    informer.start();
    await informer.waitForSync(30_000);
    await informer.stop();
    const restarts = informer.stats().restarts;
    await core.createNamespacedConfigMap({ namespace: 'inf-b', body: { metadata: { name: 'unseen' } } });
    await new Promise((r) => setTimeout(r, 1000));
    expect(events).not.toContain('add inf-b/unseen');
    expect(informer.stats().restarts).toBe(restarts);
  });
});

describe('Informer after a compaction (410 Gone)', () => {
  let cp: ControlPlane;
  let dir: { path: string; remove: () => void };
  let kc: KubeConfig;
  let informer: Informer<V1ConfigMap> | undefined;
  let proxyRef: TcpProxy | undefined;

  beforeAll(async () => {
    dir = makeTempDir('runtime-410');
    // Watches served from etcd (no watch cache), compacted every second: a watch resumed from a
    // resourceVersion older than a second or so gets a real 410 Gone.
    cp = await startControlPlane({ dir: dir.path, extraApiserverArgs: ['--watch-cache=false', '--etcd-compaction-interval=1s'] });
    kc = new KubeConfig();
    kc.loadFromFile(writeKubeconfig(join(dir.path, 'admin.kubeconfig'), { server: cp.server, caPem: cp.pki.caPem, ...cp.users.admin }));
  });
  afterAll(async () => {
    await informer?.stop();
    await proxyRef?.stop();
    await cp?.stop();
    dir?.remove();
  });

  test('a watch resumed at a compacted resourceVersion relists and reports what changed meanwhile', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await createNs(core, 'gone');
    await core.createNamespacedConfigMap({ namespace: 'gone', body: { metadata: { name: 'old' } } });
    const proxy = new TcpProxy(cp.server);
    proxyRef = proxy;
    await proxy.start();
    let lists = 0;
    const viaProxy = proxy.kubeConfig(kc);
    const proxiedCore = viaProxy.makeApiClient(CoreV1Api);
    informer = configMapInformer(viaProxy, 'gone', {
      restartBaseDelayMs: 100,
      restartMaxDelayMs: 400,
      list: () => {
        lists++;
        return proxiedCore.listNamespacedConfigMap({ namespace: 'gone' });
      },
    });
    const events = record(informer);
    informer.start();
    await informer.waitForSync(30_000);
    expect(lists).toBe(1);
    const syncedAt = (await core.listNamespacedConfigMap({ namespace: 'gone' })).metadata?.resourceVersion as string;

    await proxy.stop();
    await core.createNamespacedConfigMap({ namespace: 'gone', body: { metadata: { name: 'new' } } });
    await core.deleteNamespacedConfigMap({ namespace: 'gone', name: 'old' });
    // Prove the server now answers a watch at the informer's last version with 410, before reconnecting it.
    await waitFor(
      'the synced resourceVersion to be compacted',
      () =>
        new Promise<true | undefined>((resolve) => {
          let answer: true | undefined;
          void new Watch(kc)
            .watch(
              '/api/v1/namespaces/gone/configmaps',
              { resourceVersion: syncedAt },
              (type: string, obj: { code?: number }) => {
                if (type === 'ERROR' && obj.code === 410) answer = true;
              },
              () => resolve(answer),
            )
            .then((req) => setTimeout(() => req.abort(), 1000));
        }),
      { timeoutMs: 30_000, intervalMs: 500 },
    );

    await proxy.start();
    await waitFor('relist', () => Promise.resolve(informer?.get('new', 'gone') && !informer.get('old', 'gone') ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    expect(lists).toBe(2);
    // A relist reports deletions first, then additions.
    expect(events).toEqual(['add gone/old', 'delete gone/old', 'add gone/new']);
  });
});

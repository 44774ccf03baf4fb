// Two operator replicas on one real API server: both Ready, only the leader reconciles, SIGTERM
// hands over through the lease, and a replica whose lease is stolen stops reconciling at once —
// a stub's reconcile, and the real ModelDeployment reconciler's request in flight.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../../../operator/api/schema.ts';
import { addModelDeploymentController } from '../../../operator/controller/setup.ts';
import { loadConfig } from '../../../operator/runtime/config.ts';
import { createLogger } from '../../../operator/runtime/logger.ts';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { startCluster, waitFor, type LocalCluster } from '../../cluster/index.ts';
import { Controller } from '../../../operator/runtime/controller.ts';
import { Informer, resourcePath } from '../../../operator/runtime/informer.ts';
import type { LeadershipEnd } from '../../../operator/runtime/leaderElection.ts';
import { Manager } from '../../../operator/runtime/manager.ts';
import { splitKey } from '../../../operator/runtime/reconcile.ts';
import { createModelDeployment } from '../../fixtures/modelDeployments.ts';

const NS = 'mgr';
const LEASE = { namespace: 'default', leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 300 };

interface Replica {
  id: string;
  manager: Manager;
  reconciled: string[];
  aborted: string[];
  lost: LeadershipEnd | undefined;
}

describe('Manager', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;
  let core: CoreV1Api;
  const replicas: Replica[] = [];

  function replica(id: string, lease: string): Replica {
    const r: Replica = { id, reconciled: [], aborted: [], lost: undefined, manager: undefined as unknown as Manager };
    r.manager = new Manager({
      kubeConfig: kc,
      http: { host: '127.0.0.1', port: 0 },
      leaderElection: { ...LEASE, name: lease, identity: id },
      onLostLeadership: (end) => (r.lost = end),
    });
    const informer = new Informer<V1ConfigMap>({
      kubeConfig: kc,
      path: resourcePath({ apiVersion: 'v1', plural: 'configmaps', namespace: NS }),
      list: () => core.listNamespacedConfigMap({ namespace: NS }),
    });
    const controller = new Controller({
      name: 'configmap',
      maxConcurrentReconciles: 2,
      metrics: r.manager.metrics,
      reconcile: async (key, { signal }) => {
        r.reconciled.push(key);
        // A "hold" ConfigMap keeps its reconcile running until the signal aborts it.
        if (informer.get(splitKey(key).name, NS)?.data?.hold === 'true') {
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          r.aborted.push(key);
        }
      },
    });
    controller.watch(informer);
    r.manager.addInformer(informer).addController(controller);
    replicas.push(r);
    return r;
  }

  const get = async (r: Replica, path: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(`http://127.0.0.1:${r.manager.port}${path}`);
    return { status: res.status, body: await res.text() };
  };
  const leaderAmong = (rs: Replica[]): Promise<Replica | undefined> => Promise.resolve(rs.find((r) => r.manager.isLeader()));

  beforeAll(async () => {
    cluster = await startCluster({ crdFiles: [fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url))] });
    kc = cluster.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'a' } } });
  });
  afterAll(async () => {
    for (const r of replicas) await r.manager.stop();
    await cluster?.stop();
  });

  test('both replicas are Ready, only the leader reconciles, and a termination signal hands leadership over', async () => {
    const one = replica('one', 'handover');
    const two = replica('two', 'handover');
    await one.manager.start();
    await two.manager.start();
    for (const r of [one, two]) {
      await waitFor(`${r.id} ready`, async () => ((await get(r, '/readyz')).status === 200 ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });
      expect((await get(r, '/healthz')).status).toBe(200);
    }
    const leader = await waitFor('a leader', () => leaderAmong([one, two]), { timeoutMs: 10_000, intervalMs: 50 });
    const standby = leader === one ? two : one;
    await waitFor('a reconciled', () => Promise.resolve(leader.reconciled.includes(`${NS}/a`) || undefined), { timeoutMs: 10_000, intervalMs: 50 });
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'b' } } });
    await waitFor('b reconciled', () => Promise.resolve(leader.reconciled.includes(`${NS}/b`) || undefined), { timeoutMs: 10_000, intervalMs: 50 });
    expect(standby.reconciled).toEqual([]);
    expect((await get(leader, '/metrics')).body).toContain('siskin_leader_election_master_status{name="handover"} 1');
    expect((await get(standby, '/metrics')).body).toContain('siskin_leader_election_master_status{name="handover"} 0');
    expect((await get(leader, '/metrics')).body).toMatch(/siskin_reconcile_total\{controller="configmap",result="success"\} [2-9]/);

    // The cluster library stops every cluster on a real SIGTERM in this process, so the test
    // delivers the termination through another signal name to the same handler.
    const exitCode = new Promise<number>((resolve) => leader.manager.stopOnSignals({ signals: ['SIGUSR2'], exit: resolve }));
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(await exitCode).toBe(0);
    // The lease was handed back (or already taken by the standby), not left to expire.
    const holder = (await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'handover', namespace: 'default' })).spec?.holderIdentity;
    expect([undefined, '', standby.id]).toContain(holder);
    // The standby takes over and reconciles from its warm cache.
    await waitFor('standby leads', () => Promise.resolve(standby.manager.isLeader() || undefined), { timeoutMs: 10_000, intervalMs: 20 });
    await waitFor('standby reconciled', () => Promise.resolve(standby.reconciled.includes(`${NS}/a`) && standby.reconciled.includes(`${NS}/b`) ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    await expect(fetch(`http://127.0.0.1:${leader.manager.port}/healthz`)).rejects.toThrow();
    await standby.manager.stop();
  });

  test('a replica whose lease is stolen aborts its running reconciles at once', async () => {
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'held' }, data: { hold: 'true' } } });
    const r = replica('solo', 'steal');
    await r.manager.start();
    await waitFor('held reconcile running', () => Promise.resolve(r.reconciled.includes(`${NS}/held`) || undefined), { timeoutMs: 10_000, intervalMs: 20 });
    expect(r.aborted).toEqual([]);
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    await cluster.kubectlOk(['patch', 'lease', 'steal', '-n', 'default', '--type=merge', '-p', JSON.stringify({ spec: { holderIdentity: 'thief', renewTime: now } })]);
    const patchedAt = Date.now();
    await waitFor('reconcile aborted', () => Promise.resolve(r.aborted.includes(`${NS}/held`) || undefined), { timeoutMs: 5000, intervalMs: 10 });
    expect(Date.now() - patchedAt).toBeLessThan(LEASE.renewDeadlineMs);
    await waitFor('lost reported', () => Promise.resolve(r.lost), { timeoutMs: 5000, intervalMs: 10 });
    expect(r.lost).toEqual({ reason: 'lost', message: 'lease taken over by thief' });
    expect(r.manager.isLeader()).toBe(false);
    // No further reconciles after the loss, whatever happens to the objects.
    const count = r.reconciled.length;
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'after-loss' } } });
    await new Promise((res) => setTimeout(res, 800));
    expect(r.reconciled).toHaveLength(count);
  });

  test('a stolen lease aborts the real ModelDeployment reconciler mid-request: nothing is written after it', async () => {
    // A "Prometheus" that never answers holds the reconcile in its stable health check.
    const sockets = new Set<Socket>();
    const hanging = createServer(() => undefined);
    hanging.on('connection', (c) => sockets.add(c));
    await new Promise<void>((res) => hanging.listen(0, '127.0.0.1', res));
    const custom = kc.makeApiClient(CustomObjectsApi);
    let lost: LeadershipEnd | undefined;
    const manager = new Manager({ kubeConfig: kc, leaderElection: { ...LEASE, name: 'steal-md', identity: 'md' }, onLostLeadership: (end) => (lost = end) });
    const prometheusURL = `http://127.0.0.1:${(hanging.address() as { port: number }).port}`;
    const config = loadConfig({ SISKIN_WATCH_NAMESPACE: NS, SISKIN_LEADER_ELECT: 'false', SISKIN_ALLOWED_PROMETHEUS_ADDRESSES: prometheusURL });
    addModelDeploymentController(manager, { kubeConfig: kc, config, logger: createLogger({ level: 'silent' }) });
    try {
      await manager.start();
      await createModelDeployment(custom, NS, 'slow', {
        model: { uri: 'file:///models/iris-1.onnx', version: '1' },
        rollout: { schemaCheck: 'Off' },
        monitoring: { prometheusURL, drift: { maxErrorRate: 0.5 } },
      });
      await waitFor('the health query in flight', () => Promise.resolve([...sockets].some((c) => !c.destroyed) || undefined), { timeoutMs: 15_000, intervalMs: 20 });
      const md = async (): Promise<string> =>
        ((await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'slow' })) as { metadata: { resourceVersion: string } }).metadata
          .resourceVersion;
      const before = await md();
      const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
      await cluster.kubectlOk(['patch', 'lease', 'steal-md', '-n', 'default', '--type=merge', '-p', JSON.stringify({ spec: { holderIdentity: 'thief', renewTime: now } })]);
      const patchedAt = Date.now();
      // The query's connection is closed by the abort, well before its own 5 s timeout.
      await waitFor('the query aborted', () => Promise.resolve([...sockets].every((c) => c.destroyed) || undefined), { timeoutMs: 5_000, intervalMs: 10 });
      expect(Date.now() - patchedAt).toBeLessThan(LEASE.renewDeadlineMs);
      await waitFor('lost reported', () => Promise.resolve(lost), { timeoutMs: 5000, intervalMs: 10 });
      // Past the query's timeout: the aborted reconcile wrote no status (or anything else) after all.
      await new Promise((res) => setTimeout(res, 5_500));
      expect(await md()).toBe(before);
    } finally {
      await manager.stop();
      for (const c of sockets) c.destroy();
      await new Promise((res) => hanging.close(res));
    }
  });
});

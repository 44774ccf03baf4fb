// Leader election between real electors on one real API server, with short timings.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { startCluster, waitFor, type LocalCluster } from '../../cluster/index.ts';
import { LeaderElector, type LeadershipEnd } from '../../../operator/runtime/leaderElection.ts';
import { OperatorMetrics } from '../../../operator/runtime/metrics.ts';
import { TcpProxy } from '../../cluster/tcpProxy.ts';

const TIMINGS = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 300 };

interface Candidate {
  identity: string;
  elector: LeaderElector;
  startedAt: number | undefined;
  ended: LeadershipEnd | undefined;
  endedAt: number | undefined;
  metrics: OperatorMetrics;
}

describe('LeaderElector', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;
  let leases: CoordinationV1Api;
  const all: Candidate[] = [];
  const proxies: TcpProxy[] = [];

  function candidate(lease: string, identity: string, kubeConfig?: KubeConfig): Candidate {
    const metrics = new OperatorMetrics();
    const c: Candidate = { identity, startedAt: undefined, ended: undefined, endedAt: undefined, metrics, elector: undefined as unknown as LeaderElector };
    c.elector = new LeaderElector({
      kubeConfig: kubeConfig ?? kc,
      namespace: 'default',
      name: lease,
      identity,
      ...TIMINGS,
      metrics,
      onStartedLeading: () => (c.startedAt = Date.now()),
      onStoppedLeading: (end) => {
        c.ended = end;
        c.endedAt = Date.now();
      },
    });
    all.push(c);
    return c;
  }

  const holder = async (lease: string): Promise<string | undefined> =>
    (await leases.readNamespacedLease({ name: lease, namespace: 'default' })).spec?.holderIdentity || undefined;
  const leaderOf = (cs: Candidate[]): Promise<Candidate | undefined> => Promise.resolve(cs.find((c) => c.elector.isLeader()));
  const masterStatus = async (c: Candidate): Promise<number | undefined> => (await c.metrics.leaderStatus.get()).values[0]?.value;

  beforeAll(async () => {
    cluster = await startCluster();
    kc = cluster.kubeConfig();
    leases = kc.makeApiClient(CoordinationV1Api);
  });
  afterAll(async () => {
    for (const c of all) await c.elector.stop();
    for (const p of proxies) await p.stop();
    await cluster?.stop();
  });

  test('of two electors exactly one leads, and the Lease names it', async () => {
    const a = candidate('one-leader', 'a');
    const b = candidate('one-leader', 'b');
    a.elector.start();
    b.elector.start();
    const leader = await waitFor('a leader', () => leaderOf([a, b]), { timeoutMs: 10_000, intervalMs: 50 });
    // Several renew periods later, still exactly one leader, the same one.
    await new Promise((r) => setTimeout(r, 2500));
    expect([a, b].filter((c) => c.elector.isLeader())).toEqual([leader]);
    expect(await holder('one-leader')).toBe(leader.identity);
    const follower = leader === a ? b : a;
    expect(follower.startedAt).toBeUndefined();
    expect(follower.elector.observedLeader()).toBe(leader.identity);
    expect(await masterStatus(leader)).toBe(1);
    expect(await masterStatus(follower)).toBe(0);
    const lease = await leases.readNamespacedLease({ name: 'one-leader', namespace: 'default' });
    expect(lease.spec?.leaseDurationSeconds).toBe(2);
  });

  test('a leader that stops releases the lease and the standby takes over well before the lease would expire', async () => {
    const a = candidate('handover', 'a');
    a.elector.start();
    await waitFor('a leads', () => Promise.resolve(a.elector.isLeader() || undefined), { timeoutMs: 10_000, intervalMs: 50 });
    const b = candidate('handover', 'b');
    b.elector.start();
    await new Promise((r) => setTimeout(r, 1000));
    expect(b.elector.isLeader()).toBe(false);

    const stoppedAt = Date.now();
    await a.elector.stop();
    expect(a.ended?.reason).toBe('stopped');
    expect(await masterStatus(a)).toBe(0);
    await waitFor('b leads', () => Promise.resolve(b.elector.isLeader() || undefined), { timeoutMs: 10_000, intervalMs: 20 });
    expect((b.startedAt as number) - stoppedAt).toBeLessThan(TIMINGS.leaseDurationMs);
    expect(await holder('handover')).toBe('b');
    const lease = await leases.readNamespacedLease({ name: 'handover', namespace: 'default' });
    expect(lease.spec?.leaseTransitions).toBe(1);
  });

  test('a leader that vanishes without releasing is replaced only once its lease expired', async () => {
    const a = candidate('crash', 'a');
    a.elector.start();
    await waitFor('a leads', () => Promise.resolve(a.elector.isLeader() || undefined), { timeoutMs: 10_000, intervalMs: 50 });
    const b = candidate('crash', 'b');
    b.elector.start();
    await new Promise((r) => setTimeout(r, 700));
    const crashedAt = Date.now();
    await a.elector.stop({ release: false });
    expect(await holder('crash')).toBe('a');
    await waitFor('b leads', () => Promise.resolve(b.elector.isLeader() || undefined), { timeoutMs: 10_000, intervalMs: 20 });
    // b saw a's last renewal at most one retry period before the crash, and waits a full lease from then.
    expect((b.startedAt as number) - crashedAt).toBeGreaterThanOrEqual(TIMINGS.leaseDurationMs - 1.2 * TIMINGS.retryPeriodMs - 100);
  });

  test('a leader whose lease is taken over stops at once, not after its renew deadline', async () => {
    const a = candidate('stolen', 'a');
    a.elector.start();
    await waitFor('a leads', () => Promise.resolve(a.elector.isLeader() || undefined), { timeoutMs: 10_000, intervalMs: 50 });
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    await cluster.kubectlOk(['patch', 'lease', 'stolen', '-n', 'default', '--type=merge', '-p', JSON.stringify({ spec: { holderIdentity: 'thief', renewTime: now } })]);
    const patchedAt = Date.now();
    await waitFor('a stops', () => Promise.resolve(a.ended), { timeoutMs: 10_000, intervalMs: 20 });
    expect(a.ended).toEqual({ reason: 'lost', message: 'lease taken over by thief' });
    expect(a.elector.isLeader()).toBe(false);
    expect(await masterStatus(a)).toBe(0);
    expect((a.endedAt as number) - patchedAt).toBeLessThan(TIMINGS.renewDeadlineMs);
    // It does not fight back: the thief keeps the lease.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await holder('stolen')).toBe('thief');
  });

  test('a leader cut off from the API server gives up after its renew deadline, and a standby takes over after expiry', async () => {
    const proxy = new TcpProxy(cluster.server);
    proxies.push(proxy);
    await proxy.start();
    const a = candidate('cut-off', 'a', proxy.kubeConfig(kc));
    a.elector.start();
    await waitFor('a leads', () => Promise.resolve(a.elector.isLeader() || undefined), { timeoutMs: 10_000, intervalMs: 50 });
    const b = candidate('cut-off', 'b');
    b.elector.start();
    await new Promise((r) => setTimeout(r, 700));
    const cutAt = Date.now();
    await proxy.stop();
    await waitFor('a gives up', () => Promise.resolve(a.ended), { timeoutMs: 10_000, intervalMs: 20 });
    expect(a.ended).toEqual({ reason: 'lost', message: `could not renew the lease within ${TIMINGS.renewDeadlineMs} ms` });
    // Its last successful renewal was at most one retry period before the cut.
    expect((a.endedAt as number) - cutAt).toBeGreaterThanOrEqual(TIMINGS.renewDeadlineMs - TIMINGS.retryPeriodMs - 100);
    await waitFor('b leads', () => Promise.resolve(b.elector.isLeader() || undefined), { timeoutMs: 10_000, intervalMs: 20 });
    // The old leader had stopped before the new one started: never two leaders.
    expect(b.startedAt as number).toBeGreaterThan(a.endedAt as number);
  });

  test('a leader frozen past its renew deadline refuses to write the moment it runs again, before any timer could tell it', async () => {
    const a = candidate('frozen', 'frozen-a');
    a.elector.start();
    await waitFor('a leading', () => Promise.resolve(a.elector.isLeader() ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
    expect(a.elector.writeRefusal()).toBeUndefined();
    // Freeze this process (as SIGSTOP would): no timer, no I/O callback runs for longer than the renew deadline.
    const until = Date.now() + TIMINGS.renewDeadlineMs + 200;
    while (Date.now() < until) {
      // busy: the event loop is stopped
    }
    // Synchronously on resuming: the deadline timer has not run, but the fence already refuses, and leadership ends.
    // A scrape at that moment already says it does not lead (two processes must never both say so).
    const scraped = masterStatus(a);
    expect(a.elector.isLeader()).toBe(true);
    expect(await scraped).toBe(0);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.elector.writeRefusal()).toMatch(/^the lease was last renewed \d+ ms ago, past the renew deadline \(1500 ms\)$/);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.ended).toMatchObject({ reason: 'lost' });
  });

  test('rejects timings client-go would reject', () => {
    const base = { kubeConfig: kc, namespace: 'default', name: 'x', identity: 'i', onStartedLeading: () => undefined, onStoppedLeading: () => undefined };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 1000, renewDeadlineMs: 1000 })).toThrow(/leaseDurationMs/);
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 3000, renewDeadlineMs: 1000, retryPeriodMs: 1000 })).toThrow(/renewDeadlineMs/);
  });
});

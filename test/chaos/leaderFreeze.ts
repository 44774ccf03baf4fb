// Two operator processes on one Lease. The leader is frozen (SIGSTOP) past its lease while
// rollouts are in flight and specs change under it, the standby takes over, and the old
// leader is resumed (SIGCONT) with a queue of stale work. The resumed process must make no
// write (the API server's audit log is the witness), and at no sampled moment may two
// responsive processes both say they lead. Each round restarts the stepped-down process as
// the next standby and freezes the new leader.
import { readFileSync } from 'node:fs';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { modelDeployment, rng, sleep, type OperatorProcess, type World } from './world.ts';

/** How many rounds, how many rollouts in flight. */
export interface FreezeOptions {
  seed: number;
  rounds: number;
  rollouts: number;
}

/** What the scenario found. */
export interface FreezeReport {
  seed: number;
  rounds: number;
  invariantsChecked: number;
  violations: string[];
  /** Freeze → the standby holding the lease (ms). */
  takeoverMs: number[];
  /** Resume → the old leader's exit (ms). */
  stepDownMs: number[];
  /** Requests the resumed processes sent that would have written (all refused or never sent: expected 0 accepted). */
  writesAttemptedAfterResume: number;
  writesAcceptedAfterResume: number;
  leaderSamples: number;
}

const ACCOUNTS = ['siskin-operator-a', 'siskin-operator-b'] as const;
/** Short lease, so a round takes seconds: lease 6 s, renew deadline 4 s, retry 1 s. */
const LEASE_ENV = { SISKIN_LEASE_DURATION_SECONDS: '6', SISKIN_RENEW_DEADLINE_SECONDS: '4', SISKIN_RETRY_PERIOD_SECONDS: '1' };
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
const md = (name: string, version: string, replicas: number): Record<string, unknown> =>
  modelDeployment(name, version, { replicas, rollout: { schemaCheck: 'Off', steps: [{ setWeight: 50 }, { pause: { durationSeconds: 30 } }] } });

/** Runs the scenario; the world must have been made with both accounts. */
export async function leaderFreeze(world: World, o: FreezeOptions): Promise<FreezeReport> {
  const random = rng(o.seed);
  const r: FreezeReport = { seed: o.seed, rounds: o.rounds, invariantsChecked: 0, violations: [], takeoverMs: [], stepDownMs: [], writesAttemptedAfterResume: 0, writesAcceptedAfterResume: 0, leaderSamples: 0 };
  const leases = world.cluster.kubeConfig().makeApiClient(CoordinationV1Api);
  const holder = async (): Promise<string> => (await leases.readNamespacedLease({ namespace: 'siskin-system', name: 'siskin-operator' }).catch(() => undefined))?.spec?.holderIdentity ?? '';
  const waitHolder = async (identity: string, timeoutMs: number): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      // The holder identity is the process's POD_NAME and a per-process suffix.
      const h = await holder();
      if (h === identity || h.startsWith(`${identity}_`)) return Date.now();
      await sleep(100);
    }
    throw new Error(`${identity} did not take the lease within ${timeoutMs / 1000} s (holder: ${await holder()})`);
  };

  const live: OperatorProcess[] = [];
  const start = async (account: string): Promise<OperatorProcess> => {
    const op = await world.startOperator(account, LEASE_ENV);
    live.push(op);
    await world.ready(op);
    return op;
  };
  let leader = await start(ACCOUNTS[0]);
  await waitHolder(leader.identity, 30_000);
  let standby = await start(ACCOUNTS[1]);

  // One leader at any moment: every responsive process's own gauge, sampled every 200 ms.
  let sampling = true;
  const frozen = new Set<OperatorProcess>();
  const sampler = (async () => {
    while (sampling) {
      const leading = await Promise.all(
        live.filter((p) => !frozen.has(p) && p.child.exitCode === null && p.child.signalCode === null).map(async (p) => {
          // A process that cannot answer within 150 ms (stopped, or busy) is not counted as leading.
          const text = await fetch(p.metricsUrl, { signal: AbortSignal.timeout(150) }).then((res) => res.text()).catch(() => '');
          return /siskin_leader_election_master_status\{[^}]*\} 1\b/.test(text) ? p.identity : undefined;
        }),
      );
      const who = leading.filter((x): x is string => x !== undefined);
      r.leaderSamples++;
      r.invariantsChecked++;
      if (who.length > 1) r.violations.push(`two processes said they lead at once: ${who.join(', ')}`);
      await sleep(200);
    }
  })();

  const names = Array.from({ length: o.rollouts }, (_, i) => `f${i}`);
  await world.apply(names.map((n) => md(n, '1', 1)));
  try {
    for (let round = 0; round < o.rounds; round++) {
      // Work in flight: a new version for some, a new size for others.
      await world.apply(names.map((n, i) => md(n, (i + round) % 2 === 0 ? `${round + 2}` : '1', 1 + ((round + i) % 3))));
      await sleep(1_000 + random() * 2_000);
      const frozenAt = Date.now();
      frozen.add(leader);
      leader.child.kill('SIGSTOP');
      r.takeoverMs.push((await waitHolder(standby.identity, 30_000)) - frozenAt);
      // Specs change while the old leader sleeps: its informers will deliver them on waking.
      await world.apply(names.map((n, i) => md(n, `${round + 2}`, 1 + ((round + i + 1) % 3))));
      await sleep(500 + random() * 2_000);
      const resumedAt = Date.now();
      leader.child.kill('SIGCONT');
      frozen.delete(leader);
      const code = await Promise.race([leader.exited, sleep(20_000).then(() => 'still running')]);
      r.invariantsChecked++;
      if (code === 'still running') r.violations.push(`round ${round}: the resumed old leader ${leader.identity} did not step down within 20 s`);
      else r.stepDownMs.push(Date.now() - resumedAt);
      const writes = writesBy(world.auditLog, leader.user, resumedAt);
      r.writesAttemptedAfterResume += writes.attempted;
      r.writesAcceptedAfterResume += writes.accepted.length;
      r.invariantsChecked++;
      if (writes.accepted.length > 0) r.violations.push(`round ${round}: the resumed old leader wrote: ${writes.accepted.slice(0, 5).join('; ')}`);
      if (leader.child.exitCode === null) leader.child.kill('SIGKILL');
      // The stepped-down account comes back as the next standby; the new leader is frozen next.
      const account = leader.user.split(':').at(-1)!;
      [leader, standby] = [standby, await start(account)];
    }
  } finally {
    sampling = false;
    await sampler;
  }
  return r;
}

/** The write requests an account sent from `since` on (the audit log's stageTimestamp), and those the API server accepted. */
function writesBy(auditLog: string, user: string, since: number): { attempted: number; accepted: string[] } {
  let attempted = 0;
  const accepted: string[] = [];
  for (const line of readFileSync(auditLog, 'utf8').split('\n')) {
    if (line === '') continue;
    const e = JSON.parse(line) as { user: { username: string }; verb: string; objectRef?: { resource?: string; subresource?: string; name?: string }; responseStatus?: { code?: number }; stageTimestamp: string };
    if (e.user.username !== user || !WRITE_VERBS.has(e.verb) || Date.parse(e.stageTimestamp) < since) continue;
    attempted++;
    if ((e.responseStatus?.code ?? 0) < 300) accepted.push(`${e.verb} ${e.objectRef?.resource ?? ''}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''} ${e.objectRef?.name ?? ''} → ${e.responseStatus?.code}`);
  }
  return { attempted, accepted };
}

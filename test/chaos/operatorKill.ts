// The operator SIGKILLed at random moments during many rollouts at once, half of them
// canaries that must fail (their revision answers half its requests 500). A new process is
// started at once after each kill, as the kubelet would. Afterwards every rollout must have
// ended exactly once, the way its analysis says, leaving exactly the objects it should.
import { readFileSync } from 'node:fs';
import { AppsV1Api, BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { LABEL_MODEL_DEPLOYMENT, revisionDeploymentName, serviceNames } from '../../operator/resources/labels.ts';
import { NS, judgedRollout, modelDeployment, percentile, rng, sleep, untilEach, type OperatorProcess, type StoredMd, type World } from './world.ts';

/** How hard and how long. */
export interface KillOptions {
  seed: number;
  rollouts: number;
  /** A kill comes this long (uniform) after the process started leading: a random point in its work. */
  killAfterMs: [number, number];
  /** Kills in all; then the last process finishes the rollouts. */
  kills: number;
  /** The new versions arrive over this long (seeded moments), so kills land in rollouts at every stage. */
  spreadMs: number;
  /** Every rollout must end within this. */
  deadlineMs: number;
}

/** What the scenario found. */
export interface KillReport {
  seed: number;
  rollouts: number;
  mustFail: number;
  kills: number;
  invariantsChecked: number;
  violations: string[];
  /** Restart → /readyz, per restart (ms). */
  toReadyMs: number[];
  /** Restart → holding the Lease, per restart (ms): the dead leader's lease must expire first. */
  toLeadMs: number[];
  /** Restart → the new process's first status write, per restart that had work to do (ms). */
  toActionMs: number[];
  /** Wall time from the first new version applied to the last rollout's end (ms). */
  rolloutsMs: number;
}

const ACCOUNT = 'siskin-operator';

const md = (name: string, version: string): Record<string, unknown> => modelDeployment(name, version, { replicas: 2, rollout: judgedRollout(8) });

/** Runs the scenario; the world must have been made with the account "siskin-operator". */
export async function operatorKill(world: World, o: KillOptions): Promise<KillReport> {
  const random = rng(o.seed);
  const names = Array.from({ length: o.rollouts }, (_, i) => `m${i}`);
  // Half of them fail: which half, the seed decides.
  const shuffled = names.map((n) => ({ n, k: random() })).sort((a, b) => a.k - b.k);
  const bad = new Set(shuffled.slice(0, Math.floor(names.length / 2)).map((x) => x.n));
  const report: KillReport = { seed: o.seed, rollouts: o.rollouts, mustFail: bad.size, kills: 0, invariantsChecked: 0, violations: [], toReadyMs: [], toLeadMs: [], toActionMs: [], rolloutsMs: 0 };

  let op = await world.startOperator(ACCOUNT);
  await world.ready(op);
  await world.apply(names.map((n) => md(n, '1')));
  await untilEach(world, names, (m) => m.status?.stable?.version === '1' && ready(m), 120_000, 'every first version stable', () => op.log());

  const versionOf = (n: string): string => (bad.has(n) ? 'bad-2' : '2');
  const ended = (m: StoredMd): boolean => m.status?.history?.some((h) => h.version === versionOf(m.metadata!.name!)) === true;
  const started = Date.now();
  // New versions arrive over spreadMs, in seeded order and at seeded moments.
  const applying = (async () => {
    for (const n of names) {
      await world.apply([md(n, versionOf(n))]);
      await sleep(random() * ((2 * o.spreadMs) / names.length));
    }
  })();
  const lives: OperatorProcess[] = [op];
  let done = false;
  const killing = (async () => {
    await world.leading(op);
    while (!done && report.kills < o.kills) {
      await sleep(o.killAfterMs[0] + random() * (o.killAfterMs[1] - o.killAfterMs[0]));
      if (done) break;
      op.child.kill('SIGKILL');
      await op.exited;
      report.kills++;
      op = await world.startOperator(ACCOUNT);
      lives.push(op);
      report.toReadyMs.push((await world.ready(op)) - op.startedAt);
      report.toLeadMs.push((await world.leading(op)) - op.startedAt);
    }
  })().catch((err: unknown) => {
    // A process that does not come back is a finding, not a reason to stop judging the rest.
    report.violations.push(`a restarted operator never became ready: ${(err as Error).message.split('\n')[0]}`);
    done = true;
  });
  let final: StoredMd[] = [];
  try {
    final = await untilEach(world, names, ended, o.deadlineMs, 'every rollout to end');
  } catch (err) {
    report.violations.push((err as Error).message.split('\n')[0]!);
    final = await world.list();
  }
  report.rolloutsMs = Date.now() - started;
  done = true;
  await Promise.all([killing, applying]);
  // The last process settles what is left (scale-downs after a promotion) before the objects are judged.
  await sleep(5_000);
  final = await world.list();
  report.toActionMs = firstWrites(world.auditLog, lives, op.user);
  await checkObjects(world, final, names, bad, versionOf, report);
  return report;
}

function ready(m: StoredMd): boolean {
  return m.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true && m.status.observedGeneration === m.metadata?.generation;
}

/** Per process after the first: its spawn → its first successful status write (audit log), when it made one. */
function firstWrites(auditLog: string, lives: OperatorProcess[], user: string): number[] {
  const writes = readFileSync(auditLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { user: { username: string }; verb: string; objectRef?: { resource?: string; subresource?: string }; responseStatus?: { code?: number }; stageTimestamp: string })
    .filter((e) => e.user.username === user && e.verb === 'patch' && e.objectRef?.resource === 'modeldeployments' && e.objectRef.subresource === 'status' && (e.responseStatus?.code ?? 0) < 300)
    .map((e) => Date.parse(e.stageTimestamp))
    .sort((a, b) => a - b);
  const out: number[] = [];
  for (const [i, life] of lives.entries()) {
    if (i === 0) continue;
    const end = lives[i + 1]?.startedAt ?? Infinity;
    const first = writes.find((t) => t > life.startedAt && t < end);
    if (first !== undefined) out.push(first - life.startedAt);
  }
  return out;
}

/** The invariants on the objects: outcome, one decision, exactly the Deployments (the stable one at `replicas`) and Services it should own, no Job. */
export async function checkObjects(world: World, mds: StoredMd[], names: readonly string[], bad: ReadonlySet<string>, versionOf: (n: string) => string, r: { invariantsChecked: number; violations: string[] }, replicas = 2): Promise<void> {
  const kc = world.cluster.kubeConfig();
  const deployments = (await kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: NS })).items;
  const services = (await kc.makeApiClient(CoreV1Api).listNamespacedService({ namespace: NS })).items;
  const jobs = (await kc.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: NS })).items;
  const check = (ok: boolean, violation: string): void => {
    r.invariantsChecked++;
    if (!ok) r.violations.push(violation);
  };
  check(jobs.length === 0, `${jobs.length} Jobs exist; no rollout asked for one`);
  for (const name of names) {
    const m = mds.find((x) => x.metadata?.name === name);
    if (m === undefined) {
      check(false, `${name}: ModelDeployment missing`);
      continue;
    }
    const v2 = versionOf(name);
    const decisions = m.status?.history?.filter((h) => h.version === v2) ?? [];
    const expected = bad.has(name) ? 'RolledBack' : 'Promoted';
    check(decisions.length === 1, `${name}: ${decisions.length} decisions for version ${v2} (one expected)`);
    check(decisions[0]?.outcome === expected, `${name}: version ${v2} ended ${decisions[0]?.outcome ?? 'never'}, expected ${expected}`);
    const stableVersion = bad.has(name) ? '1' : v2;
    check(m.status?.stable?.version === stableVersion, `${name}: stable is ${m.status?.stable?.version ?? '-'}, expected ${stableVersion}`);
    // A promoted canary is the stable revision now; a rolled-back one stays recorded (at zero
    // replicas, out of the endpoints) until the next spec, as the rollout's state says.
    if (bad.has(name)) {
      check(m.status?.canary?.version === v2 && m.status.rollout?.state === 'RolledBack', `${name}: after the rollback the canary is ${m.status?.canary?.version ?? 'gone'} and the state ${m.status?.rollout?.state ?? '-'}`);
    } else {
      check(m.status?.canary === undefined && m.status?.rollout?.state === 'Stable', `${name}: after the promotion a canary is still recorded (${m.status?.canary?.name ?? '-'}) or the state is ${m.status?.rollout?.state ?? '-'}`);
    }
    // Deployments: the stable revision's at its size, after a promotion the previous one kept
    // at zero, after a rollback the failed canary's at zero; nothing else.
    const owned = deployments.filter((d) => d.metadata?.labels?.[LABEL_MODEL_DEPLOYMENT] === name);
    const allowed = new Map<string, number>([[revisionDeploymentName(name, m.status?.stable?.name ?? '?'), replicas]]);
    if (m.status?.previous?.name !== undefined) allowed.set(revisionDeploymentName(name, m.status.previous.name), 0);
    if (bad.has(name) && m.status?.canary?.name !== undefined) allowed.set(revisionDeploymentName(name, m.status.canary.name), 0);
    for (const d of owned) {
      const want = allowed.get(d.metadata!.name!);
      check(want !== undefined, `${name}: Deployment ${d.metadata!.name} is orphaned (not stable, previous or a rolled-back canary)`);
      if (want !== undefined) check(d.spec?.replicas === want, `${name}: Deployment ${d.metadata!.name} has ${d.spec?.replicas} replicas, expected ${want}`);
      check(d.metadata?.ownerReferences?.some((o) => o.uid === m.metadata?.uid && o.controller) === true, `${name}: Deployment ${d.metadata!.name} is not owned by its ModelDeployment`);
    }
    check(owned.some((d) => d.metadata!.name === revisionDeploymentName(name, m.status?.stable?.name ?? '?')), `${name}: the stable revision has no Deployment`);
    const svcNames = Object.values(serviceNames(name));
    const ownedSvcs = services.filter((s) => s.metadata?.labels?.[LABEL_MODEL_DEPLOYMENT] === name);
    check(ownedSvcs.length === svcNames.length && ownedSvcs.every((s) => svcNames.includes(s.metadata!.name!)), `${name}: Services ${ownedSvcs.map((s) => s.metadata!.name).join(',')}, expected ${svcNames.join(',')}`);
  }
}

/** Percentiles of a list of ms as "p50 x s, p90 y s, max z s". */
export function spread(values: readonly number[]): string {
  if (values.length === 0) return '–';
  const s = (v: number | undefined): string => `${((v ?? 0) / 1000).toFixed(2)} s`;
  return `p50 ${s(percentile(values, 50))}, p90 ${s(percentile(values, 90))}, max ${s(Math.max(...values))}`;
}

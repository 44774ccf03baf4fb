// The scenarios with their sizes, run the same way by the CI form (chaos.test.ts, small) and
// the full form (run.ts, `npm run chaos`, which writes RELIABILITY.md).
import { CONTROL_PLANE_APISERVER_ARGS, controlPlane, type ControlPlaneReport } from './controlPlane.ts';
import { leaderFreeze, type FreezeReport } from './leaderFreeze.ts';
import { operatorKill, spread, type KillReport } from './operatorKill.ts';
import { promFaults, type PromFaultReport } from './promFaults.ts';
import { seedFromEnv, startWorld, type World } from './world.ts';

/** The sizes of one form. */
export interface ChaosSizes {
  kill: { rollouts: number; kills: number; killAfterMs: [number, number]; spreadMs: number; deadlineMs: number };
  freeze: { rounds: number; rollouts: number };
  prom: { rollouts: number; faultMs: number };
  controlPlane: { outages: number; outageMs: [number, number]; rollouts: number };
}

// A kill comes at a random point of a leading process's work, 0.2–6 s after it took the Lease;
// the next process leads once the dead one's Lease expires (15 s, as shipped).
export const CI_SIZES: ChaosSizes = { kill: { rollouts: 10, kills: 4, killAfterMs: [200, 6_000], spreadMs: 30_000, deadlineMs: 240_000 }, freeze: { rounds: 2, rollouts: 4 }, prom: { rollouts: 4, faultMs: 12_000 }, controlPlane: { outages: 3, outageMs: [1_000, 12_000], rollouts: 6 } };
export const FULL_SIZES: ChaosSizes = { kill: { rollouts: 50, kills: 15, killAfterMs: [200, 6_000], spreadMs: 240_000, deadlineMs: 900_000 }, freeze: { rounds: 5, rollouts: 10 }, prom: { rollouts: 10, faultMs: 30_000 }, controlPlane: { outages: 10, outageMs: [1_000, 15_000], rollouts: 20 } };

/** Runs one scenario with a fresh seed (printed) in a world of its own, torn down whatever happens. */
async function inWorld<O, R>(name: string, world: Parameters<typeof startWorld>[0], scenario: (w: World, o: O & { seed: number }) => Promise<R>, sizes: O): Promise<R> {
  const seed = seedFromEnv(name);
  const w = await startWorld(world);
  try {
    return await scenario(w, { seed, ...sizes });
  } finally {
    await w.stop();
  }
}

export const runKill = (sizes: ChaosSizes['kill']): Promise<KillReport> => inWorld('operator-kill', { accounts: ['siskin-operator'] }, operatorKill, sizes);
export const runFreeze = (sizes: ChaosSizes['freeze']): Promise<FreezeReport> => inWorld('leader-freeze', { accounts: ['siskin-operator-a', 'siskin-operator-b'] }, leaderFreeze, sizes);
export const runProm = (sizes: ChaosSizes['prom']): Promise<PromFaultReport> => inWorld('prometheus-faults', { accounts: ['siskin-operator'] }, promFaults, sizes);
// etcd compacted every 5 s, no watch cache: resumed watches meet 410.
export const runControlPlane = (sizes: ChaosSizes['controlPlane']): Promise<ControlPlaneReport> =>
  inWorld('control-plane', { accounts: ['siskin-operator'], extraApiserverArgs: CONTROL_PLANE_APISERVER_ARGS }, controlPlane, sizes);

/** The RELIABILITY.md rows of the reports. */
export function reportTable(kill: KillReport, freeze: FreezeReport, prom: PromFaultReport, cp: ControlPlaneReport): string {
  const rows = [
    '| scenario | seed | size | faults injected | invariants checked | violations | time to recover |',
    '|---|---|---|---|---|---|---|',
    `| operator SIGKILLed during rollouts (kwok, own process under its RBAC) | ${kill.seed} | ${kill.rollouts} rollouts, ${kill.mustFail} must fail | ${kill.kills} kills | ${kill.invariantsChecked} | ${kill.violations.length} | restart → ready ${spread(kill.toReadyMs)}; restart → leading ${spread(kill.toLeadMs)} (the killed leader's 15 s Lease expires first); restart → next status write ${spread(kill.toActionMs)}; all rollouts ended in ${(kill.rolloutsMs / 1000).toFixed(0)} s |`,
    `| leader frozen (SIGSTOP) past its lease, then resumed (2 processes) | ${freeze.seed} | ${freeze.rounds} rounds, ${freeze.leaderSamples} leader samples | ${freeze.rounds} freezes | ${freeze.invariantsChecked} | ${freeze.violations.length} | freeze → standby leads ${spread(freeze.takeoverMs)}; resume → old leader exits ${spread(freeze.stepDownMs)}; writes after resume: ${freeze.writesAttemptedAfterResume} sent, ${freeze.writesAcceptedAfterResume} accepted |`,
    `| Prometheus down (connections reset), hung, answering garbage, answering 503, one window each during rollouts | ${prom.seed} | ${prom.rollouts} rollouts through each of ${prom.faults.length} windows (${prom.faults.join(', ')}) | ${prom.queriesFailed} queries failed | ${prom.invariantsChecked} | ${prom.violations.length} | Prometheus back → every rollout promoted ${spread(prom.toResumeMs)} |`,
    `| API server unreachable (every watch cut, connections refused; etcd compacted every 5 s, no watch cache: resumed watches meet 410) while specs change | ${cp.seed} | ${cp.outages} outages of ${spread(cp.outageMs)}, ${cp.lists} lists sent | ${cp.outages} outages | ${cp.invariantsChecked} | ${cp.violations.length} | API server back → every change before and during the outage acted on: ${spread(cp.toResumeMs)} when the operator rode it out (${cp.toResumeMs.length} outages); ${spread(cp.toResumeAfterRestartMs)} when the outage outlasted the renew deadline and the leader exited and was restarted (${cp.restarts} restarts) |`,
  ];
  const violations = [...kill.violations.map((v) => `- operator kill: ${v}`), ...freeze.violations.map((v) => `- leader freeze: ${v}`), ...prom.violations.map((v) => `- Prometheus faults: ${v}`), ...cp.violations.map((v) => `- control plane: ${v}`)];
  return `${rows.join('\n')}\n\n${violations.length === 0 ? 'No invariant was violated.' : `Violations:\n${violations.join('\n')}`}\n`;
}

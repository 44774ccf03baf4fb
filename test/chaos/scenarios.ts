// The scenarios with their sizes, run the same way by the CI form (chaos.test.ts, small) and
// the full form (run.ts, `npm run chaos`, which writes RELIABILITY.md).
import { CONTROL_PLANE_APISERVER_ARGS, controlPlane, type ControlPlaneReport } from './controlPlane.ts';
import { leaderFreeze, type FreezeReport } from './leaderFreeze.ts';
import { operatorKill, spread, type KillReport } from './operatorKill.ts';
import { memoryLimit, type MemoryReport } from './memoryLimit.ts';
import { NODE_FAULTS, nodeFaults, type NodeFaultOptions, type NodeFaultReport } from './nodeFaults.ts';
import { promFaults, type PromFaultReport } from './promFaults.ts';
import { servingAbuse, type ServingAbuseOptions, type ServingAbuseReport } from './servingAbuse.ts';
import { seedFromEnv, startWorld, type World } from './world.ts';

/** The sizes of one form. */
export interface ChaosSizes {
  kill: { rollouts: number; kills: number; killAfterMs: [number, number]; spreadMs: number; deadlineMs: number };
  freeze: { rounds: number; rollouts: number };
  prom: { rollouts: number; faultMs: number };
  controlPlane: { outages: number; outageMs: [number, number]; rollouts: number };
  serving: Omit<ServingAbuseOptions, 'seed'>;
  memory: { rollouts: number; faultMs: number; tightHeadroomMiB: number };
  node: Omit<NodeFaultOptions, 'seed'>;
}

// A kill comes at a random point of a leading process's work, 0.2–6 s after it took the Lease;
// the next process leads once the dead one's Lease expires (15 s, as shipped).
export const CI_SIZES: ChaosSizes = { kill: { rollouts: 10, kills: 4, killAfterMs: [200, 6_000], spreadMs: 30_000, deadlineMs: 240_000 }, freeze: { rounds: 2, rollouts: 4 }, prom: { rollouts: 4, faultMs: 12_000 }, controlPlane: { outages: 3, outageMs: [1_000, 12_000], rollouts: 6 },
  serving: { hostile: 1_000, slow: 300, waves: 1, soakMs: 120_000, warmupMs: 30_000, connections: 32 },
  memory: { rollouts: 6, faultMs: 10_000, tightHeadroomMiB: 16 },
  node: { rounds: 1, badShare: 0.25, pauseSeconds: 40 },
};
export const FULL_SIZES: ChaosSizes = { kill: { rollouts: 50, kills: 15, killAfterMs: [200, 6_000], spreadMs: 240_000, deadlineMs: 900_000 }, freeze: { rounds: 5, rollouts: 10 }, prom: { rollouts: 10, faultMs: 30_000 }, controlPlane: { outages: 10, outageMs: [1_000, 15_000], rollouts: 20 },
  serving: { hostile: 10_000, slow: 1_000, waves: 3, soakMs: 1_800_000, warmupMs: 300_000, connections: 32 },
  memory: { rollouts: 20, faultMs: 30_000, tightHeadroomMiB: 16 },
  node: { rounds: 2, badShare: 0.25, pauseSeconds: 40 },
};

/** Runs the serving scenario (no cluster: the serving process alone) with a fresh seed (printed). */
export const runServing = (sizes: ChaosSizes['serving']): Promise<ServingAbuseReport> => servingAbuse({ seed: seedFromEnv('serving'), ...sizes });

/** Runs the real-node scenario (a cluster of its own: the real node) with a fresh seed (printed). */
export const runNode = (sizes: ChaosSizes['node']): Promise<NodeFaultReport> => nodeFaults({ seed: seedFromEnv('node-faults'), ...sizes });

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

export const runMemory = (sizes: ChaosSizes['memory']): Promise<MemoryReport> => inWorld('memory-limit', { accounts: ['siskin-operator'] }, memoryLimit, sizes);

/** One RELIABILITY.md row: the scenario's title (its key in the table), the rest of its cells, its violations. */
export interface ReportRow {
  title: string;
  cells: string[];
  violations: string[];
}

const mib = (n: number): string => `${n.toFixed(0)} MiB`;
const ms = (values: readonly number[]): string => spread(values);

/** The scenarios of the suite, by the name `npm run chaos -- <name>` takes, in the table's order. */
export const SCENARIOS = {
  kill: {
    title: 'operator SIGKILLed during rollouts (kwok, own process under its RBAC)',
    run: async (sizes: ChaosSizes): Promise<ReportRow> => {
      const r = await runKill(sizes.kill);
      return { title: SCENARIOS.kill.title, violations: r.violations, cells: [String(r.seed), `${r.rollouts} rollouts, ${r.mustFail} must fail`, `${r.kills} kills`, String(r.invariantsChecked), String(r.violations.length), `restart → ready ${ms(r.toReadyMs)}; restart → leading ${ms(r.toLeadMs)} (the killed leader's 15 s Lease expires first); restart → next status write ${ms(r.toActionMs)}; all rollouts ended in ${(r.rolloutsMs / 1000).toFixed(0)} s`] };
    },
  },
  freeze: {
    title: 'leader frozen (SIGSTOP) past its lease, then resumed (2 processes)',
    run: async (sizes: ChaosSizes): Promise<ReportRow> => {
      const r = await runFreeze(sizes.freeze);
      return { title: SCENARIOS.freeze.title, violations: r.violations, cells: [String(r.seed), `${r.rounds} rounds, ${r.leaderSamples} leader samples`, `${r.rounds} freezes`, String(r.invariantsChecked), String(r.violations.length), `freeze → standby leads ${ms(r.takeoverMs)}; resume → old leader exits ${ms(r.stepDownMs)}; writes after resume: ${r.writesAttemptedAfterResume} sent, ${r.writesAcceptedAfterResume} accepted`] };
    },
  },
  prom: {
    title: 'Prometheus down (connections reset), hung, answering garbage, answering 503, one window each during rollouts',
    run: async (sizes: ChaosSizes): Promise<ReportRow> => {
      const r = await runProm(sizes.prom);
      return { title: SCENARIOS.prom.title, violations: r.violations, cells: [String(r.seed), `${r.rollouts} rollouts through each of ${r.faults.length} windows (${r.faults.join(', ')})`, `${r.queriesFailed} queries failed`, String(r.invariantsChecked), String(r.violations.length), `Prometheus back → every rollout promoted ${ms(r.toResumeMs)}`] };
    },
  },
  controlPlane: {
    title: 'API server unreachable (every watch cut, connections refused; etcd compacted every 5 s, no watch cache: resumed watches meet 410) while specs change',
    run: async (sizes: ChaosSizes): Promise<ReportRow> => {
      const r = await runControlPlane(sizes.controlPlane);
      return { title: SCENARIOS.controlPlane.title, violations: r.violations, cells: [String(r.seed), `${r.outages} outages of ${ms(r.outageMs)}, ${r.lists} lists sent`, `${r.outages} outages`, String(r.invariantsChecked), String(r.violations.length), `API server back → every change before and during the outage acted on: ${ms(r.toResumeMs)} when the operator rode it out (${r.toResumeMs.length} outages); ${ms(r.toResumeAfterRestartMs)} when the outage outlasted the renew deadline and the leader exited and was restarted (${r.restarts} restarts)`] };
    },
  },
  serving: {
    title: 'serving process abused: hostile requests, waves of slow connections, a soak at saturation (its defaults)',
    run: async (sizes: ChaosSizes): Promise<ReportRow> => {
      const r = await runServing(sizes.serving);
      const statuses = Object.entries(r.hostile.statuses).map(([s, n]) => `${n}× ${s}`).join(', ');
      const wave = r.slow.validPerSecBefore.map((b, i) => `${b} → ${r.slow.validPerSecDuring[i]} req/s, p50 ${r.slow.p50BeforeMs[i]?.toFixed(2)} → ${r.slow.p50DuringMs[i]?.toFixed(2)} ms`).join('; ');
      const closed = [...r.slow.lifetimeMs.headers.map((v) => v - 15_000), ...r.slow.lifetimeMs.body.map((v) => v - 60_000)];
      return {
        title: SCENARIOS.serving.title,
        violations: r.violations,
        cells: [
          String(r.seed),
          `${(r.soakSeconds / 60).toFixed(0)} min at ${sizes.serving.connections} connections: ${r.valid.sent.toLocaleString('en-US')} valid requests (${r.valid.checked} answers checked)`,
          `${r.hostile.sent.toLocaleString('en-US')} hostile requests (${statuses}; ${r.hostile.abandoned} reset by the client, ${r.hostile.closedWithoutAnswer} closed unanswered); ${r.slow.opened.toLocaleString('en-US')} slow connections in ${r.slow.validPerSecBefore.length} waves`,
          String(r.invariantsChecked),
          String(r.violations.length),
          `${r.crashes} crashes, ${r.server5xx} answers 5xx other than 503, ${r.valid.shed} shed; slow connections closed with 408 at their timeout + ${ms(closed)}; valid traffic before → during a wave: ${wave}; RSS after warm-up${r.rssJudged ? '' : ' (not judged: soak too short)'} ${mib(r.rssAfterWarmupMiB.first)} → max ${mib(r.rssAfterWarmupMiB.max)} → last ${mib(r.rssAfterWarmupMiB.last)} (${r.rssAfterWarmupMiB.slopeMiBPerMin} MiB/min); req/s per minute ${r.minutes.map((m) => m.reqPerSec).join(' ')}; RSS MiB per minute (highest; main-thread heap, Buffers) ${r.minutes.map((m) => `${m.rssMaxMiB} (${m.heapMaxMiB}, ${m.externalMaxMiB})`).join(' ')}; SIGTERM → exit ${r.exitCode}`,
        ],
      };
    },
  },
  memory: {
    title: 'operator under a memory limit (its own cgroup) while every analysis query is answered hugely: as long as it reads, or endless',
    run: async (sizes: ChaosSizes): Promise<ReportRow> => {
      const r = await runMemory(sizes.memory);
      const phase = (p: MemoryReport['phases'][number]): string =>
        `limit ${p.limit}: peak ${mib(p.peakMiB)}, limit hit ${p.limitHits} times, ${p.oomKills} OOM kills, ${p.restarts} restarts (restart → ready ${ms(p.toReadyMs)}), ${mib(p.answerMiB)} of answers; Prometheus normal again → every rollout promoted ${ms(p.toResumeMs)}`;
      return { title: SCENARIOS.memory.title, violations: r.violations, cells: [String(r.seed), `${r.rollouts} rollouts through ${r.phases.map((p) => p.windows.length).reduce((a, b) => a + b, 0)} windows at ${r.phases.length} limits`, `${r.phases.map((p) => p.windows.join(', ')).join('; ')}`, String(r.invariantsChecked), String(r.violations.length), r.phases.map(phase).join('; ')] };
    },
  },
  node: {
    title: 'a canary pod and a stable pod killed (container SIGKILLed), kubelet and containerd SIGKILLed and restarted, one fault per rollout at 40 req/s (real node)',
    run: async (sizes: ChaosSizes): Promise<ReportRow> => {
      const r = await runNode(sizes.node);
      const per = NODE_FAULTS.map((f) => {
        const mine = r.faults.filter((x) => x.fault === f);
        const failed = mine.map((x) => x.failed);
        const kinds = new Map<string, number>();
        for (const x of mine) {
          for (const [k, n] of Object.entries(x.network)) if (n > 0) kinds.set(k, (kinds.get(k) ?? 0) + n);
          for (const [k, n] of Object.entries(x.byStatus)) kinds.set(`HTTP ${k}`, (kinds.get(`HTTP ${k}`) ?? 0) + n);
        }
        const outcomes = mine.map((x) => `${x.outcome}${x.bad ? ' (disagreeing)' : ''}`).join(', ');
        const down = mine.flatMap((x) => (x.downMs === undefined ? [] : [x.downMs]));
        return `**${f}** ×${mine.length}: failed requests per fault ${failed.join(', ')} (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ') || 'none'}), failures over ${ms(mine.map((x) => x.failuresEndedMs))} after it; pods Ready again ${ms(mine.map((x) => x.podsReadyMs))}${down.length > 0 ? `; down ${ms(down)}` : ''}; container restarts ${mine.map((x) => x.containerRestarts).join(', ')}; rollouts ${outcomes}`;
      });
      return {
        title: SCENARIOS.node.title,
        violations: r.violations,
        cells: [String(r.seed), `${r.rollouts} rollouts, ${r.mustFail} must fail (disagree with stable); ${r.requests.toLocaleString('en-US')} requests`, `${r.faults.length} faults`, String(r.invariantsChecked), String(r.violations.length), `${per.join('; ')}; failed outside any fault: ${r.failedOutsideFaults}; ticks skipped (16 in flight): ${r.skippedTicks}${r.notInjected.length > 0 ? `; not injected (target gone): ${r.notInjected.join('; ')}` : ''}`],
      };
    },
  },
} as const;
export type ScenarioName = keyof typeof SCENARIOS;

export const TABLE_HEAD = ['| scenario | ran | seed | size | faults injected | invariants checked | violations | time to recover, what happened |', '|---|---|---|---|---|---|---|---|'];

/** The table line of a row run at `ran`. */
export function rowLine(row: ReportRow, ran: Date): string {
  return `| ${row.title} | ${ran.toISOString().slice(0, 16).replace('T', ' ')} UTC | ${row.cells.join(' | ')} |`;
}

// The operator under a memory limit, as in its pod, while every analysis query is answered as
// hugely as it can be: a valid answer as long as the operator reads (every series NaN, no
// data) or one that never ends. The operator's process runs in a memory cgroup of its own
// (the kernel's OOM killer enforces the limit, as the kubelet's cgroup would); when it dies
// it is restarted at once into the same cgroup, as restartPolicy: Always would.
//
// Two limits: the chart's (the operator must not die: its reads are bounded), and one a little
// above what a rollout with normal answers takes (the limit is hit: it must live, or a restart must resume
// cleanly). Invariants in both, as for Prometheus faults: no rollout promoted on the huge
// answers, none rolled back, every one promoted once Prometheus answers normally again, and the
// objects of each ModelDeployment exactly what they should be.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { checkObjects } from './operatorKill.ts';
import { md, startPromProxy, throughFault, type HugeFault } from './promFaults.ts';
import { rng, sleep, untilEach, type OperatorProcess, type World } from './world.ts';

const MEMORY_CGROUPS = '/sys/fs/cgroup/memory';
const PREFIX = 'siskin-chaos-';
const ACCOUNT = 'siskin-operator';
const MiB = 1024 ** 2;
const CHART_VALUES = fileURLToPath(new URL('../../charts/siskin/values.yaml', import.meta.url));

export interface MemoryOptions {
  seed: number;
  rollouts: number;
  faultMs: number;
  /** The tight limit: the peak of a rollout with Prometheus answering normally, plus this. */
  tightHeadroomMiB: number;
}

export interface MemoryPhase {
  limit: string;
  limitMiB: number;
  windows: HugeFault[];
  peakMiB: number;
  /** Times usage reached the limit (the kernel reclaimed or killed). */
  limitHits: number;
  oomKills: number;
  restarts: number;
  /** Restart → /readyz (ms). */
  toReadyMs: number[];
  toResumeMs: number[];
  answerMiB: number;
}

export interface MemoryReport {
  seed: number;
  rollouts: number;
  phases: MemoryPhase[];
  invariantsChecked: number;
  violations: string[];
}

/** "512Mi" → bytes (the quantities the chart uses). */
export function quantityBytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q.trim());
  if (m === null) throw new Error(`cannot read the memory quantity ${JSON.stringify(q)}`);
  return Number(m[1]) * { Ki: 1024, Mi: MiB, Gi: 1024 * MiB, '': 1 }[m[2] ?? '']!;
}

/** A memory cgroup (v1) with a limit; a process is moved in right after it is spawned, before it has allocated much. */
class MemoryCgroup {
  readonly dir: string;
  constructor(name: string, limitBytes: number) {
    if (!existsSync(join(MEMORY_CGROUPS, 'memory.limit_in_bytes'))) {
      throw new Error(`the memory limit scenario needs the cgroup v1 memory controller at ${MEMORY_CGROUPS} (run as root on a host that mounts it)`);
    }
    MemoryCgroup.sweep();
    this.dir = join(MEMORY_CGROUPS, `${PREFIX}${process.pid}-${name}`);
    mkdirSync(this.dir);
    this.setLimit(limitBytes);
  }
  /** Removes the cgroups of earlier runs whose processes are gone. */
  static sweep(): void {
    for (const d of readdirSync(MEMORY_CGROUPS).filter((n) => n.startsWith(PREFIX))) {
      try {
        rmdirSync(join(MEMORY_CGROUPS, d));
      } catch {
        // still has processes: a run in progress
      }
    }
  }
  private read(file: string): string {
    return readFileSync(join(this.dir, file), 'utf8');
  }
  setLimit(bytes: number): void {
    try {
      writeFileSync(join(this.dir, 'memory.limit_in_bytes'), String(bytes));
    } catch (err) {
      throw new Error(`cannot set the memory limit ${bytes} (usage ${this.usage()}): ${(err as Error).message}\n${this.read('memory.stat')}`);
    }
    writeFileSync(join(this.dir, 'memory.max_usage_in_bytes'), '0');
  }
  add(pid: number): void {
    writeFileSync(join(this.dir, 'cgroup.procs'), String(pid));
  }
  /** Memory charged, the page cache included: what the limit is compared with. */
  usage(): number {
    return Number(this.read('memory.usage_in_bytes'));
  }
  peak(): number {
    return Number(this.read('memory.max_usage_in_bytes'));
  }
  failcnt(): number {
    return Number(this.read('memory.failcnt'));
  }
  oomKills(): number {
    return Number(/^oom_kill (\d+)$/m.exec(this.read('memory.oom_control'))?.[1] ?? 0);
  }
  remove(): void {
    try {
      rmdirSync(this.dir);
    } catch {
      // a process still inside is killed by its world's stop; the next run sweeps it
    }
  }
}

/** Runs the scenario; the world must have been made with the account "siskin-operator". */
export async function memoryLimit(world: World, o: MemoryOptions): Promise<MemoryReport> {
  const random = rng(o.seed);
  const report: MemoryReport = { seed: o.seed, rollouts: o.rollouts, phases: [], invariantsChecked: 0, violations: [] };
  const chartLimit = String((YAML.parse(readFileSync(CHART_VALUES, 'utf8')) as { resources: { limits: { memory: string } } }).resources.limits.memory);
  const cgroup = new MemoryCgroup('operator', quantityBytes(chartLimit));
  const proxy = await startPromProxy(world.prom.url);
  let op: OperatorProcess | undefined;
  let phase: MemoryPhase | undefined;
  let supervising = true;
  const start = async (): Promise<OperatorProcess> => {
    const p = await world.startOperator(ACCOUNT, { SISKIN_DEFAULT_PROMETHEUS_ADDRESS: proxy.url });
    cgroup.add(p.child.pid!);
    return p;
  };
  // restartPolicy: Always — a process that dies is replaced at once, in the same cgroup.
  const supervise = async (): Promise<void> => {
    while (supervising) {
      const current = op!;
      await current.exited;
      if (!supervising) return;
      if (phase !== undefined) phase.restarts++;
      op = await start();
      const ready = await world.ready(op, 120_000).catch(() => undefined);
      if (ready !== undefined && phase !== undefined) phase.toReadyMs.push(ready - op.startedAt);
    }
  };
  try {
    op = await start();
    await world.ready(op);
    const supervisor = supervise();
    const names = Array.from({ length: o.rollouts }, (_, i) => `h${i}`);
    await world.apply(names.map((n) => md(n, '1')));
    await untilEach(world, names, (m) => m.status?.stable?.version === '1', 120_000, 'every first version stable');
    // The peak of ordinary work: a rollout of every model with Prometheus answering normally.
    cgroup.setLimit(quantityBytes(chartLimit));
    let version = 2;
    await world.apply(names.map((n) => md(n, '2')));
    await untilEach(world, names, (m) => m.status?.stable?.version === '2', 120_000, 'every second version promoted');
    const ordinary = cgroup.peak();
    // The tight limit first: above what ordinary work needs, below what the huge answers would
    // take. (After huge answers V8 keeps what it grew to: a lower limit could not be set then.)
    const limits: [string, number][] = [
      [`${Math.round(ordinary / MiB + o.tightHeadroomMiB)}Mi (ordinary work's peak ${Math.round(ordinary / MiB)} MiB + ${o.tightHeadroomMiB} MiB)`, Math.round(ordinary + o.tightHeadroomMiB * MiB)],
      [`${chartLimit} (the chart's)`, quantityBytes(chartLimit)],
    ];
    for (const [label, bytes] of limits) {
      cgroup.setLimit(bytes);
      const failsBefore = cgroup.failcnt();
      const killsBefore = cgroup.oomKills();
      const bytesBefore = proxy.faultBytes;
      const windows: HugeFault[] = random() < 0.5 ? ['largest', 'endless'] : ['endless', 'largest'];
      phase = { limit: label, limitMiB: Math.round(bytes / MiB), windows, peakMiB: 0, limitHits: 0, oomKills: 0, restarts: 0, toReadyMs: [], toResumeMs: [], answerMiB: 0 };
      const tally = { invariantsChecked: 0, violations: [] as string[], toResumeMs: phase.toResumeMs };
      // A restarted process waits out the killed leader's Lease (15 s) before it acts.
      for (const w of windows) await throughFault(world, proxy, names, `${++version}`, w, o.faultMs, random, tally, 240_000);
      phase.peakMiB = Math.round(cgroup.peak() / MiB);
      phase.limitHits = cgroup.failcnt() - failsBefore;
      phase.oomKills = cgroup.oomKills() - killsBefore;
      phase.answerMiB = Math.round((proxy.faultBytes - bytesBefore) / MiB);
      report.invariantsChecked += tally.invariantsChecked;
      report.violations.push(...tally.violations.map((v) => `limit ${label}: ${v}`));
      if (report.phases.length === 1) {
        // At the chart's limit the operator must simply live.
        report.invariantsChecked++;
        if (phase.restarts > 0) report.violations.push(`limit ${label}: the operator died ${phase.restarts} times (${phase.oomKills} OOM kills; peak ${phase.peakMiB} MiB)`);
      }
      report.phases.push(phase);
    }
    phase = undefined;
    await sleep(5_000);
    const r = { invariantsChecked: 0, violations: [] as string[] };
    await checkObjects(world, await world.list(), names, new Set(), () => `${version}`, r, 1);
    report.invariantsChecked += r.invariantsChecked;
    report.violations.push(...r.violations);
    supervising = false;
    op?.child.kill('SIGKILL');
    await supervisor;
    return report;
  } finally {
    supervising = false;
    op?.child.kill('SIGKILL');
    await op?.exited;
    await proxy.stop();
    cgroup.remove();
  }
}

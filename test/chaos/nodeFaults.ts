// The node breaking under a rollout, on the real node: serving pods of the repository's image,
// traffic at 40 req/s through the model's Service (kube-proxy, new connection per request), a
// canary rollout judged on latency, errors and agreement with stable. During each rollout's
// first pause, at a seeded moment, one fault: a canary pod's container SIGKILLed, a stable
// pod's container SIGKILLed, the kubelet SIGKILLed and restarted, containerd SIGKILLed and
// restarted. Some versions (seeded) disagree with stable and must be rolled back whatever
// happens.
//
// Invariants: every rollout ends within its deadline, a good version promoted or rolled back by
// its analysis (a Fail verdict recorded), a disagreeing one rolled back; every pod Ready again
// after each fault; no request fails outside a fault's window; and traffic is whole again
// within 30 s of a fault. Failed requests are counted per fault, by what the client saw.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { LABEL_MODEL_DEPLOYMENT, LABEL_REVISION } from '../../operator/resources/labels.ts';
import type { ModelDeploymentStatus } from '../../operator/api/schema.ts';
import { waitFor } from '../cluster/index.ts';
import type { RealNode } from '../cluster/realNode.ts';
import { startE2E, modelDeployment, type E2E } from '../e2e/operator/harness.ts';
import { tabularClassifier } from '../fixtures/onnxModels.ts';
import { startTraffic, type FailedRequest, type NetworkFailures, type Traffic } from '../fixtures/traffic.ts';
import { rng, sleep } from './world.ts';

const run = promisify(execFile);
const MD = 'fraud';
const RPS = 40;
/** Traffic must be whole again this long after a fault. */
const RECOVERY_BOUND_MS = 30_000;

export const NODE_FAULTS = ['canary pod killed', 'stable pod killed', 'kubelet restarted', 'containerd restarted'] as const;
export type NodeFault = (typeof NODE_FAULTS)[number];

export interface NodeFaultOptions {
  seed: number;
  /** Rounds of the four faults, each fault in a rollout of its own (seeded order). */
  rounds: number;
  /** The share of versions that disagree with stable (seeded which). */
  badShare: number;
  /** The first pause (at weight 25), in which the fault lands. */
  pauseSeconds: number;
}

export interface FaultFigures {
  fault: NodeFault;
  version: string;
  bad: boolean;
  outcome: string;
  reason: string;
  /** Requests sent from the fault to the next fault (or the end). */
  requests: number;
  failed: number;
  byStatus: Record<number, number>;
  network: NetworkFailures;
  /** Fault → the last failed request's end (0: none failed). */
  failuresEndedMs: number;
  /** Fault → every pod of the model Ready again. */
  podsReadyMs: number;
  /** Container restarts the fault caused. */
  containerRestarts: number;
  /** How long the daemon was down (restarts only). */
  downMs?: number;
}

export interface NodeFaultReport {
  seed: number;
  rollouts: number;
  mustFail: number;
  faults: FaultFigures[];
  requests: number;
  failedOutsideFaults: number;
  skippedTicks: number;
  /** Faults whose target was gone at their moment (a rollout already ended), with why. */
  notInjected: string[];
  invariantsChecked: number;
  violations: string[];
}

/** The node's containers of one pod (not its sandbox), read without blocking the event loop. */
async function podContainerPids(node: RealNode, pod: string): Promise<number[]> {
  const ctr = async (args: string[]): Promise<string> => (await run('ctr', ['--address', node.containerdSocket, '--namespace', 'k8s.io', ...args])).stdout;
  const tasks = (await ctr(['tasks', 'ls']))
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && f[2] === 'RUNNING');
  const pids: number[] = [];
  for (const [id, pid] of tasks) {
    const labels = (JSON.parse(await ctr(['containers', 'info', id!])) as { Labels?: Record<string, string> }).Labels ?? {};
    if (labels['io.kubernetes.pod.name'] === pod && labels['io.kubernetes.container.name']) pids.push(Number(pid));
  }
  return pids;
}

export async function nodeFaults(o: NodeFaultOptions): Promise<NodeFaultReport> {
  const random = rng(o.seed);
  const report: NodeFaultReport = { seed: o.seed, rollouts: 0, mustFail: 0, faults: [], requests: 0, failedOutsideFaults: 0, skippedTicks: 0, notInjected: [], invariantsChecked: 0, violations: [] };
  const check = (ok: boolean, what: string): void => {
    report.invariantsChecked++;
    if (!ok) report.violations.push(what);
  };
  let e2e: E2E | undefined;
  let traffic: Traffic | undefined;
  try {
    e2e = await startE2E();
    const env = e2e;
    const node = env.cluster.node!;
    const core = env.cluster.kubeConfig().makeApiClient(CoreV1Api);
    const pods = async (): Promise<{ name: string; revision: string; ready: boolean; restarts: number }[]> =>
      (await core.listNamespacedPod({ namespace: 'default', labelSelector: `${LABEL_MODEL_DEPLOYMENT}=${MD}` })).items
        .filter((p) => p.metadata?.deletionTimestamp === undefined)
        .map((p) => ({
          name: p.metadata!.name!,
          revision: p.metadata?.labels?.[LABEL_REVISION] ?? '',
          ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
          restarts: (p.status?.containerStatuses ?? []).reduce((s, c) => s + c.restartCount, 0),
        }));
    // Container restarts by pod: a fault's are counted over the pods that existed before it (a
    // pod the rollout replaces meanwhile takes its count away with it).
    const restartsByPod = async (): Promise<Map<string, number>> => new Map((await pods()).map((p) => [p.name, p.restarts]));
    const restartsSince = async (before: Map<string, number>): Promise<number> => {
      let n = 0;
      for (const [name, r] of await restartsByPod()) if (before.has(name)) n += r - before.get(name)!;
      return n;
    };
    const good = tabularClassifier({ seed: 7 });
    const disagrees = tabularClassifier({ seed: 99 });
    const apply = async (version: string, bytes: Uint8Array, rollout: Record<string, unknown>): Promise<void> => {
      const m = env.store.add(`${MD}/${version}/model.onnx`, bytes);
      await env.apply(modelDeployment(MD, { model: { uri: m.url, sha256: m.sha256, version }, modelCard: { owner: 'team-risk', riskTier: 'low' }, replicas: 4, rollout }));
    };
    // Stable (promoted) or RolledBack (Ready=False by design: it asks for a new spec), the stable revision at full size.
    const settled = (s: ModelDeploymentStatus): boolean => (s.rollout?.state === 'Stable' || s.rollout?.state === 'RolledBack') && (s.readyReplicas ?? 0) >= 4;

    await apply('1', good, { steps: [] });
    const first = await env.waitStatus(MD, 'the first version Ready', settled);
    traffic = startTraffic({ baseUrl: `http://${await env.serviceIP(MD)}`, model: MD, rps: RPS });
    const t = traffic;
    await waitFor('the Service to answer', () => Promise.resolve(t.lastSeen(first.stable!.name) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 50 });
    const start = traffic.totals();
    const startedAt = Date.now();

    const plan = Array.from({ length: o.rounds }, () => [...NODE_FAULTS].map((f) => ({ f, k: random() })).sort((a, b) => a.k - b.k).map((x) => x.f)).flat();
    const faultTimes: number[] = [];
    for (const [i, fault] of plan.entries()) {
      const bad = random() < o.badShare;
      const version = `${i + 2}${bad ? '-disagrees' : ''}`;
      report.rollouts++;
      if (bad) report.mustFail++;
      await apply(version, bad ? disagrees : good, {
        steps: [{ setWeight: 25 }, { pause: { durationSeconds: o.pauseSeconds } }, { setWeight: 50 }, { pause: { durationSeconds: 20 } }],
        analysis: {
          intervalSeconds: 5,
          windowSeconds: 20,
          minSamples: 10,
          failureLimit: 0,
          inconclusiveLimit: 100,
          metrics: [
            { name: 'latency-p99', kind: 'LatencyQuantile', max: 0.25 },
            { name: 'error-rate', kind: 'ErrorRate', max: 0.05 },
            { name: 'agreement', kind: 'PredictionAgreement', min: 0.9, minSamples: 10 },
          ],
        },
      });
      const at25 = await env.waitStatus(MD, `version ${version} admitted at 25`, (s) => s.canary?.version === version && (s.currentStepIndex ?? 0) >= 1);
      // The fault lands at a seeded moment of the first pause: 2 s to a third of it in; for a
      // disagreeing version at once (its first analysis round may already roll it back).
      const delay = 2_000 + random() * Math.max(0, (o.pauseSeconds * 1000) / 3 - 2_000);
      await sleep(bad ? 200 : delay);
      const restartsBefore = await restartsByPod();
      const faultAt = Date.now();
      faultTimes.push(faultAt);
      let downMs: number | undefined;
      if (fault === 'canary pod killed' || fault === 'stable pod killed') {
        const rev = fault === 'canary pod killed' ? at25.canary!.name : at25.stable!.name;
        const mine = (await pods()).filter((p) => p.revision === rev && p.ready);
        const victim = mine[Math.floor(random() * mine.length)];
        const pids = victim === undefined ? [] : await podContainerPids(node, victim.name);
        // The rollout may have ended (and its canary gone) before the fault's moment.
        if (pids.length === 0) {
          report.notInjected.push(`${fault} (version ${version}): no running pod of revision ${rev} left`);
          await env.waitStatus(MD, 'settled', settled, 300_000);
          continue;
        }
        for (const pid of pids) process.kill(pid, 'SIGKILL');
      } else {
        downMs = (await node.restart(fault === 'kubelet restarted' ? 'kubelet' : 'containerd', 'SIGKILL')).downMs;
      }
      let podsReadyMs = Number.NaN;
      // A killed container must have been restarted (its pod may still look Ready for a moment).
      const killed = fault.endsWith('pod killed');
      try {
        await sleep(1_000);
        await waitFor('every pod Ready again', async () => {
          const ps = await pods();
          const restarted = ps.some((p) => p.restarts > (restartsBefore.get(p.name) ?? p.restarts));
          return ps.length > 0 && ps.every((p) => p.ready) && (restarted || !killed) ? true : undefined;
        }, { timeoutMs: 120_000, intervalMs: 250 });
        podsReadyMs = Date.now() - faultAt;
      } catch {
        check(false, `${fault} (version ${version}): not every pod was Ready again within 120 s`);
      }
      const ended = await env.waitStatus(MD, `version ${version} decided`, (s) => s.history?.some((h) => h.version === version) === true && settled(s), 300_000).catch((err: unknown) => {
        check(false, `${fault}: version ${version} did not end: ${(err as Error).message.split('\n')[0]}`);
        return undefined;
      });
      const decision = ended?.history?.find((h) => h.version === version);
      const failedVerdict = ended?.analysis?.measurements.some((m) => m.verdict === 'Fail') === true;
      if (decision !== undefined) {
        if (bad) check(decision.outcome === 'RolledBack', `${fault}: the disagreeing version ${version} ended ${decision.outcome} (${decision.reason})`);
        else check(decision.outcome === 'Promoted' || (decision.outcome === 'RolledBack' && failedVerdict), `${fault}: version ${version} ended ${decision.outcome} (${decision.reason}) with no failed analysis`);
      }
      report.faults.push({ fault, version, bad, outcome: decision?.outcome ?? 'never', reason: decision?.reason ?? '', requests: 0, failed: 0, byStatus: {}, network: { timeout: 0, refused: 0, reset: 0, other: 0 }, failuresEndedMs: 0, podsReadyMs, containerRestarts: await restartsSince(restartsBefore), ...(downMs === undefined ? {} : { downMs }) });
      // A rolled-back version leaves its pods at zero: the next rollout starts from the stable one alone.
      await env.waitStatus(MD, 'settled', settled, 120_000);
    }
    await sleep(5_000);
    await traffic.stop();
    const totals = traffic.totals();
    report.requests = totals.finished - start.finished;
    report.skippedTicks = totals.skipped - start.skipped;
    // Each failure belongs to the last fault before it was sent; none may come before the first.
    const failures = traffic.failures().filter((f) => f.sentAt >= startedAt);
    const owner = (f: FailedRequest): number => faultTimes.findLastIndex((at) => at <= f.sentAt);
    report.failedOutsideFaults = failures.filter((f) => owner(f) < 0).length;
    check(report.failedOutsideFaults === 0, `${report.failedOutsideFaults} requests failed before any fault`);
    for (const [i, fig] of report.faults.entries()) {
      const mine = failures.filter((f) => owner(f) === i);
      fig.failed = mine.length;
      for (const f of mine) {
        if (f.kind !== undefined) fig.network[f.kind]++;
        else fig.byStatus[f.status] = (fig.byStatus[f.status] ?? 0) + 1;
      }
      fig.failuresEndedMs = mine.length === 0 ? 0 : Math.max(...mine.map((f) => f.endedAt)) - faultTimes[i]!;
      fig.requests = Math.round(((faultTimes[i + 1] ?? Date.now()) - faultTimes[i]!) / 1000) * RPS;
      check(fig.failuresEndedMs <= RECOVERY_BOUND_MS, `${fig.fault} (version ${fig.version}): requests still failed ${(fig.failuresEndedMs / 1000).toFixed(1)} s after the fault`);
    }
    return report;
  } finally {
    await traffic?.stop();
    await e2e?.stop();
  }
}

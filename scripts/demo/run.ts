// The demo's story on any DemoCluster: install Siskin with its Helm chart, serve version 1
// under steady traffic, roll out a good version 2 (promoted step by step, the split measured at
// each weight) and a slow version 3 (rolled back by the latency analysis), then summarise.
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type ModelDeploymentStatus } from '../../operator/api/schema.ts';
import type { StepView } from '../../operator/cli/render.ts';
import { startTraffic, type Traffic } from '../../test/fixtures/traffic.ts';
import { describeMeasurement, describeSplit, describeStep, formatSummary, type RolloutReport } from './progress.ts';
import { DEMO_MODEL, demoModelDeployment, goodRollout, slowRollout, type ModelRef, type RolloutSpec } from './scenario.ts';
import type { DemoCluster, Teardown } from './target.ts';
import { SplitMeter, watchStatus } from './watch.ts';

const CHART = fileURLToPath(new URL('../../charts/siskin', import.meta.url));
const RELEASE = 'siskin';
// 40/s puts 10/s on a canary at 25 %: the slow model's ~0.1–0.25 s per row then queues and its
// p99 leaves the 0.25 s bound behind; at 20/s it kept up and stayed just inside (p99 ≈ 0.245).
/** Requests per second the load generator sends. */
export const DEMO_RPS = 40;
// How long the demo lets traffic run after a rollout ends (the "after" split, less its settling).
const AFTER_MS = 10_000;

/** Options of one run. */
export interface ScenarioOptions {
  namespace: string;
  fast: boolean;
  /** Leave the release and the namespace behind on an existing cluster. */
  keep: boolean;
}

/** The outcome: whether every rollout ended as expected, and the summary lines. */
export interface ScenarioResult {
  ok: boolean;
  summary: string[];
}

type HistoryEntry = NonNullable<ModelDeploymentStatus['history']>[number];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the story; everything it starts is registered in teardown. */
export async function runScenario(cluster: DemoCluster, opts: ScenarioOptions, teardown: Teardown, log: (line: string) => void): Promise<ScenarioResult> {
  const started = Date.now();
  const ns = opts.namespace;
  const namespaceExisted = (await cluster.kubectl(['get', 'namespace', ns, '--ignore-not-found', '-o', 'name'])).trim() !== '';
  if (!cluster.holdsCluster && !opts.keep) {
    // On someone's cluster: leave it as it was (a namespace that was there before stays).
    teardown.add('the demo release and namespace', async () => {
      await cluster.kubectl(['-n', ns, 'delete', 'modeldeployment', DEMO_MODEL, '--ignore-not-found', '--wait=true', '--timeout=120s']);
      await cluster.helm(['uninstall', RELEASE, '--namespace', ns, '--ignore-not-found', '--wait', '--timeout', '2m']);
      if (!namespaceExisted) await cluster.kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=true', '--timeout=120s']);
    });
  }

  log(`==> installing Siskin with its Helm chart into namespace ${ns} (helm upgrade --install ${RELEASE} charts/siskin)`);
  await cluster.helm([
    'upgrade', '--install', RELEASE, CHART, '--namespace', ns, '--create-namespace', '--wait', '--timeout', '5m',
    // Namespace-scoped: Roles only, nothing cluster-wide but the CRD.
    '--set', `watchNamespace=${ns}`,
    ...cluster.chartValues.flatMap((v) => ['--set', v]),
  ]);
  const pods = (await cluster.kubectl(['-n', ns, 'get', 'pods', '-l', `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=operator`, '-o', 'jsonpath={.items[*].metadata.name}'])).trim().split(/\s+/);
  const holder = await poll(async () => (await cluster.kubectl(['-n', ns, 'get', 'lease', RELEASE, '-o', 'jsonpath={.spec.holderIdentity}'])).trim() || undefined, 60_000);
  log(`operator running: ${pods.length} pods (${pods.join(', ')}), leader ${holder?.replace(/_[^_]*$/, '') ?? 'not elected yet'}; analysis queries ${cluster.prometheusUrl}`);

  const custom = cluster.kubeConfig().makeApiClient(CustomObjectsApi);
  let steps: readonly StepView[] = [];
  const watch = watchStatus({
    read: async () => {
      try {
        const md = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: DEMO_MODEL })) as { status?: ModelDeploymentStatus };
        return md.status ?? {};
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw err;
      }
    },
    steps: () => steps,
    print: (line) => log(`[${DEMO_MODEL}] ${line}`),
  });
  // On Ctrl-C the API server goes away: the watch must not report that as news.
  teardown.add('status watch', () => Promise.resolve(watch.stop()));
  let traffic: Traffic | undefined;
  try {
    const apply = async (version: string, model: ModelRef, rollout: RolloutSpec): Promise<number> => {
      steps = rollout.steps;
      await cluster.kubectl(['apply', '--server-side', '--field-manager=siskin-demo', '-f', '-'], JSON.stringify(demoModelDeployment(ns, version, model, rollout)));
      return Date.now();
    };

    log(`==> version 1: ModelDeployment ${ns}/${DEMO_MODEL}, 4 pods of the operator's image serving ${cluster.models.good.url}`);
    await apply('1', cluster.models.good, { steps: [] });
    await watch.until('version 1 Ready', (s) => s.stable?.version === '1' && s.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true, 5 * 60_000);
    const baseUrl = await cluster.serviceUrl(ns, DEMO_MODEL);
    traffic = startTraffic({ baseUrl, model: DEMO_MODEL, rps: DEMO_RPS });
    const t = traffic;
    teardown.add('load generator', () => t.stop());
    await sleep(3_000);
    const first = traffic.take();
    log(`==> traffic: ${DEMO_RPS} requests/s to ${baseUrl}/v2/models/${DEMO_MODEL}/infer (a new connection each, as many clients behind a Service); ${Object.values(first.byRevision).reduce((a, b) => a + b, 0)} answers in the first 3 s`);
    const meter = new SplitMeter(traffic, (split) => log(`[${DEMO_MODEL}] traffic ${describeSplit(split)}`));
    watch.measure(meter);
    const reports: RolloutReport[] = [];
    /** The status that ended a version's rollout, or undefined (said why) when it did not end in time. */
    const rolloutEnd = async (version: string, timeoutMs: number): Promise<{ status: ModelDeploymentStatus; entry: HistoryEntry } | undefined> => {
      try {
        const status = await watch.until(`the rollout of version ${version} to end`, (s) => s.history?.some((h) => h.version === version) === true, timeoutMs);
        return { status, entry: status.history!.findLast((h) => h.version === version)! };
      } catch (err) {
        log(`version ${version}: ${(err as Error).message}`);
        return undefined;
      }
    };

    const good = goodRollout(opts.fast);
    log(`==> version 2 (a good model): steps ${good.steps.map(describeStep).join(', ')}; analysis every 10 s over 20 s: latency-p99 <= 0.25 s, error-rate <= 5 %`);
    const goodAt = await apply('2', cluster.models.good, good);
    const goodEnd = await rolloutEnd('2', 10 * 60_000);
    if (goodEnd) await sleep(AFTER_MS);
    reports.push({
      version: '2',
      expected: 'Promoted',
      ...(goodEnd ? { outcome: goodEnd.entry.outcome, reason: goodEnd.entry.reason, durationMs: Date.parse(goodEnd.entry.finishedAt) - goodAt } : {}),
      splits: [],
    });

    const slow = cluster.models.slow;
    if (!slow) log('==> no --slow-model-url: skipping the rollback half');
    // A version 2 that did not end would make version 3's story unreadable.
    if (slow && goodEnd) {
      const rollout = slowRollout();
      log(`==> version 3-slow (the same model with 30 extra 512x512 layers per row): steps ${rollout.steps.map(describeStep).join(', ')}; the same analysis`);
      const slowAt = await apply('3-slow', slow, rollout);
      const slowEnd = await rolloutEnd('3-slow', 5 * 60_000);
      const report: RolloutReport = { version: '3-slow', expected: 'RolledBack', splits: [] };
      if (slowEnd) {
        const decidedAt = Date.parse(slowEnd.entry.finishedAt);
        const failed = slowEnd.status.analysis?.measurements.filter((m) => m.verdict === 'Fail') ?? [];
        await sleep(AFTER_MS);
        const firstAnswer = traffic.firstSeen(slowEnd.entry.revision);
        // Where traffic went, not when the slow canary's queue drained.
        const lastSent = traffic.lastSentTo(slowEnd.entry.revision);
        Object.assign(report, {
          outcome: slowEnd.entry.outcome,
          reason: slowEnd.entry.reason,
          durationMs: decidedAt - slowAt,
          ...(firstAnswer === undefined ? {} : { toRollbackMs: decidedAt - firstAnswer }),
          ...(lastSent === undefined ? {} : { drainMs: Math.max(0, lastSent - decidedAt) }),
          ...(failed.length > 0 ? { decidingMeasurement: failed.map(describeMeasurement).join('; ') } : {}),
        });
      }
      reports.push(report);
    }
    watch.stop();
    await traffic.stop();
    for (const r of reports) r.splits = meter.splits.filter((s) => s.version === r.version);
    const stable = watch.latest()?.stable;
    const summary = [...formatSummary(reports, Date.now() - started), `  serving now: version ${stable?.version ?? '?'} (revision ${stable?.name ?? '?'})`];
    return { ok: reports.every((r) => r.outcome === r.expected), summary };
  } finally {
    watch.stop();
    await traffic?.stop();
  }
}

/** Polls fn until it returns a value or timeoutMs passes (then undefined). */
async function poll<T>(fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(1_000);
  }
  return undefined;
}

// Operator benchmark (npm run bench:operator): against a real API server with the
// controller-manager, scheduler and kwok nodes, the operator as its own process under its
// RBAC. Measures: time until N ModelDeployments are Ready with observedGeneration current;
// the operator's API requests in steady state (from the API server's audit log, watches
// excluded); its RSS; reconcile p99; time until M simultaneous version bumps all have a canary.
//
// The floor, in the same run and first: N plain Deployments with the pod template the operator
// builds (1 replica, no readiness gate: nothing admits them), created the same way, until every
// one is Available — what the Deployment → ReplicaSet → scheduler → kwok pipeline costs alone.
// Last, the operator alone (no pods): BENCH_ZERO ModelDeployments with replicas 0 in a namespace
// of their own, their reconciles per second and the operator's RSS per ModelDeployment.
//
// Environment: BENCH_MDS (default 1000), BENCH_BUMPS (100), BENCH_STEADY_SECONDS (60),
// BENCH_WORKERS (operator's max concurrent reconciles, default 8), BENCH_FLOOR (default 1; 0
// skips the floor), BENCH_ZERO (default 5000; 0 skips it), BENCH_OPERATOR (dist, the default:
// the bundle the image runs, built first by `npm run build`; source: operator/main.ts as is),
// BENCH_CPU_PROF (1: the operator runs under --cpu-prof; its profile is summarised at the end),
// BENCH_HEAP_SNAPSHOT (1: a heap snapshot of the operator at the end, summarised by constructor).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CustomObjectsApi, type V1Deployment } from '@kubernetes/client-node';
import { modelDeploymentSpec } from '../../operator/api/schema.ts';
import { servingDeployment } from '../../operator/resources/deployment.ts';
import { CRD_FILE } from '../../tooling/crd.ts';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../operator/api/rbac.ts';
import { GROUP, PLURAL, VERSION } from '../../operator/api/schema.ts';
import { freePort, httpGet, makeTempDir, serviceAccountWithRules, startCluster, waitFor } from '../../test/cluster/index.ts';
import { formatSummary, summarise, type CpuProfile } from '../profile.ts';
import { formatHeap, summariseHeap, type HeapSnapshot } from '../heap.ts';
import { metricMiB, metricSum } from '../../test/fixtures/metricsText.ts';

const N = Number(process.env.BENCH_MDS ?? 1000);
const BUMPS = Math.min(N, Number(process.env.BENCH_BUMPS ?? 100));
const STEADY_S = Number(process.env.BENCH_STEADY_SECONDS ?? 60);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 8);
const FLOOR = process.env.BENCH_FLOOR !== '0';
const ZERO = Number(process.env.BENCH_ZERO ?? 5000);
const FROM = process.env.BENCH_OPERATOR ?? 'dist';
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const HEAP_SNAPSHOT = process.env.BENCH_HEAP_SNAPSHOT === '1';
if (FROM !== 'dist' && FROM !== 'source') throw new Error(`BENCH_OPERATOR is dist or source, not ${FROM}`);
const SA_USER = 'system:serviceaccount:siskin-system:siskin-operator';
const NS = 'bench';

const root = fileURLToPath(new URL('../../', import.meta.url));
const audit = makeTempDir('bench-audit');
const auditPolicy = join(audit.path, 'policy.yaml');
const auditLog = join(audit.path, 'audit.log');
const profDir = makeTempDir('bench-cpu-prof');
writeFileSync(
  auditPolicy,
  `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    users: ["${SA_USER}"]
  - level: None
`,
);

/** Audit events of the operator's requests since a line offset (watch calls excluded: they are the allowed baseline). */
function operatorRequests(fromLine: number): { count: number; byVerb: Record<string, number>; lines: number } {
  let text = '';
  try {
    text = readFileSync(auditLog, 'utf8');
  } catch {
    return { count: 0, byVerb: {}, lines: 0 };
  }
  const lines = text.split('\n').filter(Boolean);
  const byVerb: Record<string, number> = {};
  let count = 0;
  for (const l of lines.slice(fromLine)) {
    const e = JSON.parse(l) as { verb: string; objectRef?: { resource?: string } };
    if (e.verb === 'watch') continue;
    const k = `${e.verb} ${e.objectRef?.resource ?? ''}`;
    byVerb[k] = (byVerb[k] ?? 0) + 1;
    count++;
  }
  return { count, byVerb, lines: lines.length };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** The cluster's processes and the operator, by name: where the CPU of a burst goes. */
const CPU_NAMES = ['kube-apiserver', 'etcd', 'kube-controller', 'kube-scheduler', 'kwok'];
function cpuSeconds(operator: number): Record<string, number> {
  const out: Record<string, number> = {};
  const ticks = (pid: string): { comm: string; s: number } | undefined => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { comm, s: (Number(f[11]) + Number(f[12])) / 100 };
    } catch {
      return undefined;
    }
  };
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const t = ticks(pid);
    if (t === undefined) continue;
    const name = Number(pid) === operator ? 'operator' : CPU_NAMES.find((n) => t.comm.startsWith(n));
    if (name !== undefined) out[name] = (out[name] ?? 0) + t.s;
  }
  return out;
}
function cpuSince(before: Record<string, number>, operator: number): string {
  const now = cpuSeconds(operator);
  return Object.entries(now)
    .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ');
}

/** p99 of the reconcile duration histogram, by linear interpolation inside the bucket. */
function reconcileP99(metrics: string): number {
  const buckets = [...metrics.matchAll(/siskin_reconcile_time_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\d+)/g)].map((m) => ({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), n: Number(m[2]) }));
  const total = buckets.at(-1)?.n ?? 0;
  const target = total * 0.99;
  let prev = { le: 0, n: 0 };
  for (const b of buckets) {
    if (b.n >= target) return b.le === Infinity ? prev.le : prev.le + ((b.le - prev.le) * (target - prev.n)) / Math.max(1, b.n - prev.n);
    prev = b;
  }
  return NaN;
}

async function pool<T>(items: T[], concurrency: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

const nodes = Math.max(1, Math.ceil((N * 1.3) / 500));
const cluster = await startCluster({
  controllerManager: true,
  scheduler: true,
  kwokNodes: nodes,
  kwokMaxPods: 500,
  // One ClusterIP per ModelDeployment: 1,000 of them need more than a /24, 6,000 a /19 (kwok mode routes nothing).
  serviceCidr: N + ZERO > 4000 ? '198.18.0.0/19' : N + ZERO > 200 ? '198.18.0.0/20' : undefined,
  extraApiserverArgs: [`--audit-policy-file=${auditPolicy}`, `--audit-log-path=${auditLog}`, '--audit-log-format=json', '--audit-log-mode=batch', '--audit-log-batch-max-wait=1s'],
});
let operatorPid = 0;
try {
  await cluster.kubectlOk(['apply', '--server-side', '-f', join(root, CRD_FILE)]);
  await cluster.kubectlOk(['wait', '--for=condition=Established', `crd/${PLURAL}.${GROUP}`, '--timeout=60s']);
  await cluster.kubectlOk(['create', 'namespace', NS]);
  const kc = cluster.kubeConfig();
  const apps = kc.makeApiClient(AppsV1Api);
  let floor: { created: number; available: number; cpu: string } | undefined;
  if (FLOOR) {
    // The operator's own pod template for a typical model, as a plain Deployment of one replica.
    const spec = modelDeploymentSpec.parse({ model: { uri: 'file:///models/floor.onnx', version: '1' }, replicas: 1 });
    const template = servingDeployment({ name: 'floor', namespace: 'floor', uid: 'floor' }, spec, 'r1', 1, { defaultImage: 'siskin.local/siskin:bench' });
    delete template.spec!.template.spec!.readinessGates;
    await cluster.kubectlOk(['create', 'namespace', 'floor']);
    const plain = (i: number): V1Deployment => {
      const name = `plain-${String(i).padStart(4, '0')}`;
      const labels = { app: name };
      return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'floor', labels }, spec: { ...template.spec!, replicas: 1, selector: { matchLabels: labels }, template: { ...template.spec!.template, metadata: { labels } } } };
    };
    const cpu0 = cpuSeconds(-1);
    const f0 = performance.now();
    await pool(Array.from({ length: N }, (_, i) => i), 32, (i) => apps.createNamespacedDeployment({ namespace: 'floor', body: plain(i) }));
    const created = performance.now() - f0;
    await waitFor(`${N} plain Deployments Available`, async () => {
      const items = (await apps.listNamespacedDeployment({ namespace: 'floor' })).items;
      const ok = items.filter((d) => (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) && d.status?.availableReplicas === 1);
      return ok.length === N ? true : undefined;
    }, { timeoutMs: 900_000, intervalMs: 1000 });
    floor = { created, available: performance.now() - f0, cpu: cpuSince(cpu0, -1) };
    // Gone before the operator's burst, so both start from the same cluster.
    await cluster.kubectlOk(['delete', 'namespace', 'floor', '--wait=true', '--timeout=600s']);
  }
  const saConfig = await serviceAccountWithRules(cluster, { namespace: 'siskin-system', name: 'siskin-operator', rules: OPERATOR_RULES, namespaceRules: LEADER_ELECTION_RULES, expirationSeconds: 7200 });
  const port = await freePort();
  // What the image runs (one bundle: far fewer modules to parse and hold than the sources).
  if (FROM === 'dist' && spawnSync(process.execPath, [join(root, 'scripts/build-dist.ts')], { stdio: 'inherit' }).status !== 0) throw new Error('npm run build failed');
  const op = spawn(process.execPath, [...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profDir.path}`] : []), ...(HEAP_SNAPSHOT ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${profDir.path}`] : []), join(root, FROM === 'dist' ? 'dist/operator/main.js' : 'operator/main.ts')], {
    env: {
      ...process.env,
      KUBECONFIG: saConfig,
      SISKIN_DEFAULT_SERVING_IMAGE: 'siskin.local/siskin:bench',
      SISKIN_HTTP_HOST: '127.0.0.1',
      SISKIN_HTTP_PORT: String(port),
      SISKIN_LEADER_ELECTION_NAMESPACE: 'siskin-system',
      SISKIN_MAX_CONCURRENT_RECONCILES: String(WORKERS),
      SISKIN_LOG_LEVEL: 'warn',
      POD_NAME: 'operator-bench',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  operatorPid = op.pid!;
  await waitFor('operator ready', async () => ((await httpGet(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined), { timeoutMs: 30_000 });
  const rssIdle = rssMiB(operatorPid);

  const custom = kc.makeApiClient(CustomObjectsApi);
  const names = Array.from({ length: N }, (_, i) => `model-${String(i).padStart(4, '0')}`);
  const body = (name: string, version: string): object => ({
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'ModelDeployment',
    metadata: { name },
    spec: { model: { uri: `file:///models/${name}-${version}.onnx`, version }, replicas: 1, rollout: { steps: [{ setWeight: 100 }, { pause: {} }] } },
  });
  type Md = { metadata: { name: string; generation: number }; status?: { observedGeneration?: number; canary?: { version: string }; conditions?: { type: string; status: string }[] } };
  const list = async (): Promise<Md[]> => ((await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL })) as { items: Md[] }).items;

  const beforeBurst = operatorRequests(0).lines;
  const cpuBurst0 = cpuSeconds(operatorPid);
  const t0 = performance.now();
  await pool(names, 32, (name) => custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, body: body(name, '1') }));
  const created = performance.now() - t0;
  await waitFor(`${N} ModelDeployments Ready`, async () => {
    const items = await list();
    const ready = items.filter((m) => m.status?.observedGeneration === m.metadata.generation && m.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return ready.length === N ? true : undefined;
  }, { timeoutMs: 900_000, intervalMs: 1000 });
  const allReady = performance.now() - t0;
  const burstCpu = cpuSince(cpuBurst0, operatorPid);
  const rssLoaded = rssMiB(operatorPid);
  // Where the burst's time went inside the operator: waiting in the queue against reconciling,
  // and what it asked of the API server per ModelDeployment (the audit batch flushes every second).
  const burstMetrics = (await httpGet(`http://127.0.0.1:${port}/metrics`)).body;
  // Sum and count of a histogram, all label sets together.
  const totals = (name: string): { sum: number; count: number } => ({ sum: metricSum(burstMetrics, `${name}_sum`) ?? 0, count: metricSum(burstMetrics, `${name}_count`) ?? 0 });
  const queued = totals('siskin_workqueue_queue_duration_seconds');
  const worked = totals('siskin_reconcile_time_seconds');
  await new Promise((r) => setTimeout(r, 1500));
  const burst = operatorRequests(beforeBurst);
  // RSS against the live JS heap: what the caches hold against what V8 grew to and keeps.
  const heapMiB = (text: string): number => metricMiB(text, 'nodejs_heap_size_used_bytes');
  const heapLoaded = heapMiB(burstMetrics);

  // Steady state: nothing changes; count what the operator asks of the API server.
  await new Promise((r) => setTimeout(r, 5000));
  const mark = operatorRequests(0).lines;
  await new Promise((r) => setTimeout(r, STEADY_S * 1000));
  await new Promise((r) => setTimeout(r, 1500)); // the audit batch flushes every second
  const steady = operatorRequests(mark);
  const leaseCalls = Object.entries(steady.byVerb).filter(([k]) => k.endsWith(' leases')).reduce((n, [, v]) => n + v, 0);
  const rssSteady = rssMiB(operatorPid);
  const metrics = (await httpGet(`http://127.0.0.1:${port}/metrics`)).body;
  const p99 = reconcileP99(metrics);

  const t1 = performance.now();
  await pool(names.slice(0, BUMPS), 32, (name) =>
    custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name, body: [{ op: 'replace', path: '/spec/model', value: { uri: `file:///models/${name}-2.onnx`, version: '2' } }] }),
  );
  await waitFor(`${BUMPS} canaries`, async () => {
    const items = await list();
    return items.filter((m) => m.status?.canary?.version === '2').length === BUMPS ? true : undefined;
  }, { timeoutMs: 600_000, intervalMs: 500 });
  const bumped = performance.now() - t1;

  // The operator alone: ModelDeployments with no pods, in a namespace of their own.
  let zero: { seconds: number; rssBefore: number; rssAfter: number } | undefined;
  if (ZERO > 0) {
    await cluster.kubectlOk(['create', 'namespace', 'zero']);
    const rssBefore = rssMiB(operatorPid);
    const z0 = performance.now();
    const zeroNames = Array.from({ length: ZERO }, (_, i) => `zero-${String(i).padStart(4, '0')}`);
    await pool(zeroNames, 32, (name) => custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'zero', plural: PLURAL, body: { ...body(name, '1'), spec: { ...(body(name, '1') as { spec: object }).spec, replicas: 0 } } }));
    await waitFor(`${ZERO} replicas-0 ModelDeployments reconciled`, async () => {
      const items = ((await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'zero', plural: PLURAL })) as { items: Md[] }).items;
      return items.filter((m) => m.status?.observedGeneration === m.metadata.generation).length === ZERO ? true : undefined;
    }, { timeoutMs: 1_800_000, intervalMs: 2000 });
    const seconds = (performance.now() - z0) / 1000;
    await new Promise((r) => setTimeout(r, 10_000));
    zero = { seconds, rssBefore, rssAfter: rssMiB(operatorPid) };
  }

  const out = [
    `# operator benchmark — ${new Date().toISOString()}`,
    `ModelDeployments: ${N} (1 replica each, ${nodes} kwok nodes), operator workers: ${WORKERS}, operator run from ${FROM === 'dist' ? 'dist/operator/main.js (the image\'s bundle)' : 'operator/main.ts'}`,
    ...(floor ? [`floor: ${N} plain Deployments (the operator's pod template, 1 replica) created in ${(floor.created / 1000).toFixed(1)} s; all Available ${(floor.available / 1000).toFixed(1)} s after the first create; CPU seconds meanwhile: ${floor.cpu}`] : []),
    `created in ${(created / 1000).toFixed(1)} s; all Ready (observedGeneration current) ${(allReady / 1000).toFixed(1)} s after the first create${floor ? ` = ${(allReady / floor.available).toFixed(2)} × the floor` : ''}`,
    `steady state over ${STEADY_S} s: ${steady.count - leaseCalls} API requests besides watches and leader election (lease renewals: ${leaseCalls}) ${JSON.stringify(steady.byVerb)}`,
    `operator RSS: ${rssIdle} MiB idle → ${rssLoaded} MiB after the burst → ${rssSteady} MiB in steady state (live JS heap after the burst ${heapLoaded.toFixed(0)} MiB, in steady state ${heapMiB(metrics).toFixed(0)} MiB)`,
    `CPU seconds during the burst (2 cores × ${(allReady / 1000).toFixed(0)} s = ${((2 * allReady) / 1000).toFixed(0)} available): ${burstCpu}`,
    `during the burst: ${worked.count} reconciles (${(worked.count / N).toFixed(1)} per ModelDeployment), mean ${((worked.sum / Math.max(1, worked.count)) * 1000).toFixed(0)} ms reconciling after a mean ${((queued.sum / Math.max(1, queued.count)) * 1000).toFixed(0)} ms waiting in the queue; API requests besides watches ${burst.count} = ${(burst.count / N).toFixed(1)} per ModelDeployment: ${Object.entries(burst.byVerb).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / N).toFixed(2)}`).join(', ')}`,
    `reconcile p99: ${(p99 * 1000).toFixed(0)} ms`,
    `${BUMPS} simultaneous version bumps: all canaries exist after ${(bumped / 1000).toFixed(1)} s`,
    `operator RSS per ModelDeployment: ${(((rssLoaded - rssIdle) * 1024) / N).toFixed(0)} KiB over the first ${N} (with their pods)`,
    ...(zero
      ? [`${ZERO} more with replicas 0 (no pods): all reconciled in ${zero.seconds.toFixed(1)} s = ${(ZERO / zero.seconds).toFixed(1)} ModelDeployments reconciled per second; RSS ${zero.rssBefore} → ${zero.rssAfter} MiB = ${(((zero.rssAfter - zero.rssBefore) * 1024) / ZERO).toFixed(0)} KiB per ModelDeployment`]
      : []),
  ].join('\n');
  console.log(out);
  if (HEAP_SNAPSHOT) {
    // Written when the signal is handled; complete once its size stops changing.
    op.kill('SIGUSR2');
    const file = await waitFor('the heap snapshot', async () => {
      const f = readdirSync(profDir.path).find((n) => n.endsWith('.heapsnapshot'));
      if (f === undefined) return undefined;
      const size = statSync(join(profDir.path, f)).size;
      await new Promise((r) => setTimeout(r, 2000));
      return size > 0 && statSync(join(profDir.path, f)).size === size ? f : undefined;
    }, { timeoutMs: 600_000, intervalMs: 1000 });
    console.log(`\noperator heap after the run (RSS ${rssMiB(operatorPid)} MiB):\n${formatHeap(summariseHeap(JSON.parse(readFileSync(join(profDir.path, file), 'utf8')) as HeapSnapshot))}`);
  }
  if (CPU_PROF) {
    // The profile is written when the process exits.
    const exited = new Promise((r) => op.once('exit', r));
    op.kill('SIGTERM');
    await exited;
    operatorPid = 0;
    const file = readdirSync(profDir.path).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`the operator wrote no CPU profile into ${profDir.path}`);
    const copy = join(root, 'bench/operator/last.cpuprofile');
    copyFileSync(join(profDir.path, file), copy);
    console.log(`\noperator CPU profile over the whole run (${copy}):\n${formatSummary(summarise(JSON.parse(readFileSync(copy, 'utf8')) as CpuProfile))}`);
  }
} finally {
  if (operatorPid) {
    try {
      process.kill(operatorPid, 'SIGTERM');
    } catch {
      // gone
    }
  }
  await cluster.stop();
  audit.remove();
  profDir.remove();
}

// Operator benchmark (npm run bench:operator): against a real API server with the
// controller-manager, scheduler and kwok nodes, the operator as its own process under its
// RBAC. Measures: time until N ModelDeployments are Ready with observedGeneration current;
// the operator's API requests in steady state (from the API server's audit log, watches
// excluded); its RSS; reconcile p99; time until M simultaneous version bumps all have a canary.
//
// Environment: BENCH_MDS (default 1000), BENCH_BUMPS (100), BENCH_STEADY_SECONDS (60),
// BENCH_WORKERS (operator's max concurrent reconciles, default 8).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { CRD_FILE } from '../../tooling/crd.ts';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../operator/api/rbac.ts';
import { GROUP, PLURAL, VERSION } from '../../operator/api/schema.ts';
import { freePort, httpGet, makeTempDir, serviceAccountWithRules, startCluster, waitFor } from '../../test/cluster/index.ts';

const N = Number(process.env.BENCH_MDS ?? 1000);
const BUMPS = Math.min(N, Number(process.env.BENCH_BUMPS ?? 100));
const STEADY_S = Number(process.env.BENCH_STEADY_SECONDS ?? 60);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 8);
const SA_USER = 'system:serviceaccount:siskin-system:siskin-operator';
const NS = 'bench';

const root = fileURLToPath(new URL('../../', import.meta.url));
const audit = makeTempDir('bench-audit');
const auditPolicy = join(audit.path, 'policy.yaml');
const auditLog = join(audit.path, 'audit.log');
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
  // One ClusterIP per ModelDeployment: 1,000 of them need more than a /24 (kwok mode routes nothing).
  serviceCidr: N > 200 ? '198.18.0.0/20' : undefined,
  extraApiserverArgs: [`--audit-policy-file=${auditPolicy}`, `--audit-log-path=${auditLog}`, '--audit-log-format=json', '--audit-log-mode=batch', '--audit-log-batch-max-wait=1s'],
});
let operatorPid = 0;
try {
  await cluster.kubectlOk(['apply', '--server-side', '-f', join(root, CRD_FILE)]);
  await cluster.kubectlOk(['wait', '--for=condition=Established', `crd/${PLURAL}.${GROUP}`, '--timeout=60s']);
  await cluster.kubectlOk(['create', 'namespace', NS]);
  const kc = cluster.kubeConfig();
  const saConfig = await serviceAccountWithRules(cluster, { namespace: 'siskin-system', name: 'siskin-operator', rules: OPERATOR_RULES, namespaceRules: LEADER_ELECTION_RULES, expirationSeconds: 7200 });
  const port = await freePort();
  const op = spawn(process.execPath, [join(root, 'operator/main.ts')], {
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

  const t0 = performance.now();
  await pool(names, 32, (name) => custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, body: body(name, '1') }));
  const created = performance.now() - t0;
  await waitFor(`${N} ModelDeployments Ready`, async () => {
    const items = await list();
    const ready = items.filter((m) => m.status?.observedGeneration === m.metadata.generation && m.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return ready.length === N ? true : undefined;
  }, { timeoutMs: 900_000, intervalMs: 1000 });
  const allReady = performance.now() - t0;
  const rssLoaded = rssMiB(operatorPid);

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

  const out = [
    `# operator benchmark — ${new Date().toISOString()}`,
    `ModelDeployments: ${N} (1 replica each, ${nodes} kwok nodes), operator workers: ${WORKERS}`,
    `created in ${(created / 1000).toFixed(1)} s; all Ready (observedGeneration current) ${(allReady / 1000).toFixed(1)} s after the first create`,
    `steady state over ${STEADY_S} s: ${steady.count - leaseCalls} API requests besides watches and leader election (lease renewals: ${leaseCalls}) ${JSON.stringify(steady.byVerb)}`,
    `operator RSS: ${rssIdle} MiB idle → ${rssLoaded} MiB after the burst → ${rssSteady} MiB in steady state`,
    `reconcile p99: ${(p99 * 1000).toFixed(0)} ms`,
    `${BUMPS} simultaneous version bumps: all canaries exist after ${(bumped / 1000).toFixed(1)} s`,
  ].join('\n');
  console.log(out);
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
}

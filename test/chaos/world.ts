// The setting the chaos scenarios share: a local control plane with kwok nodes (pods turn
// Running without running, so rollouts are as many as the scenario needs), a real
// Prometheus, the serving series each revision's pods would expose (series.ts), and
// operator processes as they run in a pod: their own ServiceAccount under exactly the RBAC
// the chart declares, leader election on a Lease, killed and restarted at will.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoordinationV1Api, CustomObjectsApi, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { CRD_FILE } from '../../tooling/crd.ts';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../operator/api/rbac.ts';
import type { ModelDeploymentStatus } from '../../operator/api/schema.ts';
import { diesWithParent } from '../cluster/process.ts';
import { freePort, httpGet, makeTempDir, serviceAccountWithRules, startCluster, startPrometheus, waitFor, type LocalCluster, type LocalPrometheus } from '../cluster/index.ts';
import { startSeries, type Series } from './series.ts';

const MAIN = fileURLToPath(new URL('../../operator/main.ts', import.meta.url));
/** The namespace every scenario's ModelDeployments live in. */
export const NS = 'chaos';
const OPERATOR_NS = 'siskin-system';

/** A ModelDeployment as the scenarios read it. */
export interface StoredMd extends KubernetesObject {
  spec: { model: { version: string } };
  status?: ModelDeploymentStatus;
}

/** One operator process. */
export interface OperatorProcess {
  /** Its identity on the Lease (POD_NAME). */
  identity: string;
  /** The ServiceAccount user it acts as (the audit log's user.username). */
  user: string;
  child: ChildProcess;
  /** When it was spawned (ms since epoch). */
  startedAt: number;
  log(): string;
  /** Resolves with the exit code (or signal name) once it exits. */
  exited: Promise<number | string>;
  metricsUrl: string;
}

/** What a scenario gets. */
export interface World {
  cluster: LocalCluster;
  prom: LocalPrometheus;
  series: Series;
  /** The API server's audit log (Metadata level, the operators' requests only). */
  auditLog: string;
  /** Starts an operator as `account` (one of the accounts the world was made with), talking to the API server at `server` (default: directly). */
  startOperator(account: string, env?: Record<string, string>, server?: string): Promise<OperatorProcess>;
  /** Waits until an operator answers /readyz 200 (or exits: then throws with its log). */
  ready(op: OperatorProcess, timeoutMs?: number): Promise<number>;
  /** Waits until the process holds the operator's Lease; returns when (ms since epoch). */
  leading(op: OperatorProcess, timeoutMs?: number): Promise<number>;
  /** Every ModelDeployment of the namespace. */
  list(): Promise<StoredMd[]>;
  /** Applies objects (JSON) with the real kubectl, server-side, as the platform team would. */
  apply(objs: unknown[]): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the world; every operator account gets OPERATOR_RULES and the Lease Role. */
export async function startWorld(opts: { accounts: string[]; extraApiserverArgs?: string[] }): Promise<World> {
  const tmp = makeTempDir('chaos');
  const auditLog = join(tmp.path, 'audit.log');
  const auditPolicy = join(tmp.path, 'audit-policy.yaml');
  const users = opts.accounts.map((a) => `system:serviceaccount:${OPERATOR_NS}:${a}`);
  writeFileSync(auditPolicy, `apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n    users: ${JSON.stringify(users)}\n  - level: None\n`);
  const operators: OperatorProcess[] = [];
  let cluster: LocalCluster | undefined;
  let prom: LocalPrometheus | undefined;
  let series: Series | undefined;
  const stop = async (): Promise<void> => {
    for (const op of operators) if (op.child.exitCode === null && op.child.signalCode === null) op.child.kill('SIGKILL');
    await Promise.allSettled(operators.map((o) => o.exited));
    await Promise.allSettled([series?.stop(), prom?.stop()]);
    await cluster?.stop();
    tmp.remove();
  };
  try {
    cluster = await startCluster({
      controllerManager: true,
      scheduler: true,
      kwokNodes: 2,
      kwokMaxPods: 500,
      crdFiles: [fileURLToPath(new URL(`../../${CRD_FILE}`, import.meta.url))],
      extraApiserverArgs: [`--audit-policy-file=${auditPolicy}`, `--audit-log-path=${auditLog}`, '--audit-log-format=json', ...(opts.extraApiserverArgs ?? [])],
    });
    await cluster.kubectlOk(['create', 'namespace', NS]);
    const kubeconfigs = new Map<string, string>();
    for (const account of opts.accounts) {
      kubeconfigs.set(account, await serviceAccountWithRules(cluster, { namespace: OPERATOR_NS, name: account, rules: OPERATOR_RULES, namespaceRules: LEADER_ELECTION_RULES }));
    }
    series = await startSeries(cluster, NS);
    prom = await startPrometheus({ scrapeConfigs: [{ job_name: 'serving', honor_labels: true, static_configs: [{ targets: [series.target] }] }], scrapeInterval: '1s' });
    const c = cluster;
    const p = prom;
    const custom = c.kubeConfig().makeApiClient(CustomObjectsApi);
    return {
      cluster: c,
      prom: p,
      series,
      auditLog,
      async startOperator(account, env = {}, server) {
        const port = await freePort();
        let kubeconfig = kubeconfigs.get(account)!;
        if (server !== undefined) {
          // The same credentials through another address (a relay the scenario can cut).
          const kc = new KubeConfig();
          kc.loadFromFile(kubeconfig);
          const via = new KubeConfig();
          via.loadFromOptions({ clusters: kc.clusters.map((cl) => ({ ...cl, server })), users: kc.users, contexts: kc.contexts, currentContext: kc.currentContext });
          kubeconfig = join(tmp.path, `${account}-via-${new URL(server).port}.kubeconfig`);
          writeFileSync(kubeconfig, via.exportConfig());
        }
        let out = '';
        const identity = `${account}-${operators.length}`;
        // Killed by the kernel if this process dies, however: no operator outlives a run.
        const child = spawn(...diesWithParent(process.execPath, [MAIN]), {
          env: {
            ...process.env,
            KUBECONFIG: kubeconfig,
            SISKIN_DEFAULT_SERVING_IMAGE: 'siskin.local/siskin:chaos',
            SISKIN_DEFAULT_PROMETHEUS_ADDRESS: p.url,
            SISKIN_HTTP_HOST: '127.0.0.1',
            SISKIN_HTTP_PORT: String(port),
            SISKIN_LEADER_ELECTION_NAMESPACE: OPERATOR_NS,
            SISKIN_LOG_LEVEL: 'info',
            POD_NAME: identity,
            ...env,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-200_000)));
        child.stderr.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-200_000)));
        const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
        const op: OperatorProcess = { identity, user: `system:serviceaccount:${OPERATOR_NS}:${account}`, child, startedAt: Date.now(), log: () => out, exited, metricsUrl: `http://127.0.0.1:${port}/metrics` };
        operators.push(op);
        return op;
      },
      async ready(op, timeoutMs = 60_000) {
        const url = op.metricsUrl.replace('/metrics', '/readyz');
        await waitFor(`${op.identity} /readyz`, async () => ((await httpGet(url).catch(() => ({ status: 0 }))).status === 200 ? true : undefined), {
          timeoutMs,
          intervalMs: 50,
          abort: () => (op.child.exitCode !== null || op.child.signalCode !== null ? `${op.identity} exited:\n${op.log().slice(-4000)}` : undefined),
        });
        return Date.now();
      },
      async leading(op, timeoutMs = 60_000) {
        const leases = c.kubeConfig().makeApiClient(CoordinationV1Api);
        await waitFor(
          `${op.identity} to lead`,
          async () => {
            const lease = await leases.readNamespacedLease({ namespace: OPERATOR_NS, name: 'siskin-operator' }).catch(() => undefined);
            // The holder identity is the process's POD_NAME and a per-process suffix.
            const holder = lease?.spec?.holderIdentity ?? '';
            return holder === op.identity || holder.startsWith(`${op.identity}_`) ? true : undefined;
          },
          { timeoutMs, intervalMs: 100, abort: () => (op.child.exitCode !== null || op.child.signalCode !== null ? `${op.identity} exited:\n${op.log().slice(-4000)}` : undefined) },
        );
        return Date.now();
      },
      async list() {
        const r = (await custom.listNamespacedCustomObject({ group: 'siskin.dev', version: 'v1alpha1', namespace: NS, plural: 'modeldeployments' })) as { items: StoredMd[] };
        return r.items;
      },
      async apply(objs) {
        await c.kubectlOk(['apply', '--server-side', '--field-manager=platform-team', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }) });
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A ModelDeployment of the scenarios' namespace serving version `version` of model `name`; `spec` holds the rest. */
export function modelDeployment(name: string, version: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'siskin.dev/v1alpha1', kind: 'ModelDeployment', metadata: { name, namespace: NS }, spec: { model: { uri: `file:///models/${name}/${version}/model.onnx`, version }, ...spec } };
}

/** 50 % → pause → 100 % → pause 4 s, judged every 2 s on the error rate over 6 s; no schema gate (kwok pods do not answer). */
export function judgedRollout(firstPauseSeconds: number): Record<string, unknown> {
  return {
    schemaCheck: 'Off',
    steps: [{ setWeight: 50 }, { pause: { durationSeconds: firstPauseSeconds } }, { setWeight: 100 }, { pause: { durationSeconds: 4 } }],
    analysis: { intervalSeconds: 2, windowSeconds: 6, minSamples: 5, failureLimit: 0, inconclusiveLimit: 100, metrics: [{ name: 'errors', kind: 'ErrorRate', max: 0.1 }] },
  };
}

/**
 * Polls the ModelDeployments until pred holds for every named one, and returns them; on timeout
 * throws naming those still open with their phase and rollout state (and a log tail, if given).
 */
export async function untilEach(world: World, names: readonly string[], pred: (m: StoredMd) => boolean, timeoutMs: number, what: string, log?: () => string): Promise<StoredMd[]> {
  const deadline = Date.now() + timeoutMs;
  let mds: StoredMd[] = [];
  const open = (): string[] =>
    names.filter((n) => {
    const m = mds.find((x) => x.metadata?.name === n);
    return m === undefined || !pred(m);
  });
  while (Date.now() < deadline) {
    mds = await world.list().catch(() => mds);
    if (open().length === 0) return mds;
    await sleep(250);
  }
  const described = open().map((n) => {
    const m = mds.find((x) => x.metadata?.name === n);
    return `${n}: ${m?.status?.phase ?? '-'} ${m?.status?.rollout?.reason ?? ''} ${m?.status?.rollout?.message ?? ''}`;
  });
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}; still open: ${described.slice(0, 5).join('; ')}${log ? `\noperator log:\n${log().slice(-3000)}` : ''}`);
}

/** A seeded PRNG (mulberry32): the same seed injects the same faults at the same moments. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed: CHAOS_SEED when given (to reproduce a run), else a fresh one; printed either way. */
export function seedFromEnv(scenario: string): number {
  const given = process.env.CHAOS_SEED;
  const seed = given !== undefined && given !== '' ? Number(given) : Math.floor(Math.random() * 2 ** 31);
  process.stdout.write(`chaos ${scenario}: seed ${seed} (CHAOS_SEED=${seed} reproduces it)\n`);
  return seed;
}

/** The p-th percentile (0-100) of values, nearest rank; undefined for none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

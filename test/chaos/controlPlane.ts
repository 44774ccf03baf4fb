// The control plane going away under the operator: it reaches the API server through a relay
// that is cut at seeded moments (every watch and request broken, new connections refused, as
// while kube-apiserver restarts) for a seeded time, while specs keep changing. The API server
// compacts etcd every few seconds and serves watches without its cache, so a watch resumed
// from an old resourceVersion gets 410 Gone and must relist. Invariants: within 10 s of the
// API server coming back every spec change made before and during the outage is acted on
// (observedGeneration current, Deployments at their new size), and no object is duplicated.
import { AppsV1Api } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { LABEL_MODEL_DEPLOYMENT } from '../../operator/resources/labels.ts';
import { TcpProxy } from '../cluster/tcpProxy.ts';
import { NS, modelDeployment, rng, sleep, type StoredMd, type World } from './world.ts';

/** API server flags of this scenario's world: compaction every 5 s, watches straight from etcd. */
export const CONTROL_PLANE_APISERVER_ARGS = ['--etcd-compaction-interval=5s', '--watch-cache=false'];

/** How many outages, how long each may last, how many ModelDeployments change under them. */
export interface ControlPlaneOptions {
  seed: number;
  outages: number;
  outageMs: [number, number];
  rollouts: number;
}

/** What the scenario found. */
export interface ControlPlaneReport {
  seed: number;
  outages: number;
  /** Each outage's length (ms). */
  outageMs: number[];
  invariantsChecked: number;
  violations: string[];
  /** API server back → every spec change acted on (ms), after outages the process survived (informers resumed). */
  toResumeMs: number[];
  /**
   * The same after outages longer than the lease's renew deadline: the leader could not renew,
   * stepped down and exited (as it must: it can no longer prove it leads), and was restarted at
   * once as the kubelet would; its successor waits out the Lease before acting.
   */
  toResumeAfterRestartMs: number[];
  restarts: number;
  /** Lists the operator sent during the scenario (relists after cut watches and 410s). */
  lists: number;
}

/** The recovery bound the issue sets for informers. */
const RESUME_BOUND_MS = 10_000;
const md = (name: string, replicas: number): Record<string, unknown> => modelDeployment(name, '1', { replicas });

/** Runs the scenario; the world must have been made with CONTROL_PLANE_APISERVER_ARGS and the account "siskin-operator". */
export async function controlPlane(world: World, o: ControlPlaneOptions): Promise<ControlPlaneReport> {
  const random = rng(o.seed);
  const r: ControlPlaneReport = { seed: o.seed, outages: o.outages, outageMs: [], invariantsChecked: 0, violations: [], toResumeMs: [], toResumeAfterRestartMs: [], restarts: 0, lists: 0 };
  const relay = new TcpProxy(world.cluster.server);
  await relay.start();
  const startedAt = Date.now();
  try {
    const server = `https://127.0.0.1:${relay.port}`;
    let op = await world.startOperator('siskin-operator', {}, server);
    await world.ready(op);
    // restartPolicy Always: an operator that exits is started again at once.
    let stopping = false;
    const supervising = (async () => {
      for (;;) {
        await op.exited;
        if (stopping) return;
        r.restarts++;
        op = await world.startOperator('siskin-operator', {}, server);
      }
    })();
    const names = Array.from({ length: o.rollouts }, (_, i) => `c${i}`);
    const size = new Map(names.map((n) => [n, 1]));
    await world.apply(names.map((n) => md(n, 1)));
    await acted(world, names, size, 60_000);
    for (let i = 0; i < o.outages; i++) {
      // A change just before the cut, one during it: both must be acted on once it is back.
      const resize = async (): Promise<void> => {
        for (const n of names) size.set(n, 1 + Math.floor(random() * 3));
        await world.apply(names.map((n) => md(n, size.get(n)!)));
      };
      await resize();
      await sleep(random() * 1_500);
      const down = o.outageMs[0] + random() * (o.outageMs[1] - o.outageMs[0]);
      const restartsBefore = r.restarts;
      await relay.stop();
      await sleep(down / 2);
      await resize();
      await sleep(down / 2);
      r.outageMs.push(down);
      await relay.start();
      const back = Date.now();
      try {
        await acted(world, names, size, 60_000);
        const took = Date.now() - back;
        r.invariantsChecked++;
        if (r.restarts > restartsBefore) r.toResumeAfterRestartMs.push(took);
        else r.toResumeMs.push(took);
        if (r.restarts === restartsBefore && took > RESUME_BOUND_MS) r.violations.push(`outage ${i + 1} (${(down / 1000).toFixed(1)} s): the operator acted on the changes ${(took / 1000).toFixed(1)} s after the API server came back (bound ${RESUME_BOUND_MS / 1000} s)`);
      } catch (err) {
        r.invariantsChecked++;
        r.violations.push(`outage ${i + 1}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    // No duplicates: one Deployment per ModelDeployment (a single revision throughout).
    const deployments = (await world.cluster.kubeConfig().makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: NS })).items;
    for (const n of names) {
      const owned = deployments.filter((d) => d.metadata?.labels?.[LABEL_MODEL_DEPLOYMENT] === n);
      r.invariantsChecked++;
      if (owned.length !== 1) r.violations.push(`${n}: ${owned.length} Deployments (one revision, one expected)`);
    }
    r.lists = listsBy(world.auditLog, op.user, startedAt);
    stopping = true;
    op.child.kill('SIGKILL');
    await supervising;
    return r;
  } finally {
    await relay.stop();
  }
}

/** Waits until every ModelDeployment's current spec is acted on: observedGeneration current, Deployment at its size. */
async function acted(world: World, names: string[], size: Map<string, number>, timeoutMs: number): Promise<void> {
  const apps = world.cluster.kubeConfig().makeApiClient(AppsV1Api);
  const deadline = Date.now() + timeoutMs;
  let open: string[] = names;
  while (Date.now() < deadline) {
    const [mds, deployments] = await Promise.all([world.list().catch((): StoredMd[] => []), apps.listNamespacedDeployment({ namespace: NS }).then((l) => l.items).catch(() => [])]);
    open = names.filter((n) => {
      const m = mds.find((x) => x.metadata?.name === n);
      const d = deployments.find((x) => x.metadata?.labels?.[LABEL_MODEL_DEPLOYMENT] === n);
      return m?.status?.observedGeneration !== m?.metadata?.generation || d?.spec?.replicas !== size.get(n);
    });
    if (open.length === 0) return;
    await sleep(100);
  }
  throw new Error(`changes not acted on within ${timeoutMs / 1000} s: ${open.slice(0, 5).join(', ')}`);
}

/** List requests an account sent since a moment (audit log). */
function listsBy(auditLog: string, user: string, since: number): number {
  return readFileSync(auditLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { user: { username: string }; verb: string; stageTimestamp: string })
    .filter((e) => e.user.username === user && e.verb === 'list' && Date.parse(e.stageTimestamp) >= since).length;
}

// What GitOps tools conclude from the statuses the real operator writes: the operator runs as a
// process (its own RBAC, kwok nodes) and each live ModelDeployment, read back with kubectl, is
// judged by kstatus (Flux's readiness library, built from the Go module proxy) and by Argo CD's
// health check on Lua 5.1 (gopher-lua's dialect) and 5.4. Each state is reached the cheapest
// real way: a rollout held at a pause step, an abort, the operator stopped while the spec
// moves on, and a canary that cannot be scheduled, rolled back at its progress deadline.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../../operator/api/rbac.ts';
import type { ModelDeploymentStatus } from '../../../operator/api/schema.ts';
import { findBinary, freePort, httpGet, serviceAccountWithRules, startCluster, waitFor, type LocalCluster } from '../../cluster/index.ts';
import { argoHealth, kstatus, LUAS, type ArgoHealth, type KstatusResult } from './judges.ts';

const main = fileURLToPath(new URL('../../../operator/main.ts', import.meta.url));
const MD = 'md/iris';

/** A live ModelDeployment as kubectl returns it. */
interface LiveObject {
  metadata: { generation: number; annotations?: Record<string, string> };
  status?: ModelDeploymentStatus;
}

/** Both judges on one object; the Lua interpreters must agree with each other. */
interface Verdicts {
  kstatus: KstatusResult;
  argo: ArgoHealth;
}

describe('the kstatus checker', () => {
  test('a missing checker is an error that says how to build it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'siskin-empty-'));
    try {
      expect(() => findBinary('kstatus', { PATH: empty, SISKIN_CACHE: empty })).toThrow(/kstatus v\d+\.\d+\.\d+ not found .*build-binaries\.sh kstatus/);
    } finally {
      rmSync(empty, { recursive: true });
    }
  });

  test('computes like Flux on objects it knows: a Deployment mid-rollout, a custom resource without conditions', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', namespace: 'default', generation: 3 },
      spec: { replicas: 2 },
      status: { observedGeneration: 3, replicas: 2, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2 },
    };
    expect(await kstatus(deployment)).toEqual({ status: 'InProgress', message: 'Updated: 1/2' });
    expect(await kstatus({ apiVersion: 'x.dev/v1', kind: 'Thing', metadata: { name: 't', generation: 2 }, status: { observedGeneration: 1 } })).toEqual({
      status: 'InProgress',
      message: 'Thing generation is 2, but latest observed generation is 1',
    });
  });
});

describe('GitOps verdicts on statuses the live operator writes', () => {
  let cluster: LocalCluster;
  let saConfig: string;
  let operator: ChildProcess | undefined;
  let out = '';
  const logs = (): string => out.split('\n').slice(-40).join('\n');

  const startOperator = async (): Promise<void> => {
    const port = await freePort();
    const child = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        KUBECONFIG: saConfig,
        SISKIN_DEFAULT_SERVING_IMAGE: 'siskin.local/siskin:test',
        SISKIN_HTTP_HOST: '127.0.0.1',
        SISKIN_HTTP_PORT: String(port),
        // One process at a time here: no Lease to wait for after a restart.
        SISKIN_LEADER_ELECT: 'false',
        SISKIN_LOG_LEVEL: 'info',
        POD_NAME: 'operator-gitops-test',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', () => (operator = undefined));
    operator = child;
    await waitFor('the operator to be ready', async () => ((await httpGet(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined), {
      timeoutMs: 30_000,
      abort: () => (child.exitCode !== null ? `operator exited ${child.exitCode}:\n${out}` : undefined),
    });
  };
  const stopOperator = async (): Promise<void> => {
    const child = operator;
    if (!child) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };

  const live = async (): Promise<LiveObject> => JSON.parse(await cluster.kubectlOk(['get', MD, '-o', 'json'])) as LiveObject;
  /** Polls the live object until pred holds; on timeout, fails with its status and the operator's log. */
  const waitLive = (what: string, pred: (o: LiveObject) => boolean, timeoutMs = 60_000): Promise<LiveObject> =>
    waitFor(what, async () => {
      const o = await live();
      return pred(o) ? o : undefined;
    }, { timeoutMs, intervalMs: 300 }).catch(async (err: Error) => {
      throw new Error(`${err.message}\nstatus: ${JSON.stringify((await live()).status, null, 1)}\noperator log:\n${logs()}`);
    });
  const judge = async (obj: LiveObject): Promise<Verdicts> => {
    const [k, ...argo] = await Promise.all([kstatus(obj), ...LUAS.map((lua) => argoHealth(obj, lua))]);
    for (const other of argo.slice(1)) expect(other).toEqual(argo[0]);
    return { kstatus: k, argo: argo[0]! };
  };
  const condition = (o: LiveObject, type: string): string | undefined => o.status?.conditions?.find((c) => c.type === type)?.status;

  beforeAll(async () => {
    // The checker and the interpreters first: a missing tool fails here, before a cluster starts.
    findBinary('kstatus');
    cluster = await startCluster({ controllerManager: true, scheduler: true, kwokNodes: 1, crdFiles: [fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url))] });
    saConfig = await serviceAccountWithRules(cluster, { namespace: 'siskin-system', name: 'siskin-operator', rules: OPERATOR_RULES, namespaceRules: LEADER_ELECTION_RULES });
    await startOperator();
  });
  afterAll(async () => {
    operator?.kill('SIGKILL');
    await cluster?.stop();
  });

  test('serving its stable revision: Healthy is Current to kstatus and Healthy to Argo CD', async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'siskin.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: 'iris', namespace: 'default' },
        spec: {
          model: { uri: 'file:///models/iris-1.onnx', version: '1' },
          replicas: 2,
          // kwok pods serve no model to read a signature from: the schema gate is Off here.
          rollout: { steps: [{ setWeight: 50 }, { pause: {} }], schemaCheck: 'Off', progressDeadlineSeconds: 30 },
        },
      }),
    });
    const o = await waitLive('iris to be Healthy', (x) => x.status?.phase === 'Healthy' && x.status.observedGeneration === x.metadata.generation);
    expect(await judge(o)).toEqual({ kstatus: { status: 'Current', message: 'Resource is Ready' }, argo: { status: 'Healthy', message: '1 is serving' } });
  });

  test('a canary rolling out, held at its pause step: InProgress to kstatus, Progressing to Argo CD', async () => {
    await cluster.kubectlOk(['patch', MD, '--type=merge', '-p', JSON.stringify({ spec: { model: { uri: 'file:///models/iris-2.onnx', version: '2' } } })]);
    const o = await waitLive('the canary at its pause step', (x) => x.status?.canary?.version === '2' && x.status.currentStepIndex === 1 && x.status.observedGeneration === x.metadata.generation);
    expect(o.status?.phase).toBe('Progressing');
    const v = await judge(o);
    expect(v.kstatus).toEqual({ status: 'InProgress', message: 'a rollout is in progress' });
    expect(v.argo.status).toBe('Progressing');
    expect(v.argo.message).toMatch(/^canary 2 at weight 50, step 2 of 2/);
  });

  test('the same rollout paused by annotation: still InProgress to kstatus, Suspended to Argo CD', async () => {
    await cluster.kubectlOk(['annotate', MD, 'siskin.dev/paused=true']);
    const o = await waitLive('the rollout to be paused', (x) => x.status?.phase === 'Paused');
    const v = await judge(o);
    expect(v.kstatus.status).toBe('InProgress');
    expect(v.argo.status).toBe('Suspended');
    await cluster.kubectlOk(['annotate', MD, 'siskin.dev/paused-']);
    await waitLive('the rollout to go on', (x) => x.status?.phase === 'Progressing');
  });

  test('a canary rolled back by an abort: Failed to kstatus, Degraded to Argo CD, with the same message', async () => {
    await cluster.kubectlOk(['annotate', MD, 'siskin.dev/command=abort:1']);
    const o = await waitLive('the rollout to be rolled back', (x) => x.status?.phase === 'RolledBack');
    const v = await judge(o);
    expect(v.kstatus.status).toBe('Failed');
    expect(v.kstatus.message).toMatch(/^rollout aborted by user.*Stable 1 serves\. Annotate siskin\.dev\/command=retry to try again, or change the spec$/);
    expect(v.argo).toEqual({ status: 'Degraded', message: v.kstatus.message });
  });

  let stalledGeneration = 0;
  test('a spec change the operator has not observed (operator stopped): InProgress to kstatus, Progressing to Argo CD', async () => {
    await stopOperator();
    // Version 3 asks for more CPU than any node has: its canary can never be scheduled.
    await cluster.kubectlOk([
      'patch',
      MD,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { model: { uri: 'file:///models/iris-3.onnx', version: '3' }, serving: { resources: { requests: { cpu: '1000' } } } } }),
    ]);
    const o = await live();
    stalledGeneration = o.metadata.generation;
    const observed = o.status!.observedGeneration!;
    expect(observed).toBeLessThan(stalledGeneration);
    // What the operator last wrote still says rolled back; neither judge may trust it.
    expect(condition(o, 'Stalled')).toBe('True');
    expect(await judge(o)).toEqual({
      kstatus: { status: 'InProgress', message: `ModelDeployment generation is ${stalledGeneration}, but latest observed generation is ${observed}` },
      argo: { status: 'Progressing', message: `Waiting for the Siskin operator to observe generation ${stalledGeneration} (status is for generation ${observed})` },
    });
  });

  test('a canary that never becomes ready: InProgress until its progress deadline, then rolled back and Failed', async () => {
    await startOperator();
    const rolling = await waitLive('the unschedulable canary to start', (x) => x.status?.observedGeneration === stalledGeneration && x.status.canary?.version === '3');
    // Rolled back already would be a test of nothing: the deadline is 30 s.
    expect(rolling.status?.phase).toBe('Progressing');
    expect((await judge(rolling)).kstatus.status).toBe('InProgress');
    const o = await waitLive('the progress deadline to roll the canary back', (x) => x.status?.phase === 'RolledBack', 90_000);
    const stalled = o.status?.conditions?.find((c) => c.type === 'Stalled');
    expect(stalled?.reason).toBe('ProgressDeadlineExceeded');
    const v = await judge(o);
    expect(v.kstatus).toEqual({ status: 'Failed', message: stalled!.message });
    expect(v.argo).toEqual({ status: 'Degraded', message: stalled!.message });
    expect(v.kstatus.message).toMatch(/^canary 3 \(\w+\) was not ready within progressDeadlineSeconds \(30s\)/);
  });
});

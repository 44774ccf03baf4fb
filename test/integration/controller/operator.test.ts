// The operator as a process, as it runs in a pod: its own ServiceAccount and RBAC, leader
// election on a Lease, probes and metrics; kubectl wait sees its ModelDeployments Ready;
// SIGTERM releases the lease and exits cleanly; a new process carries a rollout on.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../../operator/api/rbac.ts';
import { freePort, httpGet, serviceAccountWithRules, startCluster, waitFor, type LocalCluster } from '../../cluster/index.ts';

const main = fileURLToPath(new URL('../../../operator/main.ts', import.meta.url));

describe('the operator process', () => {
  let cluster: LocalCluster;
  let saConfig: string;
  let operator: ChildProcess | undefined;
  let port = 0;
  let out = '';
  /** The operator's recent log lines, for failure messages. */
  const logs = (): string => out.split('\n').slice(-40).join('\n');

  const startOperator = async (): Promise<ChildProcess> => {
    port = await freePort();
    const child = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        KUBECONFIG: saConfig,
        SISKIN_DEFAULT_SERVING_IMAGE: 'siskin.local/siskin:test',
        SISKIN_HTTP_HOST: '127.0.0.1',
        SISKIN_HTTP_PORT: String(port),
        SISKIN_LEADER_ELECTION_NAMESPACE: 'siskin-system',
        SISKIN_LOG_LEVEL: 'info',
        POD_NAME: 'operator-test',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', () => (operator = undefined));
    await waitFor('the operator to be ready', async () => ((await httpGet(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined), {
      timeoutMs: 30_000,
      abort: () => (child.exitCode !== null ? `operator exited ${child.exitCode}:\n${out}` : undefined),
    });
    operator = child;
    return child;
  };

  beforeAll(async () => {
    cluster = await startCluster({ controllerManager: true, scheduler: true, kwokNodes: 1, crdFiles: [fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url))] });
    saConfig = await serviceAccountWithRules(cluster, { namespace: 'siskin-system', name: 'siskin-operator', rules: OPERATOR_RULES, namespaceRules: LEADER_ELECTION_RULES });
  });
  afterAll(async () => {
    operator?.kill('SIGKILL');
    await cluster?.stop();
  });

  test('reconciles a ModelDeployment to Ready under its own RBAC, leading on a Lease, with metrics', async () => {
    await startOperator();
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'siskin.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: 'iris', namespace: 'default' },
        spec: { model: { uri: 'file:///models/iris-1.onnx', version: '1' }, replicas: 2 },
      }),
    });
    const waited = await cluster.kubectl(['wait', '--for=condition=Ready', 'md/iris', '--timeout=60s']);
    expect(waited.stdout).toContain('condition met');
    expect(await cluster.kubectlOk(['get', 'md', 'iris', '-o', 'jsonpath={.status.phase}/{.status.readyReplicas}/{.status.observedGeneration}'])).toBe('Healthy/2/1');
    const lease = await cluster.kubeConfig().makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: 'siskin-system', name: 'siskin-operator' });
    expect(lease.spec?.holderIdentity).toMatch(/^operator-test/);
    const metrics = (await httpGet(`http://127.0.0.1:${port}/metrics`)).body;
    expect(metrics).toMatch(/siskin_reconcile_total\{controller="modeldeployment",result="success"\} [1-9]/);
    expect(metrics).toMatch(/siskin_leader_election_master_status\{[^}]*\} 1/);
    // The process's own memory and CPU, for sizing its limit.
    expect(metrics).toMatch(/^process_resident_memory_bytes [1-9]/m);
    expect(metrics).toMatch(/^nodejs_heap_size_used_bytes [1-9]/m);
  });

  test('SIGTERM releases the lease and exits 0; a new process carries a rollout on to promotion', async () => {
    const first = operator ?? (await startOperator());
    await cluster.kubectlOk(['patch', 'md/iris', '--type=merge', '-p', JSON.stringify({ spec: { model: { uri: 'file:///models/iris-2.onnx', version: '2' }, rollout: { steps: [{ setWeight: 50 }, { pause: {} }], schemaCheck: 'Off' } } })]);
    await waitFor('the canary at step 1', async () => ((await cluster.kubectlOk(['get', 'md', 'iris', '-o', 'jsonpath={.status.currentStepIndex}'])) === '1' ? true : undefined), {
      timeoutMs: 60_000,
    }).catch((err: Error) => {
      throw new Error(`${err.message}\noperator log:\n${logs()}`);
    });
    const exited = new Promise<number | null>((r) => first.once('exit', (code) => r(code)));
    first.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lease = await cluster.kubeConfig().makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: 'siskin-system', name: 'siskin-operator' });
    expect(lease.spec?.holderIdentity ?? '').toBe('');

    await startOperator();
    await cluster.kubectlOk(['annotate', 'md/iris', 'siskin.dev/command=promote:1']);
    await cluster.kubectlOk(['wait', '--for=jsonpath={.status.stable.version}=2', 'md/iris', '--timeout=60s']);
    await cluster.kubectlOk(['wait', '--for=condition=Ready', 'md/iris', '--timeout=60s']);
    const history = JSON.parse(await cluster.kubectlOk(['get', 'md', 'iris', '-o', 'jsonpath={.status.history}'])) as { version: string; outcome: string }[];
    expect(history.map((h) => `${h.version}:${h.outcome}`)).toEqual(['2:Promoted']);
  });
});

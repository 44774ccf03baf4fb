// End to end on the real node: the operator, running under exactly the RBAC it declares,
// turns a ModelDeployment into Ready pods of the image built from the repository's
// Dockerfile, serving a real ONNX model downloaded and digest-checked from the node's model
// store through its Service; a second model version rolls out through its steps and is promoted.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api } from '@kubernetes/client-node';
import { CRD_FILE } from '../../../operator/api/crd.ts';
import { OPERATOR_RULES } from '../../../operator/api/rbac.ts';
import { tabularClassifier } from '../../fixtures/onnxModels.ts';
import {
  buildRepoImage,
  ensureBaseImage,
  ensureDockerEngine,
  freePort,
  NODE_IP,
  saveImage,
  serviceAccountWithRules,
  startCluster,
  startModelStore,
  waitFor,
  type DockerEngine,
  type LocalCluster,
  type ModelStore,
} from '../../cluster/index.ts';

const IMAGE = 'siskin.local/siskin:e2e';
const main = fileURLToPath(new URL('../../../operator/main.ts', import.meta.url));

interface InferResponse {
  model_name: string;
  model_version: string;
  outputs: { name: string; shape: number[]; data: number[] }[];
}

describe('operator end to end on the real node', () => {
  let docker: DockerEngine | undefined;
  let cluster: LocalCluster;
  let store: ModelStore | undefined;
  let operator: ChildProcess | undefined;
  let operatorLog = '';

  const infer = async (): Promise<InferResponse> => {
    const svc = await cluster.kubeConfig().makeApiClient(CoreV1Api).readNamespacedService({ name: 'iris', namespace: 'default' });
    const res = await fetch(`http://${svc.spec!.clusterIP!}/v2/models/iris/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3] }] }),
      signal: AbortSignal.timeout(5000),
    });
    if (res.status !== 200) throw new Error(`inference through the Service answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as InferResponse;
  };
  const status = async (path: string): Promise<string> => cluster.kubectlOk(['get', 'md', 'iris', '-o', `jsonpath={${path}}`]);

  beforeAll(async () => {
    docker = await ensureDockerEngine();
    await buildRepoImage(IMAGE, await ensureBaseImage());
    cluster = await startCluster({ realNode: true, crdFiles: [fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url))] });
    cluster.node!.importImage(saveImage(IMAGE, join(cluster.dir, 'image.tar')));
    store = await startModelStore(NODE_IP);
    const saConfig = await serviceAccountWithRules(cluster, { namespace: 'siskin-system', name: 'siskin-operator', rules: OPERATOR_RULES });
    const port = await freePort();
    operator = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        KUBECONFIG: saConfig,
        SISKIN_DEFAULT_SERVING_IMAGE: IMAGE,
        SISKIN_HTTP_HOST: '127.0.0.1',
        SISKIN_HTTP_PORT: String(port),
        SISKIN_LEADER_ELECTION_NAMESPACE: 'siskin-system',
        POD_NAME: 'operator-e2e',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    operator.stdout!.on('data', (c: Buffer) => (operatorLog += c.toString()));
    operator.stderr!.on('data', (c: Buffer) => (operatorLog += c.toString()));
  });
  afterAll(async () => {
    operator?.kill('SIGTERM');
    await store?.stop();
    await cluster?.stop();
    await docker?.stop();
  });

  const versions: string[] = [];
  test('a ModelDeployment becomes Ready pods that serve the real model through the Service', async () => {
    const v1 = store!.add('iris/1/model.onnx', tabularClassifier({ seed: 7 }));
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'siskin.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: 'iris', namespace: 'default' },
        spec: {
          model: { uri: v1.url, sha256: v1.sha256, version: '1' },
          modelCard: { owner: 'team-ml', riskTier: 'low' },
          replicas: 2,
          rollout: { steps: [{ setWeight: 50 }, { pause: { durationSeconds: 5 } }] },
        },
      }),
    });
    const waited = await cluster.kubectl(['wait', '--for=condition=Ready', 'md/iris', '--timeout=180s']);
    if (waited.code !== 0) throw new Error(`not Ready: ${waited.stderr}\n${await cluster.kubectlOk(['get', 'md,deploy,pods', '-o', 'wide'])}\n${operatorLog.slice(-3000)}`);
    expect(store!.hits.get('/iris/1/model.onnx')).toBeGreaterThanOrEqual(2);
    const stableRev = await status('.status.stable.name');
    versions.push(stableRev);
    // Ready means serving; the Service's rules reach kube-proxy a moment later.
    const r = await waitFor('the Service to route', () => infer().catch(() => undefined), { timeoutMs: 30_000, intervalMs: 250 });
    expect(r.model_name).toBe('iris');
    expect(r.model_version).toBe(stableRev);
    expect(r.outputs.find((o) => o.name === 'label')?.shape).toEqual([2]);
  });

  test('a second model version rolls out through its steps and is promoted', async () => {
    const v2 = store!.add('iris/2/model.onnx', tabularClassifier({ seed: 99 }));
    await cluster.kubectlOk(['patch', 'md/iris', '--type=merge', '-p', JSON.stringify({ spec: { model: { uri: v2.url, sha256: v2.sha256, version: '2' } } })]);
    await waitFor('the canary at weight 50', async () => ((await status('.status.canaryWeight')) === '50' && (await status('.status.canary.version')) === '2' ? true : undefined), {
      timeoutMs: 60_000,
    });
    const promoted = await cluster.kubectl(['wait', '--for=jsonpath={.status.stable.version}=2', 'md/iris', '--timeout=180s']);
    if (promoted.code !== 0) throw new Error(`not promoted: ${promoted.stderr}\n${await cluster.kubectlOk(['get', 'md,deploy,pods', '-o', 'wide'])}\n${operatorLog.slice(-3000)}`);
    await cluster.kubectlOk(['wait', '--for=condition=Ready', 'md/iris', '--timeout=120s']);
    const newRev = await status('.status.stable.name');
    expect(newRev).not.toBe(versions[0]);
    // Once the old revision's pods are gone, every answer comes from the new model.
    await waitFor('only the new revision answering', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 10; i++) seen.add((await infer()).model_version);
      return seen.size === 1 && seen.has(newRev) ? true : undefined;
    }, { timeoutMs: 90_000, intervalMs: 500 });
    const history = JSON.parse(await status('.status.history')) as { version: string; outcome: string; modelCard?: { owner: string } }[];
    expect(history.map((h) => `${h.version}:${h.outcome}:${h.modelCard?.owner}`)).toEqual(['2:Promoted:team-ml']);
  });
});

// Defence in depth: a cluster whose CRD is older than the operator (Helm never upgrades crds/)
// admits a retraining Job template that names the namespace's most powerful ServiceAccount.
// The operator, running as a process under its own RBAC, still acts on nothing of it: its parse
// holds the same restricted profile, so no Deployment and no Job is created for that object,
// and it says why, while a plain ModelDeployment next to it is served as usual.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../../operator/api/rbac.ts';
import { GROUP, KIND, VERSION } from '../../../operator/api/schema.ts';
import { modelDeploymentCrd } from '../../../tooling/crd.ts';
import { freePort, httpGet, serviceAccountWithRules, startCluster, waitFor, type LocalCluster } from '../../cluster/index.ts';

const main = fileURLToPath(new URL('../../../operator/main.ts', import.meta.url));
const NS = 'default';
const REFUSAL = 'serviceAccountName of a retraining pod must be absent or siskin-retrain';

/** The CRD as it was before the restricted profile: the Job template any object at all. */
function olderCrd(): Record<string, unknown> {
  const crd = modelDeploymentCrd();
  const at = (node: unknown, ...keys: (string | number)[]): Record<string, unknown> =>
    keys.reduce<unknown>((n, k) => (n as Record<string | number, unknown>)[k], node) as Record<string, unknown>;
  const retraining = at(crd, 'spec', 'versions', 0, 'schema', 'openAPIV3Schema', 'properties', 'spec', 'properties', 'monitoring', 'properties', 'retraining', 'properties');
  retraining.jobTemplate = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description: 'A batch/v1 JobSpec started to retrain.' };
  return crd;
}

const md = (name: string, spec: Record<string, unknown>): string => JSON.stringify({ apiVersion: `${GROUP}/${VERSION}`, kind: KIND, metadata: { name, namespace: NS }, spec });
const model = { uri: 'file:///models/iris-1.onnx', version: '1' };

describe('an escalating retraining template that an older CRD admitted', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'siskin-older-crd-'));
  let cluster: LocalCluster;
  let operator: ChildProcess | undefined;
  let out = '';

  beforeAll(async () => {
    const crdFile = join(tmp, 'crd.yaml');
    writeFileSync(crdFile, YAML.stringify(olderCrd()));
    cluster = await startCluster({ crdFiles: [crdFile] });
    const saConfig = await serviceAccountWithRules(cluster, { namespace: 'siskin-system', name: 'siskin-operator', rules: OPERATOR_RULES, namespaceRules: LEADER_ELECTION_RULES });
    const port = await freePort();
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, KUBECONFIG: saConfig, SISKIN_DEFAULT_SERVING_IMAGE: 'siskin.local/siskin:test', SISKIN_HTTP_HOST: '127.0.0.1', SISKIN_HTTP_PORT: String(port), SISKIN_LEADER_ELECT: 'false', POD_NAME: 'older-crd-test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    operator = child;
    await waitFor('the operator to be ready', async () => ((await httpGet(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined), {
      timeoutMs: 30_000,
      abort: () => (child.exitCode !== null ? `operator exited ${child.exitCode}:\n${out}` : undefined),
    });
  }, 180_000);
  afterAll(async () => {
    operator?.kill('SIGKILL');
    await cluster?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('is admitted by that CRD, and the operator creates nothing for it but serves its neighbour', async () => {
    const escalating = md('escalating', {
      model: { ...model, referenceProfile: { uri: 'file:///models/iris-profile.json' } },
      monitoring: {
        drift: { action: 'Retrain', maxBadInputRatio: 0 },
        retraining: { jobTemplate: { template: { spec: { serviceAccountName: 'namespace-admin', restartPolicy: 'Never', containers: [{ name: 'train', image: 'trainer:1' }] } } } },
      },
    });
    await cluster.kubectlOk(['apply', '-f', '-'], { input: escalating });
    await cluster.kubectlOk(['apply', '-f', '-'], { input: md('plain', { model }) });

    // The neighbour is served: the operator is running and reconciling this namespace.
    await waitFor('the plain ModelDeployment to get its Deployment', async () => ((await cluster.kubectlOk(['get', 'deployments', '-n', NS, '-l', 'siskin.dev/model-deployment=plain', '-o', 'name'])).trim() || undefined), {
      timeoutMs: 60_000,
    });
    // The refusal is said, in the operator's log or in the object's status (whichever the reconcile reports it in).
    await waitFor('the operator to refuse the escalating template', async () => {
      const status = await cluster.kubectlOk(['get', 'md', 'escalating', '-n', NS, '-o', 'jsonpath={.status}']);
      return out.includes(REFUSAL) || status.includes(REFUSAL) ? true : undefined;
    }, { timeoutMs: 60_000 });
    expect((await cluster.kubectlOk(['get', 'deployments', '-n', NS, '-l', 'siskin.dev/model-deployment=escalating', '-o', 'name'])).trim()).toBe('');
    expect((await cluster.kubectlOk(['get', 'jobs', '-n', NS, '-o', 'name'])).trim()).toBe('');
  });
});

// The Helm chart installed for real on the real node: `helm install` brings up the CRD and two
// operator pods of the repository's image under the chart's ServiceAccount, one of them
// leading; the operator in its pod serves a ModelDeployment; `helm upgrade` to a new operator
// image in the middle of a rollout rolls the operator pods and moves leadership without losing
// the rollout; `helm uninstall` removes the operator and keeps the CRD, the ModelDeployment and
// the model it serves.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api } from '@kubernetes/client-node';
import type { ModelDeploymentStatus } from '../../../operator/api/schema.ts';
import { tabularClassifier } from '../../fixtures/onnxModels.ts';
import {
  buildRepoImage,
  ensureBaseImage,
  ensureDockerEngine,
  httpGet,
  NODE_IP,
  runCliOk,
  saveImage,
  startCluster,
  startModelStore,
  startPodPrometheus,
  waitFor,
  type DockerEngine,
  type LocalCluster,
  type LocalPrometheus,
  type ModelStore,
} from '../../cluster/index.ts';

const chart = fileURLToPath(new URL('../../../charts/siskin', import.meta.url));
const REPOSITORY = 'siskin.local/siskin';
const V1 = 'chart-v1';
const V2 = 'chart-v2';
const RELEASE = 'siskin';
const NS = 'siskin-system';
// The release's full name: the release name already contains the chart's.
const FULLNAME = 'siskin';
const OPERATOR_PODS = 'app.kubernetes.io/name=siskin,app.kubernetes.io/instance=siskin,app.kubernetes.io/component=operator';
const MD = 'x';

interface PodView {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { serviceAccountName?: string; containers: { image: string }[] };
  status: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
}

interface InferResponse {
  model_version: string;
  outputs: { name: string; data: number[] }[];
}

describe('the Helm chart installed on the real node', () => {
  let docker: DockerEngine | undefined;
  let cluster: LocalCluster;
  let store: ModelStore | undefined;
  let prom: LocalPrometheus | undefined;
  let v1Pods: string[] = [];

  const kubectl = (args: string[], input?: string): Promise<string> => cluster.kubectlOk(args, input === undefined ? {} : { input });
  const helm = async (args: string[]): Promise<string> => {
    const r = await cluster.helm(args);
    if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const operatorPods = async (): Promise<PodView[]> =>
    (JSON.parse(await kubectl(['-n', NS, 'get', 'pods', '-l', OPERATOR_PODS, '-o', 'json'])) as { items: PodView[] }).items;
  const ready = (p: PodView): boolean => !p.metadata.deletionTimestamp && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  /** The pod name in the Lease's holder identity ("<pod>_<uuid>"), or '' while nobody holds it. */
  const leader = async (): Promise<{ pod: string; transitions: number }> => {
    const lease = JSON.parse(await kubectl(['-n', NS, 'get', 'lease', FULLNAME, '-o', 'json'])) as { spec: { holderIdentity?: string; leaseTransitions?: number } };
    return { pod: (lease.spec.holderIdentity ?? '').replace(/_[^_]*$/, ''), transitions: lease.spec.leaseTransitions ?? 0 };
  };
  /** Each pod's own view of leadership, from its /metrics (pods are reachable from the host). */
  const leadingPods = async (pods: PodView[]): Promise<string[]> => {
    const leading: string[] = [];
    for (const p of pods) {
      const metrics = await httpGet(`http://${p.status.podIP!}:8080/metrics`);
      if (new RegExp(`^siskin_leader_election_master_status\\{name="${FULLNAME}"\\} 1$`, 'm').test(metrics.body)) leading.push(p.metadata.name);
    }
    return leading;
  };
  const status = async (): Promise<ModelDeploymentStatus> => (JSON.parse(await kubectl(['get', 'md', MD, '-o', 'json'])) as { status?: ModelDeploymentStatus }).status ?? {};
  const waitStatus = async (what: string, pred: (s: ModelDeploymentStatus) => boolean, timeoutMs = 180_000): Promise<ModelDeploymentStatus> => {
    try {
      return await waitFor(what, async () => {
        const s = await status();
        return pred(s) ? s : undefined;
      }, { timeoutMs, intervalMs: 500 });
    } catch (err) {
      const s = await status().catch(() => ({}));
      const logs = await kubectl(['-n', NS, 'logs', '-l', OPERATOR_PODS, '--tail=40', '--prefix']).catch((e: Error) => e.message);
      throw new Error(`${(err as Error).message}\nstatus: ${JSON.stringify(s, null, 1).slice(0, 5000)}\noperator logs:\n${logs}`, { cause: err });
    }
  };
  /** One inference through the Service's ClusterIP, on a fresh connection (kube-proxy balances connections). */
  const infer = async (): Promise<InferResponse> => {
    const svc = await cluster.kubeConfig().makeApiClient(CoreV1Api).readNamespacedService({ name: MD, namespace: 'default' });
    const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`http://${svc.spec!.clusterIP!}/v2/models/${MD}/infer`, { method: 'POST', agent: false, timeout: 5_000, headers: { 'content-type': 'application/json' } }, (r) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (text += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: text }));
      });
      req.on('timeout', () => req.destroy(new Error('inference timed out')));
      req.on('error', reject);
      req.end(body);
    });
    if (res.status !== 200) throw new Error(`inference through the Service answered ${res.status}: ${res.body}`);
    return JSON.parse(res.body) as InferResponse;
  };
  /** The revision answering inference, once kube-proxy routes to it (it follows endpoint changes within seconds). */
  const answeringRevision = async (expected: string): Promise<string> => {
    try {
      // Several answers in a row: the Service balances over every ready pod.
      return await waitFor(`only revision ${expected} answering`, async () => {
        for (let i = 0; i < 5; i++) if ((await infer()).model_version !== expected) return undefined;
        return expected;
      }, { timeoutMs: 60_000, intervalMs: 500 });
    } catch (err) {
      const pods = await kubectl(['get', 'pods', '-L', 'siskin.dev/revision', '-o', 'wide']).catch((e: Error) => e.message);
      throw new Error(`${(err as Error).message}; last answer from ${(await infer().catch(() => undefined))?.model_version ?? 'nobody'}\n${pods}`, { cause: err });
    }
  };
  const applyModel = async (version: string, rollout: Record<string, unknown>): Promise<void> => {
    // The same weights under a new version: the schema gate passes, the revision is new.
    const m = store!.add(`${MD}/${version}/model.onnx`, tabularClassifier({ seed: 7 }));
    const md = {
      apiVersion: 'siskin.dev/v1alpha1',
      kind: 'ModelDeployment',
      metadata: { name: MD, namespace: 'default' },
      spec: { model: { uri: m.url, sha256: m.sha256, version }, modelCard: { owner: 'team-ml', riskTier: 'low' }, replicas: 2, rollout },
    };
    await kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(md));
  };

  beforeAll(async () => {
    docker = await ensureDockerEngine();
    await buildRepoImage(`${REPOSITORY}:${V1}`, await ensureBaseImage());
    // A second tag of the same image is a new operator image as far as Kubernetes is concerned:
    // a new pod template, a rolling update, new pods.
    await runCliOk('/usr/bin/docker', ['tag', `${REPOSITORY}:${V1}`, `${REPOSITORY}:${V2}`]);
    // No CRD pre-installed: the chart brings it.
    cluster = await startCluster({ realNode: true });
    cluster.node!.importImage(saveImage(`${REPOSITORY}:${V1}`, join(cluster.dir, 'v1.tar')));
    cluster.node!.importImage(saveImage(`${REPOSITORY}:${V2}`, join(cluster.dir, 'v2.tar')));
    store = await startModelStore(NODE_IP);
    // On the node IP: the operator runs in pods now, and pods cannot reach the host's loopback.
    prom = await startPodPrometheus(cluster, { scrapeInterval: '2s', listenAddress: NODE_IP });
  });
  afterAll(async () => {
    await prom?.stop();
    await store?.stop();
    await cluster?.stop();
    await docker?.stop();
  });

  test('helm install: the CRD, two operator pods under the chart ServiceAccount, exactly one leading', async () => {
    expect((await cluster.kubectl(['get', 'crd', 'modeldeployments.siskin.dev'])).code).not.toBe(0);
    await helm([
      'install', RELEASE, chart, '--namespace', NS, '--create-namespace', '--wait', '--timeout', '5m',
      '--set', `image.repository=${REPOSITORY},image.tag=${V1},image.pullPolicy=IfNotPresent`,
      '--set', `operator.defaultPrometheusAddress=${prom!.url}`,
      // Serving pods keep their image when the operator's changes: upgrading the operator must
      // not start a new revision of every model.
      '--set', `operator.defaultServingImage=${REPOSITORY}:${V1}`,
    ]);
    await kubectl(['get', 'crd', 'modeldeployments.siskin.dev']);
    const pods = await operatorPods();
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      expect(ready(p)).toBe(true);
      expect(p.spec.serviceAccountName).toBe(FULLNAME);
      expect(p.spec.containers[0]!.image).toBe(`${REPOSITORY}:${V1}`);
    }
    v1Pods = pods.map((p) => p.metadata.name);
    const lead = await waitFor('a leader on the Lease', async () => {
      const l = await leader();
      return l.pod ? l : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(v1Pods).toContain(lead.pod);
    // The Lease names one holder by construction; the pods must agree: only that one leads.
    expect(await waitFor('one pod reporting leadership', async () => {
      const leading = await leadingPods(pods);
      return leading.length === 1 ? leading : undefined;
    }, { timeoutMs: 30_000, intervalMs: 1_000 })).toEqual([lead.pod]);
  });

  test('a ModelDeployment served by the operator in its pod becomes Ready and answers through its Service', async () => {
    await applyModel('1', { steps: [] });
    await kubectl(['wait', '--for=condition=Ready', `md/${MD}`, '--timeout=180s']);
    const s = await status();
    expect(s.stable?.version).toBe('1');
    // Ready means the pods are; kube-proxy programs the Service a moment later.
    expect(await answeringRevision(s.stable!.name)).toBe(s.stable!.name);
    expect((await infer()).outputs.find((o) => o.name === 'label')?.data).toHaveLength(1);
  });

  test('helm upgrade to a new operator image mid-rollout: the pods roll, leadership moves, the rollout completes', async () => {
    await applyModel('2', { steps: [{ setWeight: 50 }, { pause: { durationSeconds: 20 } }] });
    const inProgress = await waitStatus('canary 2 at weight 50', (s) => s.canary?.version === '2' && s.canaryWeight === 50);
    const canaryRevision = inProgress.canary!.name;
    const before = await leader();
    await helm(['upgrade', RELEASE, chart, '--namespace', NS, '--reuse-values', '--set', `image.tag=${V2}`, '--wait', '--timeout', '5m']);
    const pods = await waitFor('only the new operator pods', async () => {
      const ps = await operatorPods();
      return ps.length === 2 && ps.every((p) => ready(p) && p.spec.containers[0]!.image === `${REPOSITORY}:${V2}`) ? ps : undefined;
    }, { timeoutMs: 120_000, intervalMs: 1_000 });
    const names = pods.map((p) => p.metadata.name);
    expect(names.filter((n) => v1Pods.includes(n))).toEqual([]);
    const after = await waitFor('a new pod leading', async () => {
      const l = await leader();
      return names.includes(l.pod) ? l : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(after.transitions).toBeGreaterThan(before.transitions);
    expect(await waitFor('one new pod reporting leadership', async () => {
      const leading = await leadingPods(pods);
      return leading.length === 1 ? leading : undefined;
    }, { timeoutMs: 30_000, intervalMs: 1_000 })).toEqual([after.pod]);
    const promoted = await waitStatus('version 2 promoted', (s) => s.stable?.version === '2' && s.history?.at(-1)?.version === '2');
    // The same canary went on to promotion: the new operator resumed the rollout from status.
    expect(promoted.stable!.name).toBe(canaryRevision);
    expect(promoted.history?.at(-1)).toMatchObject({ revision: canaryRevision, version: '2', outcome: 'Promoted' });
    expect(await answeringRevision(canaryRevision)).toBe(canaryRevision);
    // The old stable is kept at zero replicas (for a drift rollback), not deleted.
    const oldStable = inProgress.stable!.name;
    expect((await kubectl(['get', 'deployments', '-l', `siskin.dev/revision=${oldStable}`, '-o', 'jsonpath={.items[*].spec.replicas}'])).trim()).toBe('0');
  });

  test('helm uninstall removes the operator and keeps the CRD, the ModelDeployment and its serving pods', async () => {
    const servingBefore = (await kubectl(['get', 'deployments', '-l', `siskin.dev/model-deployment=${MD}`, '-o', 'name'])).trim().split('\n').sort();
    expect(servingBefore.length).toBeGreaterThanOrEqual(1);
    await helm(['uninstall', RELEASE, '--namespace', NS, '--wait', '--timeout', '2m']);
    expect((await cluster.kubectl(['-n', NS, 'get', 'deployment', FULLNAME])).stderr).toMatch(/NotFound/);
    await waitFor('operator pods gone', async () => ((await operatorPods()).length === 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
    await kubectl(['get', 'crd', 'modeldeployments.siskin.dev']);
    expect((await status()).stable?.version).toBe('2');
    expect((await kubectl(['get', 'deployments', '-l', `siskin.dev/model-deployment=${MD}`, '-o', 'name'])).trim().split('\n').sort()).toEqual(servingBefore);
    const serving = (JSON.parse(await kubectl(['get', 'pods', '-l', `siskin.dev/model-deployment=${MD}`, '-o', 'json'])) as { items: PodView[] }).items;
    expect(serving.filter(ready).length).toBeGreaterThanOrEqual(2);
    // Nobody is reconciling any more, and the model still answers.
    expect(await answeringRevision((await status()).stable!.name)).toBeDefined();
  });
});

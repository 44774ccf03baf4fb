// The reconciler against a real API server with the controller-manager, scheduler and kwok:
// a ModelDeployment becomes Deployments, Services and status; a new version rolls out as a
// canary by replica ratio; promote, abort and retry work; a restarted reconciler resumes at
// the same step; deletion garbage-collects everything.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../../operator/api/rbac.ts';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { GROUP, PLURAL, VERSION, type ModelDeploymentStatus } from '../../../operator/api/schema.ts';
import { makeReconciler, type ReconcileResult } from '../../../operator/controller/reconcile.ts';
import { serviceAccountWithRules, startCluster, waitFor, type LocalCluster } from '../../cluster/index.ts';

const NS = 'default';
const IMAGE = 'siskin.local/siskin:test';

describe('ModelDeployment reconciler', () => {
  let cluster: LocalCluster;
  let custom: CustomObjectsApi;
  let apps: AppsV1Api;
  let clock = Date.parse('2026-11-23T12:00:00Z');
  let reconcile: (key: string) => Promise<ReconcileResult>;
  let operatorKc: KubeConfig;

  const get = async (name: string): Promise<{ metadata: { generation: number }; spec: Record<string, unknown>; status?: ModelDeploymentStatus }> =>
    (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name })) as never;
  const patchSpec = (name: string, ops: unknown[]): Promise<unknown> =>
    custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name, body: ops });
  const deployments = async (name: string): Promise<Record<string, number>> => {
    const list = await apps.listNamespacedDeployment({ namespace: NS, labelSelector: `siskin.dev/model-deployment=${name}` });
    return Object.fromEntries(list.items.map((d) => [d.metadata!.labels!['siskin.dev/revision']!, d.spec!.replicas!]));
  };
  /** Reconciles until the object settles: no immediate requeue and the wanted condition holds. */
  const settle = async (name: string, until: (s: ModelDeploymentStatus) => boolean): Promise<ModelDeploymentStatus> =>
    waitFor(`${name} to settle`, async () => {
      await reconcile(`${NS}/${name}`);
      const s = (await get(name)).status;
      return s && until(s) ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 300 });

  beforeAll(async () => {
    cluster = await startCluster({ controllerManager: true, scheduler: true, kwokNodes: 1, crdFiles: [fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url))] });
    const kc = cluster.kubeConfig();
    custom = kc.makeApiClient(CustomObjectsApi);
    apps = kc.makeApiClient(AppsV1Api);
    // The reconciler runs as a ServiceAccount bound to exactly the rules the operator declares.
    const saConfig = await serviceAccountWithRules(cluster, { namespace: 'siskin-system', name: 'siskin-operator', rules: OPERATOR_RULES, namespaceRules: LEADER_ELECTION_RULES });
    operatorKc = new KubeConfig();
    operatorKc.loadFromFile(saConfig);
    reconcile = makeReconciler({ kubeConfig: operatorKc, defaultImage: IMAGE, now: () => clock });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const versions: string[] = [];
  test('a new ModelDeployment serves its first version as stable, with Services and a Ready status', async () => {
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: PLURAL,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'ModelDeployment',
        metadata: { name: 'iris' },
        spec: {
          model: { uri: 'file:///models/iris-1.onnx', version: '1' },
          modelCard: { owner: 'team-ml', riskTier: 'low' },
          replicas: 4,
          // kwok pods run no server to read a model signature from: the schema gate is Off here
          // and covered end to end on the real node.
          rollout: { steps: [{ setWeight: 25 }, { pause: { durationSeconds: 60 } }, { setWeight: 50 }, { pause: {} }], schemaCheck: 'Off' },
        },
      },
    });
    const s = await settle('iris', (st) => st.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);
    versions.push(s.stable!.name);
    expect(s.phase).toBe('Healthy');
    expect(s.stable?.version).toBe('1');
    expect(s.canary).toBeUndefined();
    expect(s.observedGeneration).toBe(1);
    expect(s.readyReplicas).toBe(4);
    expect(s.selector).toBe('siskin.dev/model-deployment=iris');
    expect(await deployments('iris')).toEqual({ [s.stable!.name]: 4 });
    const svc = await cluster.kubeConfig().makeApiClient(CoreV1Api).listNamespacedService({ namespace: NS, labelSelector: 'siskin.dev/model-deployment=iris' });
    expect(Object.fromEntries(svc.items.map((x) => [x.metadata!.name!, x.spec!.selector!['siskin.dev/revision'] ?? 'all']))).toEqual({
      iris: 'all',
      'iris-stable': s.stable!.name,
      // Without a rollout the canary Service follows stable, so a route weighing it never points at nothing.
      'iris-canary': s.stable!.name,
    });
    // No canary: its column is empty.
    const table = await cluster.kubectlOk(['get', 'md', 'iris', '--no-headers']);
    expect(table).toMatch(/^iris\s+1\s+0\s+Healthy\s+4\s+\d+s\n$/);
  });

  test('changing only replicas scales the stable Deployment and starts no rollout', async () => {
    await cluster.kubectlOk(['scale', 'md/iris', '--replicas=2']);
    const s = await settle('iris', (st) => st.observedGeneration === 2 && st.readyReplicas === 2);
    expect(s.canary).toBeUndefined();
    expect(await deployments('iris')).toEqual({ [versions[0]!]: 2 });
    await cluster.kubectlOk(['scale', 'md/iris', '--replicas=4']);
    await settle('iris', (st) => st.readyReplicas === 4);
  });

  test('a new model version rolls out as a canary, step by step, by replica ratio', async () => {
    await patchSpec('iris', [{ op: 'replace', path: '/spec/model', value: { uri: 'file:///models/iris-2.onnx', version: '2' } }]);
    let s = await settle('iris', (st) => st.canary?.version === '2' && st.currentStepIndex === 1);
    const [stableRev, canaryRev] = [s.stable!.name, s.canary!.name];
    versions.push(canaryRev);
    expect(s.canaryWeight).toBe(25);
    expect(s.phase).toBe('Progressing');
    expect(await deployments('iris')).toEqual({ [stableRev]: 3, [canaryRev]: 1 });
    // The timed pause holds until the clock passes it…
    await reconcile(`${NS}/iris`);
    expect((await get('iris')).status?.currentStepIndex).toBe(1);
    // …then the next weight is set and reached.
    clock += 61_000;
    s = await settle('iris', (st) => st.currentStepIndex === 3);
    expect(s.canaryWeight).toBe(50);
    expect(await deployments('iris')).toEqual({ [stableRev]: 2, [canaryRev]: 2 });
    const events = await cluster.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.name=iris', '-o', 'jsonpath={.items[*].reason}']);
    expect(events).toContain('NewRevision');
    expect(events).toContain('StepAdvanced');
  });

  test('a restarted reconciler resumes at the same step without duplicating anything', async () => {
    const before = await get('iris');
    reconcile = makeReconciler({ kubeConfig: operatorKc, defaultImage: IMAGE, now: () => clock });
    await reconcile(`${NS}/iris`);
    const after = await get('iris');
    expect(after.status?.currentStepIndex).toBe(before.status?.currentStepIndex);
    expect(after.status?.canaryWeight).toBe(50);
    expect(Object.keys(await deployments('iris'))).toHaveLength(2);
  });

  test('a promote annotation finishes the indefinite pause; the canary becomes stable and the old revision is kept at zero', async () => {
    await cluster.kubectlOk(['annotate', 'md/iris', 'siskin.dev/command=promote:1']);
    const s = await settle('iris', (st) => st.stable?.version === '2' && st.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true);
    expect(s.canary).toBeUndefined();
    expect(s.history?.at(-1)).toMatchObject({ revision: versions[1], version: '2', outcome: 'Promoted', modelCard: { owner: 'team-ml', riskTier: 'low' } });
    expect(s.lastCommand).toBe('promote:1');
    expect(s.previous?.name).toBe(versions[0]);
    await waitFor('the old revision scaled to zero, kept for a drift rollback', async () => {
      const d = await deployments('iris');
      return Object.keys(d).length === 2 && d[versions[1]!] === 4 && d[versions[0]!] === 0 ? true : undefined;
    });
  });

  test('abort scales the canary to zero and stalls with a reason; retry starts the same revision again', async () => {
    await patchSpec('iris', [{ op: 'replace', path: '/spec/model', value: { uri: 'file:///models/iris-3.onnx', version: '3' } }]);
    let s = await settle('iris', (st) => st.canary?.version === '3' && st.currentStepIndex === 1);
    const canaryRev = s.canary!.name;
    await cluster.kubectlOk(['annotate', '--overwrite', 'md/iris', 'siskin.dev/command=abort:2']);
    s = await settle('iris', (st) => st.phase === 'RolledBack');
    expect(s.canaryWeight).toBe(0);
    expect(s.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'RolloutAborted' });
    expect(s.history?.at(-1)).toMatchObject({ version: '3', outcome: 'Aborted' });
    expect(await deployments('iris')).toEqual({ [versions[0]!]: 0, [versions[1]!]: 4, [canaryRev]: 0 });
    // The abort holds across reconciles: nothing restarts the rollout on its own.
    await reconcile(`${NS}/iris`);
    expect((await get('iris')).status?.phase).toBe('RolledBack');
    const warning = await cluster.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.name=iris,type=Warning', '-o', 'jsonpath={.items[*].message}']);
    expect(warning).toContain('aborted by user');

    await cluster.kubectlOk(['annotate', '--overwrite', 'md/iris', 'siskin.dev/command=retry:3']);
    s = await settle('iris', (st) => st.phase === 'Progressing' && st.currentStepIndex === 1);
    expect(s.canary?.name).toBe(canaryRev);
    expect(await deployments('iris')).toEqual({ [versions[0]!]: 0, [versions[1]!]: 3, [canaryRev]: 1 });
  });

  test('deleting the ModelDeployment garbage-collects its Deployments and Services', async () => {
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'iris' });
    await reconcile(`${NS}/iris`); // a deleted object is no error
    await waitFor('owned objects collected', async () => {
      const d = await apps.listNamespacedDeployment({ namespace: NS, labelSelector: 'siskin.dev/model-deployment=iris' });
      const s = await cluster.kubeConfig().makeApiClient(CoreV1Api).listNamespacedService({ namespace: NS, labelSelector: 'siskin.dev/model-deployment=iris' });
      return d.items.length === 0 && s.items.length === 0 ? true : undefined;
    }, { timeoutMs: 60_000 });
  });
});

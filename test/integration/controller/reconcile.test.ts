// The reconciler against a real API server with the controller-manager, scheduler and kwok,
// built as the operator builds it (buildModelDeploymentReconciler: informers, their caches as
// the only read path): a ModelDeployment becomes Deployments, Services and status; a new
// version rolls out as a canary by replica ratio; promote, abort and retry work; a restarted
// reconciler resumes at the same step; deletion garbage-collects everything; a spec it cannot
// act on and an apply the API server refuses are answered in status; a status it cannot read
// fails terminally; an aborted reconcile stops making requests at once; a Prometheus address
// the operator does not allow is never queried; a hand-edited ConfigMap or Service is restored;
// a drain evicts a model's pods one at a time (its PodDisruptionBudget) and they spread by topology.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, PolicyV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../../operator/api/rbac.ts';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { GROUP, PLURAL, VERSION, type ModelDeploymentStatus } from '../../../operator/api/schema.ts';
import { ANNOTATION_APPLIED } from '../../../operator/controller/apply.ts';
import { routingConfigMapName } from '../../../operator/resources/deployment.ts';
import { ROUTING_FILE_KEY } from '../../../contract/routing.ts';
import { buildModelDeploymentReconciler, type ModelDeploymentReconciler, type ModelDeploymentReconcilerOptions } from '../../../operator/controller/setup.ts';
import { Controller } from '../../../operator/runtime/controller.ts';
import type { Informer } from '../../../operator/runtime/informer.ts';
import { createLogger } from '../../../operator/runtime/logger.ts';
import { OperatorMetrics } from '../../../operator/runtime/metrics.ts';
import { TerminalError, type ReconcileResult } from '../../../operator/runtime/reconcile.ts';
import { serviceAccountWithRules, startCluster, waitFor, type LocalCluster } from '../../cluster/index.ts';
import { waitForCache } from './cacheSync.ts';
import { createModelDeployment } from '../../fixtures/modelDeployments.ts';

const NS = 'default';
const IMAGE = 'siskin.local/siskin:test';

describe('ModelDeployment reconciler', () => {
  let cluster: LocalCluster;
  let custom: CustomObjectsApi;
  let apps: AppsV1Api;
  let clock = Date.parse('2026-11-23T12:00:00Z');
  let operatorKc: KubeConfig;
  let reconciler: ModelDeploymentReconciler;
  const log = createLogger({ level: 'silent' });

  const get = async (name: string): Promise<{ metadata: { generation: number }; spec: Record<string, unknown>; status?: ModelDeploymentStatus }> =>
    (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name })) as never;
  const patchSpec = (name: string, ops: unknown[]): Promise<unknown> =>
    custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name, body: ops });
  /** Creates the ModelDeployment `name` with `spec`. */
  const create = (name: string, spec: Record<string, unknown>): Promise<unknown> => createModelDeployment(custom, NS, name, spec);
  const deployments = async (name: string): Promise<Record<string, number>> => {
    const list = await apps.listNamespacedDeployment({ namespace: NS, labelSelector: `siskin.dev/model-deployment=${name}` });
    return Object.fromEntries(list.items.map((d) => [d.metadata!.labels!['siskin.dev/revision']!, d.spec!.replicas!]));
  };
  const informers = (): Array<Informer<KubernetesObject>> => Object.values(reconciler.informers) as Array<Informer<KubernetesObject>>;
  /** A reconciler as the operator builds it, its informers started and synced against the test API server. */
  const startReconciler = async (extra: Partial<ModelDeploymentReconcilerOptions> = {}): Promise<ModelDeploymentReconciler> => {
    const r = buildModelDeploymentReconciler({ kubeConfig: operatorKc, defaultImage: IMAGE, now: () => clock, logger: log, ...extra });
    const all = Object.values(r.informers) as Array<Informer<KubernetesObject>>;
    for (const i of all) i.start();
    await Promise.all(all.map((i) => i.waitForSync(30_000)));
    return r;
  };
  /** Waits until the caches have seen the ModelDeployment and its Deployments as the API server has them now. */
  const caughtUp = async (name: string): Promise<void> => {
    const md = async (): Promise<KubernetesObject[]> => {
      try {
        return [(await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name })) as KubernetesObject];
      } catch (err) {
        if ((err as { code?: number }).code === 404) return [];
        throw err;
      }
    };
    await waitForCache(`md/${name}`, md, () => [reconciler.informers.modelDeployments.get(name, NS)].filter((o) => o !== undefined));
    const labelSelector = `siskin.dev/model-deployment=${name}`;
    await waitForCache(
      `the Deployments of ${name}`,
      async () => (await apps.listNamespacedDeployment({ namespace: NS, labelSelector })).items,
      () => reconciler.informers.deployments.list(NS).filter((d) => d.metadata?.labels?.['siskin.dev/model-deployment'] === name),
    );
  };
  /** One reconcile of the key, as a worker runs it once the informers saw the latest writes. */
  const reconcile = async (key: string, signal = new AbortController().signal): Promise<ReconcileResult | void> => {
    await caughtUp(key.split('/')[1]!);
    return reconciler.reconcile(key, { signal, log });
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
    reconciler = await startReconciler();
  });
  afterAll(async () => {
    if (reconciler) await Promise.all(informers().map((i) => i.stop()));
    await cluster?.stop();
  });

  const versions: string[] = [];
  test('a new ModelDeployment serves its first version as stable, with Services and a Ready status', async () => {
    await create('iris', {
      model: { uri: 'file:///models/iris-1.onnx', version: '1' },
      modelCard: { owner: 'team-ml', riskTier: 'low' },
      replicas: 4,
      // kwok pods run no server to read a model signature from: the schema gate is Off here
      // and covered end to end on the real node.
      rollout: { steps: [{ setWeight: 25 }, { pause: { durationSeconds: 60 } }, { setWeight: 50 }, { pause: {} }], schemaCheck: 'Off' },
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
      // Clients reach a canary only once it has weight: without one, the Service is stable's.
      iris: s.stable!.name,
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

  test('a hand edit of the routing ConfigMap or a Service that keeps the applied-hash annotation is undone by the next reconcile', async () => {
    const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    const cmName = routingConfigMapName('iris');
    const cm = await core.readNamespacedConfigMap({ name: cmName, namespace: NS });
    const routing = cm.data![ROUTING_FILE_KEY]!;
    expect(cm.metadata!.annotations![ANNOTATION_APPLIED]).toBeDefined();
    const svc = await core.readNamespacedService({ name: 'iris-canary', namespace: NS });
    const selector = svc.spec!.selector!;
    // Someone points the pods' mirror elsewhere and the canary Service at other pods; the annotation stays.
    await core.replaceNamespacedConfigMap({ name: cmName, namespace: NS, body: { ...cm, data: { [ROUTING_FILE_KEY]: '{"shadow":{"url":"http://10.0.0.66","sampleRate":1,"revision":"x"}}' } } });
    await core.replaceNamespacedService({ name: 'iris-canary', namespace: NS, body: { ...svc, spec: { ...svc.spec, selector: { ...selector, 'siskin.dev/revision': 'hand-edited' } } } });
    const edited = (): true | undefined =>
      reconciler.informers.configMaps.get(cmName, NS)?.data?.[ROUTING_FILE_KEY] !== routing && reconciler.informers.services.get('iris-canary', NS)?.spec?.selector?.['siskin.dev/revision'] === 'hand-edited' ? true : undefined;
    await waitFor('the caches to see the hand edits', () => Promise.resolve(edited()));
    await reconcile(`${NS}/iris`);
    expect((await core.readNamespacedConfigMap({ name: cmName, namespace: NS })).data).toEqual({ [ROUTING_FILE_KEY]: routing });
    expect((await core.readNamespacedService({ name: 'iris-canary', namespace: NS })).spec!.selector).toEqual(selector);
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
    await Promise.all(informers().map((i) => i.stop()));
    reconciler = await startReconciler();
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
    // An object last written before status.rollout existed (only its Stalled condition says it
    // was rolled back) stays rolled back, and the next status write holds the state as data.
    const rollout = (await get('iris')).status?.rollout;
    expect(rollout).toMatchObject({ state: 'RolledBack', reason: 'RolloutAborted' });
    await custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'iris', body: [{ op: 'remove', path: '/status/rollout' }] });
    expect((await get('iris')).status?.rollout).toBeUndefined();
    await reconcile(`${NS}/iris`);
    expect((await get('iris')).status).toMatchObject({ phase: 'RolledBack', rollout, canaryWeight: 0 });
    expect(await deployments('iris')).toEqual({ [versions[0]!]: 0, [versions[1]!]: 4, [canaryRev]: 0 });

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

  /** Runs one Controller over the real reconciler until it settled; returns its calls, its log lines and its metrics. */
  const throughController = async (key: string, settled: (m: OperatorMetrics) => Promise<boolean>): Promise<{ calls: number; logged: Array<{ msg: string; key: string; err?: { message: string } }> }> => {
    const metrics = new OperatorMetrics();
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    let calls = 0;
    const controller = new Controller({
      name: 'once',
      metrics,
      logger: createLogger({ level: 'error', destination: sink }),
      reconcile: async (k, ctx) => {
        calls++;
        await caughtUp(k.split('/')[1]!);
        return reconciler.reconcile(k, ctx);
      },
    });
    const running = controller.run();
    controller.enqueue(key);
    await waitFor('the controller to settle', async () => ((await settled(metrics)) ? true : undefined), { timeoutMs: 15_000, intervalMs: 20 });
    // The first retry of an ordinary error would come after 5 ms.
    await new Promise((r) => setTimeout(r, 500));
    await controller.stop();
    await running;
    return { calls, logged: lines.map((l) => JSON.parse(l) as { msg: string; key: string; err?: { message: string } }) };
  };
  const count = async (m: OperatorMetrics, result: string): Promise<number> => (await m.reconcileTotal.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
  const warnings = async (name: string): Promise<string> =>
    cluster.kubectlOk(['get', 'events', '--field-selector', `involvedObject.name=${name},type=Warning`, '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']);

  test('a spec the CRD admits but the operator cannot act on is answered in status: Stalled InvalidSpec naming the field, one Warning, no retry', async () => {
    // The CRD cannot carry a quantity's pattern (int-or-string), so the API server stores what zod refuses.
    await create('lots', { model: { uri: 'file:///models/iris-1.onnx', version: '1' }, serving: { resources: { requests: { cpu: 'lots' } } } });
    const run = await throughController(`${NS}/lots`, async (m) => (await count(m, 'success')) === 1);
    expect(run.calls).toBe(1);
    expect(run.logged).toEqual([]);
    expect(await deployments('lots')).toEqual({});
    const s = (await get('lots')).status!;
    expect(s).toMatchObject({ observedGeneration: 1, phase: 'Failed' });
    const stalled = s.conditions?.find((c) => c.type === 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'InvalidSpec', message: expect.stringContaining('spec.serving.resources.requests.cpu') });
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    // kubectl shows it, and a second reconcile warns no more.
    expect(await cluster.kubectlOk(['get', 'md', 'lots', '--no-headers'])).toMatch(/Failed/);
    await reconcile(`${NS}/lots`);
    expect((await warnings('lots')).match(/^InvalidSpec: /gm)).toHaveLength(1);
    // Fixed, it serves.
    await patchSpec('lots', [{ op: 'replace', path: '/spec/serving/resources/requests/cpu', value: '100m' }]);
    const fixed = await settle('lots', (st) => st.observedGeneration === 2 && !!st.stable);
    expect(fixed.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'False' });
    expect(Object.values(await deployments('lots'))).toEqual([1]);
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'lots' });
  });

  test('a freeze window in a time zone that does not exist is answered in status, not thrown on every retry', async () => {
    const freezeWindows = [{ name: 'weekly', days: ['Mon'], from: '09:00', to: '17:00', timeZone: 'Mars/Olympus_Mons' }];
    await create('mars', { model: { uri: 'file:///models/iris-1.onnx', version: '1' }, rollout: { freezeWindows } });
    const run = await throughController(`${NS}/mars`, async (m) => (await count(m, 'success')) === 1);
    expect(run).toEqual({ calls: 1, logged: [] });
    const s = (await get('mars')).status!;
    expect(s.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec', message: expect.stringMatching(/spec\.rollout\.freezeWindows\.0\.timeZone: .*time zone/) });
    expect(await deployments('mars')).toEqual({});
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'mars' });
  });

  test('an apply the API server refuses is answered in status with its message and a Warning, retried with backoff, and clears once it lands', async () => {
    const squat = 'squat';
    await create(squat, { model: { uri: 'file:///models/iris-1.onnx', version: '1' } });
    // Someone else's Deployment already has the name the operator derives, with another selector (immutable).
    const first = await settle(squat, (st) => !!st.stable);
    const taken = Object.keys(await deployments(squat))[0]!;
    const deploymentName = `${squat}-${taken}`;
    await apps.deleteNamespacedDeployment({ name: deploymentName, namespace: NS, body: { propagationPolicy: 'Foreground' } });
    await waitFor('the Deployment gone', async () => ((await deployments(squat))[taken] === undefined ? true : undefined), { timeoutMs: 30_000 });
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: deploymentName },
        spec: { replicas: 0, selector: { matchLabels: { app: 'someone-else' } }, template: { metadata: { labels: { app: 'someone-else' } }, spec: { containers: [{ name: 'x', image: 'x:1' }] } } },
      },
    });
    await expect(reconcile(`${NS}/${squat}`)).rejects.toThrow(/immutable/);
    const refused = (await get(squat)).status!;
    expect(refused.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ApplyFailed', message: expect.stringMatching(/^applying the desired objects failed: .*field is immutable/) });
    expect(refused.conditions?.find((c) => c.type === 'Reconciling')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
    // The rest of status is the last one written: nothing moved on.
    expect(refused.stable).toEqual(first.stable);
    await expect(reconcile(`${NS}/${squat}`)).rejects.toThrow(/immutable/);
    expect((await warnings(squat)).match(/^ApplyFailed: /gm)).toHaveLength(1);
    // The name freed, the next retry lands and the condition clears.
    await apps.deleteNamespacedDeployment({ name: deploymentName, namespace: NS });
    await waitFor('the squatter gone', async () => ((await apps.listNamespacedDeployment({ namespace: NS })).items.some((d) => d.metadata?.name === deploymentName) ? undefined : true), { timeoutMs: 30_000 });
    const landed = await settle(squat, (st) => st.conditions?.find((c) => c.type === 'Ready')?.reason !== 'ApplyFailed');
    expect(landed.conditions?.find((c) => c.type === 'Reconciling')?.reason).not.toBe('ApplyFailed');
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: squat });
  });

  test('a status this operator cannot read (written under a newer CRD) fails terminally: logged, counted, never retried', async () => {
    const crdPath = '/spec/versions/0/schema/openAPIV3Schema/properties/status/properties/rollout/properties/state/enum';
    const crdName = `${PLURAL}.${GROUP}`;
    const crd = async (): Promise<{ spec: { versions: { schema: { openAPIV3Schema: { properties: { status: { properties: { rollout: { properties: { state: { enum: string[] } } } } } } } } }[] } }> =>
      JSON.parse(await cluster.kubectlOk(['get', 'crd', crdName, '-o', 'json'])) as never;
    const states = (await crd()).spec.versions[0]!.schema.openAPIV3Schema.properties.status.properties.rollout.properties.state.enum;
    // A newer CRD knows a rollout state this operator does not.
    await cluster.kubectlOk(['patch', 'crd', crdName, '--type=json', '-p', JSON.stringify([{ op: 'add', path: `${crdPath}/-`, value: 'Shadowing' }])]);
    try {
      await create('newer', { model: { uri: 'file:///models/iris-1.onnx', version: '1' } });
      await waitFor('the newer status stored', async () => {
        try {
          await custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'newer', body: [{ op: 'add', path: '/status', value: { rollout: { state: 'Shadowing', reason: 'ShadowStep', message: 'mirrored traffic only' } } }] });
          return true;
        } catch {
          return undefined; // the API server's CRD cache catches up with the patched enum
        }
      }, { timeoutMs: 15_000 });
      await expect(reconcile(`${NS}/newer`)).rejects.toBeInstanceOf(TerminalError);
      const run = await throughController(`${NS}/newer`, async (m) => (await m.terminalReconcileErrors.get()).values[0]?.value === 1);
      expect(run.calls).toBe(1);
      expect(run.logged).toEqual([expect.objectContaining({ msg: 'reconcile failed terminally; not retrying', key: `${NS}/newer` })]);
      expect(run.logged[0]!.err!.message).toContain('status.rollout.state');
      expect(await deployments('newer')).toEqual({});
    } finally {
      await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'newer' }).catch(() => undefined);
      await cluster.kubectlOk(['patch', 'crd', crdName, '--type=json', '-p', JSON.stringify([{ op: 'replace', path: crdPath, value: states }])]);
    }
  });

  test('an aborted reconcile rejects at once and writes nothing more, even while Prometheus hangs', async () => {
    // A "Prometheus" that accepts every query and never answers.
    const sockets = new Set<Socket>();
    let queries = 0;
    const hanging: Server = createServer(() => void queries++);
    hanging.on('connection', (c) => sockets.add(c));
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    const prometheusURL = `http://127.0.0.1:${(hanging.address() as { port: number }).port}`;
    // A spec may only name a Prometheus the operator's configuration allows.
    await Promise.all(informers().map((i) => i.stop()));
    reconciler = await startReconciler({ allowedPrometheusAddresses: [prometheusURL] });
    try {
      await create('hang', {
        model: { uri: 'file:///models/iris-1.onnx', version: '1' },
        rollout: { schemaCheck: 'Off' },
        // Once a stable revision exists, every reconcile measures its health.
        monitoring: { prometheusURL, drift: { maxErrorRate: 0.5 } },
      });
      await reconcile(`${NS}/hang`);
      expect((await get('hang')).status?.stable).toBeDefined();
      await caughtUp('hang');
      const before = await cluster.kubectlOk(['get', 'md', 'hang', '-o', 'jsonpath={.metadata.resourceVersion}']);
      const eventsBefore = await cluster.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.name=hang', '-o', 'jsonpath={.items[*].metadata.name}']);

      const abort = new AbortController();
      const reconciling = reconcile(`${NS}/hang`, abort.signal);
      const outcome = reconciling.then(
        () => 'resolved',
        (err: unknown) => err,
      );
      await waitFor('the health query to reach Prometheus', () => Promise.resolve(queries > 0 || undefined), { timeoutMs: 15_000, intervalMs: 10 });
      const reason = new Error('lost leadership');
      const abortedAt = Date.now();
      abort.abort(reason);
      expect(await outcome).toBe(reason);
      // Without the signal the query would wait out its 5 s timeout, then write status and Events.
      expect(Date.now() - abortedAt).toBeLessThan(1_000);
      await new Promise((r) => setTimeout(r, 500));
      expect(await cluster.kubectlOk(['get', 'md', 'hang', '-o', 'jsonpath={.metadata.resourceVersion}'])).toBe(before);
      expect(await cluster.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.name=hang', '-o', 'jsonpath={.items[*].metadata.name}'])).toBe(eventsBefore);
      // The aborted query's connection was closed by the client, not left open.
      await waitFor('the aborted connection closed', () => Promise.resolve([...sockets].every((c) => c.destroyed || c.closed) || undefined), { timeoutMs: 5_000, intervalMs: 20 });
    } finally {
      for (const c of sockets) c.destroy();
      await new Promise((r) => hanging.close(r));
      await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'hang' }).catch(() => undefined);
    }
  });

  test('a spec naming a Prometheus the operator does not allow gets no request: the health check is Inconclusive saying so', async () => {
    // Answers like a Prometheus with no data, and counts what reaches it.
    let requests = 0;
    const counting: Server = createServer((_, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{"resultType":"vector","result":[]}}');
    });
    await new Promise<void>((r) => counting.listen(0, '127.0.0.1', r));
    const prometheusURL = `http://127.0.0.1:${(counting.address() as { port: number }).port}`;
    try {
      await create('elsewhere', {
        model: { uri: 'file:///models/iris-1.onnx', version: '1' },
        rollout: { schemaCheck: 'Off' },
        monitoring: { prometheusURL, drift: { maxErrorRate: 0.5 } },
      });
      // The first reconcile makes a stable revision, the next measures its health.
      await reconcile(`${NS}/elsewhere`);
      clock += 60_000;
      await reconcile(`${NS}/elsewhere`);
      const measurements = (await get('elsewhere')).status?.monitoring?.measurements;
      expect(measurements).toEqual([expect.objectContaining({ metric: 'error-rate', verdict: 'Inconclusive' })]);
      expect(measurements![0]!.reason).toMatch(/spec\.monitoring\.prometheusURL ".*" is not a Prometheus address this operator allows; the platform team must add it/);
      expect(requests).toBe(0);

      // The same address, once the platform team allows it, is queried: the count above could have counted.
      await Promise.all(informers().map((i) => i.stop()));
      reconciler = await startReconciler({ allowedPrometheusAddresses: [`${prometheusURL}/`] });
      clock += 60_000;
      await reconcile(`${NS}/elsewhere`);
      expect(requests).toBeGreaterThan(0);
      expect((await get('elsewhere')).status?.monitoring?.measurements?.[0]?.reason).toBeUndefined();
    } finally {
      counting.closeAllConnections();
      await new Promise((r) => counting.close(r));
      await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'elsewhere' }).catch(() => undefined);
    }
  });
  test('a drain takes the serving pods of a revision one at a time (PodDisruptionBudget), only above one replica, and spreads them by topology', async () => {
    const kc = cluster.kubeConfig();
    const policy = kc.makeApiClient(PolicyV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const budgets = async (): Promise<Record<string, number | string | undefined>> =>
      Object.fromEntries(
        (await policy.listNamespacedPodDisruptionBudget({ namespace: NS, labelSelector: 'siskin.dev/model-deployment=drained' })).items.map((b) => [b.metadata!.labels!['siskin.dev/revision']!, b.spec!.maxUnavailable]),
      );
    try {
      await create('drained', { model: { uri: 'file:///models/iris-1.onnx', version: '1' }, replicas: 3, rollout: { schemaCheck: 'Off' } });
      const s = await settle('drained', (st) => st.readyReplicas === 3);
      const rev = s.stable!.name;
      expect(await budgets()).toEqual({ [rev]: 1 });
      const template = (await apps.readNamespacedDeployment({ name: `drained-${rev}`, namespace: NS })).spec!.template.spec!;
      expect(template.topologySpreadConstraints?.map((c) => [c.topologyKey, c.whenUnsatisfiable, c.labelSelector?.matchLabels?.['siskin.dev/revision']])).toEqual([
        ['kubernetes.io/hostname', 'ScheduleAnyway', rev],
        ['topology.kubernetes.io/zone', 'ScheduleAnyway', rev],
      ]);

      // A drain as kubectl drain runs it: the nodes cordoned (so no replacement can become Ready
      // meanwhile), then evictions: the first is allowed, the second refused by the budget.
      await waitFor('the budget to allow one disruption', async () => ((await policy.readNamespacedPodDisruptionBudget({ name: `drained-${rev}`, namespace: NS })).status?.disruptionsAllowed === 1 ? true : undefined), { timeoutMs: 30_000 });
      const nodes = (await cluster.kubectlOk(['get', 'nodes', '-o', 'name'])).split('\n').filter(Boolean);
      const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: `siskin.dev/model-deployment=drained,siskin.dev/revision=${rev}` })).items.map((p) => p.metadata!.name!);
      expect(pods).toHaveLength(3);
      const evict = (name: string): Promise<unknown> => core.createNamespacedPodEviction({ name, namespace: NS, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: NS } } });
      await cluster.kubectlOk(['cordon', ...nodes]);
      try {
        await evict(pods[0]!);
        await expect(evict(pods[1]!)).rejects.toMatchObject({ code: 429 });
      } finally {
        await cluster.kubectlOk(['uncordon', ...nodes]);
      }

      // One replica: no budget (a lone pod has no sibling to serve while it moves); back to two: one again.
      await cluster.kubectlOk(['scale', 'md/drained', '--replicas=1']);
      await settle('drained', (st) => st.observedGeneration === 2);
      await waitFor('the budget to go', async () => (Object.keys(await budgets()).length === 0 ? true : undefined), { timeoutMs: 30_000 });
      await cluster.kubectlOk(['scale', 'md/drained', '--replicas=2']);
      await settle('drained', (st) => st.observedGeneration === 3);
      expect(await budgets()).toEqual({ [rev]: 1 });
    } finally {
      await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'drained' }).catch(() => undefined);
    }
  });
});

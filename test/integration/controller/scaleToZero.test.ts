// Scale to zero against a real API server (kwok mode), a real Prometheus and the real
// controller with its activator, under the operator's own RBAC: an idle model goes to zero —
// its Services lose their selectors and point at the activator through an EndpointSlice, its
// status says ScaledToZero and Ready — a request to the activator wakes it, the Services come
// back to its pods and the slices go; a rollout started at zero wakes it and proceeds. kstatus
// (kubectl wait, Flux) and Argo CD's health script judge the live object at zero healthy.
// kwok pods run no server, so forwarding a held request to a pod is covered on the real node
// (test/e2e/operator/routingAndMonitoring.test.ts); here a held request ends in a 503, never silence.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, DiscoveryV1Api, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../../operator/api/rbac.ts';
import { GROUP, PLURAL, VERSION, type ModelDeploymentStatus } from '../../../operator/api/schema.ts';
import { buildModelDeploymentReconciler, modelDeploymentController, type ModelDeploymentReconciler } from '../../../operator/controller/setup.ts';
import type { Controller } from '../../../operator/runtime/controller.ts';
import type { Informer } from '../../../operator/runtime/informer.ts';
import { createLogger } from '../../../operator/runtime/logger.ts';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { argoHealth, kstatus, LUAS } from '../gitops/judges.ts';
import { createModelDeployment } from '../../fixtures/modelDeployments.ts';
import { freePort, NODE_IP, serviceAccountWithRules, startCluster, startPrometheus, waitFor, type LocalCluster, type LocalPrometheus } from '../../cluster/index.ts';

const NS = 'default';
const KEY = `${NS}/iris`;
const IMAGE = 'siskin.local/siskin:test';
const IDLE_SECONDS = 10;

describe('scale to zero (API server, kwok)', () => {
  let cluster: LocalCluster;
  let prometheus: LocalPrometheus;
  let exporter: Server;
  let operator: Operator | undefined;
  let custom: CustomObjectsApi;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let discovery: DiscoveryV1Api;
  // The idle period passes by moving the operator's clock (the idle count is Prometheus' own).
  let skewMs = 0;

  const status = async (): Promise<ModelDeploymentStatus> =>
    ((await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'iris' })) as { status?: ModelDeploymentStatus }).status ?? {};
  const until = async (what: string, ok: (s: ModelDeploymentStatus) => boolean): Promise<ModelDeploymentStatus> => {
    try {
      return await waitFor(what, async () => {
        const s = await status();
        return ok(s) ? s : undefined;
      }, { timeoutMs: 60_000, intervalMs: 250 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\nstatus: ${JSON.stringify(await status(), null, 1).slice(0, 4000)}`, { cause: err });
    }
  };
  const sizes = async (): Promise<number[]> => (await apps.listNamespacedDeployment({ namespace: NS, labelSelector: 'siskin.dev/model-deployment=iris' })).items.map((d) => d.spec!.replicas!).sort();
  const selectors = async (): Promise<Record<string, boolean>> =>
    Object.fromEntries((await core.listNamespacedService({ namespace: NS, labelSelector: 'siskin.dev/model-deployment=iris' })).items.map((s) => [s.metadata!.name!, !!s.spec?.selector]));
  const activatorSlices = async () => (await discovery.listNamespacedEndpointSlice({ namespace: NS, labelSelector: 'endpointslice.kubernetes.io/managed-by=siskin.dev' })).items;
  /** Lets the idle period pass for the operator and has it look again. */
  const idlePasses = (): void => {
    skewMs += (IDLE_SECONDS + 20) * 1000;
    operator!.controller.enqueue(KEY);
  };

  /** One operator process's reconciler, informers, controller and activator (on ADDRESS), as the leader runs them. */
  interface Operator {
    built: ModelDeploymentReconciler;
    controller: Controller;
    running: Promise<void>;
  }
  let operatorKc: KubeConfig;
  let firstPort = 0;
  const startOperator = async (address: string): Promise<Operator> => {
    const built = buildModelDeploymentReconciler({
      kubeConfig: operatorKc,
      defaultImage: IMAGE,
      logger: createLogger({ level: 'silent' }),
      defaultPrometheusAddress: prometheus.url,
      now: () => Date.now() + skewMs,
      // An EndpointSlice may not name a loopback address: the slices name the node IP, the test
      // reaches the activator on loopback.
      activator: { address, host: '127.0.0.1', ports: { first: firstPort, last: firstPort }, holdTimeoutMs: 5_000 },
    });
    const informers = Object.values(built.informers) as Informer<KubernetesObject>[];
    for (const i of informers) i.start();
    await Promise.all(informers.map((i) => i.waitForSync(30_000)));
    const controller = modelDeploymentController(built, {});
    return { built, controller, running: controller.run() };
  };
  /** What a leader does when it stops: the controller, then the activator (held requests get 503), then the watches. */
  const stopOperator = async (o: Operator | undefined): Promise<void> => {
    if (!o) return;
    await o.controller.stop();
    await o.running;
    await o.built.activator?.stop();
    await Promise.all((Object.values(o.built.informers) as Informer<KubernetesObject>[]).map((i) => i.stop()));
  };

  beforeAll(async () => {
    cluster = await startCluster({ controllerManager: true, scheduler: true, kwokNodes: 1, crdFiles: [fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url))] });
    const kc = cluster.kubeConfig();
    custom = kc.makeApiClient(CustomObjectsApi);
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    discovery = kc.makeApiClient(DiscoveryV1Api);
    // kwok pods export nothing: this stands in for the serving pods' /metrics — scraped, ready, no request served.
    exporter = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end('siskin_model_ready{model="iris",revision="r"} 1\n');
    });
    await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', () => r()));
    prometheus = await startPrometheus({ scrapeConfigs: [{ job_name: 'serving', static_configs: [{ targets: [`127.0.0.1:${(exporter.address() as AddressInfo).port}`], labels: { namespace: NS } }] }] });
    const saConfig = await serviceAccountWithRules(cluster, { namespace: 'siskin-system', name: 'siskin-operator', rules: OPERATOR_RULES, namespaceRules: LEADER_ELECTION_RULES });
    operatorKc = new KubeConfig();
    operatorKc.loadFromFile(saConfig);
    firstPort = await freePort();
    operator = await startOperator(NODE_IP);
  });
  afterAll(async () => {
    await stopOperator(operator);
    await prometheus?.stop();
    await new Promise<void>((r) => (exporter ? exporter.close(() => r()) : r()));
    await cluster?.stop();
  });

  let port = 0;
  test('a model with minReplicas 0 starts Active with an activator port, its Services on its pods', async () => {
    await createModelDeployment(custom, NS, 'iris', {
      model: { uri: 'file:///models/iris-1.onnx', version: '1' },
      autoscaling: { minReplicas: 0, maxReplicas: 2, targetRequestsPerSecond: 5, scaleToZeroAfterSeconds: IDLE_SECONDS },
      rollout: { steps: [{ setWeight: 50 }, { pause: {} }], schemaCheck: 'Off' },
    });
    const s = await until('iris Ready with one pod', (st) => st.phase === 'Healthy' && st.readyReplicas === 1);
    expect(s.activation).toMatchObject({ state: 'Active', port: expect.any(Number) });
    port = s.activation!.port!;
    expect(await selectors()).toEqual({ iris: true, 'iris-stable': true, 'iris-canary': true });
    expect(await activatorSlices()).toEqual([]);
  });

  test('idle for the period (Prometheus counted no request): scaled to zero, Services on the activator, Ready', async () => {
    // Prometheus must have scraped the pods' series: no data is never idle.
    await waitFor('a scrape', async () => ((await prometheus.query('siskin_model_ready')).length > 0 ? true : undefined), { timeoutMs: 30_000 });
    idlePasses();
    const s = await until('iris at zero', (st) => st.activation?.state === 'ScaledToZero');
    expect(s.phase).toBe('ScaledToZero');
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'ScaledToZero' });
    expect(s.activation?.reason).toBe(`no inference request for ${IDLE_SECONDS} s`);
    expect(s.activation?.port).toBe(port);
    await waitFor('no pods', async () => ((await sizes()).every((n) => n === 0) ? true : undefined), { timeoutMs: 30_000 });
    expect(await selectors()).toEqual({ iris: false, 'iris-stable': false, 'iris-canary': true });
    const slices = await activatorSlices();
    expect(slices.map((e) => [e.metadata!.name, e.metadata!.labels!['kubernetes.io/service-name'], e.endpoints?.[0]?.addresses, e.ports?.[0]?.port]).sort()).toEqual([
      ['iris-activator', 'iris', [NODE_IP], port],
      ['iris-stable-activator', 'iris-stable', [NODE_IP], port],
    ]);
    expect(slices.every((e) => e.metadata?.ownerReferences?.[0]?.kind === 'ModelDeployment')).toBe(true);
    // kubectl shows it, and an idle model at zero is Ready (it can serve): kubectl wait and GitOps agree.
    expect(await cluster.kubectlOk(['get', 'md', 'iris', '--no-headers'])).toMatch(/^iris\s+1\s+0\s+ScaledToZero\s+0\s+\S+\n$/);
    expect((await cluster.kubectl(['wait', '--for=condition=Ready', 'md/iris', '--timeout=10s'])).stdout).toContain('condition met');
    const live = JSON.parse(await cluster.kubectlOk(['get', 'md', 'iris', '-o', 'json'])) as unknown;
    expect(await kstatus(live)).toMatchObject({ status: 'Current' });
    for (const lua of LUAS) expect(await argoHealth(live, lua)).toEqual({ status: 'Healthy', message: expect.stringContaining('scaled to zero') });
  });

  test('a new leader takes over a model at zero: the port its status records, slices naming the new address, requests held there', async () => {
    // The old leader goes (it lost its lease, or its pod was deleted) and another operator pod leads.
    await stopOperator(operator);
    operator = undefined;
    const next = '198.18.1.2';
    operator = await startOperator(next);
    operator.controller.enqueue(KEY);
    await waitFor('the slices on the new leader', async () => {
      const slices = await activatorSlices();
      return slices.length === 2 && slices.every((e) => e.endpoints?.[0]?.addresses?.[0] === next) ? slices : undefined;
    }, { timeoutMs: 30_000 });
    expect((await activatorSlices()).map((e) => e.ports?.[0]?.port)).toEqual([port, port]);
    const s = await status();
    expect(s.activation).toMatchObject({ state: 'ScaledToZero', port });
    expect(await sizes()).toEqual([0]);
    expect(await selectors()).toEqual({ iris: false, 'iris-stable': false, 'iris-canary': true });
  });

  test('a request to the activator wakes it; once a pod is Ready the selectors come back and the slices go', async () => {
    const held = fetch(`http://127.0.0.1:${port}/v2/models/iris/infer`, { method: 'POST', body: '{}' });
    const waking = await until('iris waking', (st) => st.activation?.state !== 'ScaledToZero');
    expect(waking.activation?.reason).toMatch(/a request arrived/);
    const s = await until('iris Active again', (st) => st.activation?.state === 'Active' && st.readyReplicas === 1);
    expect(s.phase).toBe('Healthy');
    expect(await sizes()).toEqual([1]);
    await waitFor('selectors back', async () => (Object.values(await selectors()).every(Boolean) ? true : undefined), { timeoutMs: 30_000 });
    await waitFor('the activator slices gone', async () => ((await activatorSlices()).length === 0 ? true : undefined), { timeoutMs: 30_000 });
    // The kwok pod has no server: the held request is answered by the activator's bound, not dropped.
    const r = await held;
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('5');
  });

  test('a rollout started at zero wakes the stable revision and the canary rolls out beside it', async () => {
    idlePasses();
    await until('iris at zero again', (st) => st.activation?.state === 'ScaledToZero');
    await waitFor('no pods', async () => ((await sizes()).every((n) => n === 0) ? true : undefined), { timeoutMs: 30_000 });
    await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'iris', body: [{ op: 'replace', path: '/spec/model', value: { uri: 'file:///models/iris-2.onnx', version: '2' } }] });
    const s = await until('the rollout at weight 50 with both revisions ready', (st) => st.canary?.version === '2' && st.canaryWeight === 50 && st.activation?.state === 'Active' && (st.readyReplicas ?? 0) >= 2);
    expect(s.phase).toBe('Progressing');
    expect(s.activation?.reason).toBe('woke up: a rollout started');
    expect((await sizes()).every((n) => n >= 1)).toBe(true);
    // While a canary rolls out the model never goes to zero, however idle.
    idlePasses();
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await status()).activation?.state).toBe('Active');
  });
});

// GitOps health: Argo CD's custom health check (charts/siskin/health/modeldeployment.lua) run
// by real Lua interpreters (5.1, the dialect of Argo CD's gopher-lua, and 5.4) on statuses the
// operator's own planner writes, and kubectl wait on the Ready condition against a real API
// server — the two ways GitOps tools and scripts learn whether a ModelDeployment is done.
// Statuses the live operator writes are judged in liveStatus.test.ts.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { GROUP, modelDeploymentSpec, PLURAL, VERSION, type ModelDeploymentSpec, type ModelDeploymentStatus } from '../../../operator/api/schema.ts';
import { plan, type ObservedDeployment } from '../../../operator/controller/plan.ts';
import { ANNOTATION_COMMAND, ANNOTATION_PAUSED } from '../../../operator/api/reasons.ts';
import { revisionHash } from '../../../operator/resources/revision.ts';
import { startCluster, type LocalCluster } from '../../cluster/index.ts';
import { argoHealth, LUAS } from './judges.ts';
import { createModelDeployment } from '../../fixtures/modelDeployments.ts';

const CRD = fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url));
const IMAGE = 'siskin.local/siskin:test';
const OWNER = { name: 'iris', namespace: 'default', uid: 'u1' };
const T0 = Date.parse('2026-11-23T12:00:00Z');
const SIG = { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }] };

// ---- Statuses as the operator writes them: plan() in a loop, the cluster simulated as converging ----

const specV = (v: string, over: Record<string, unknown> = {}): ModelDeploymentSpec =>
  modelDeploymentSpec.parse({
    model: { uri: `file:///models/iris-${v}.onnx`, version: v },
    modelCard: { owner: 'team-ml', riskTier: 'low' },
    replicas: 4,
    rollout: { steps: [{ setWeight: 25 }, { pause: {} }] },
    ...over,
  });

/** What the operator has written and the cluster holds, between reconciles. */
interface World {
  generation: number;
  annotations: Record<string, string>;
  spec: ModelDeploymentSpec;
  status: ModelDeploymentStatus;
  observed: ObservedDeployment[];
  now: number;
}
const newWorld = (): World => ({ generation: 1, annotations: {}, spec: specV('1'), status: {}, observed: [], now: T0 });

/**
 * Reconciles `rounds` times as the operator does: plan() writes status; in between, every
 * Deployment reaches the size the plan gave it with all pods ready (the Deployment controller
 * and kubelet), and every revision's signature reads as SIG.
 */
function reconcile(w: World, rounds = 4, analysisRound?: Parameters<typeof plan>[0]['analysisRound']): World {
  let { status, observed, now } = w;
  for (let i = 0; i < rounds; i++) {
    const revs = [revisionHash(w.spec, IMAGE), status.stable?.name, status.canary?.name].filter((r): r is string => !!r);
    const p = plan({
      owner: OWNER,
      generation: w.generation,
      annotations: w.annotations,
      spec: w.spec,
      status,
      observed,
      signatures: Object.fromEntries(revs.map((r) => [r, SIG])),
      ...(analysisRound ? { analysisRound } : {}),
      now,
      defaultImage: IMAGE,
    });
    status = p.status;
    const next = new Map(observed.map((d) => [d.name, d]));
    const sized = (d: Omit<ObservedDeployment, 'readyReplicas' | 'replicas' | 'upToDate'>): ObservedDeployment => ({ ...d, readyReplicas: d.specReplicas, replicas: d.specReplicas, upToDate: true });
    for (const d of p.deployments) next.set(d.metadata!.name!, sized({ name: d.metadata!.name!, revision: d.metadata!.labels!['siskin.dev/revision']!, specReplicas: d.spec!.replicas! }));
    for (const s of p.scales) {
      const d = next.get(s.name);
      if (d) next.set(s.name, sized({ ...d, specReplicas: s.replicas }));
    }
    for (const name of p.deleteDeployments) next.delete(name);
    observed = [...next.values()];
    now += 1_000;
  }
  return { ...w, status, observed, now };
}

/** The object Argo CD sees: metadata with generation and annotations, spec, status. */
const object = (w: World): Record<string, unknown> => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'ModelDeployment',
  metadata: { name: OWNER.name, namespace: OWNER.namespace, generation: w.generation, annotations: w.annotations },
  spec: w.spec,
  ...(Object.keys(w.status).length ? { status: w.status } : {}),
});

const ready = (): World => reconcile(newWorld());
/** A new version (generation 2) rolling out as a canary, holding at its pause-until-promoted step. */
const rolling = (): World => reconcile({ ...ready(), generation: 2, spec: specV('2') });

describe.each(LUAS)('the Argo CD health check on statuses the operator writes, on %s', (lua) => {
  test.each<[string, () => World, { status: string; message: RegExp }, (s: ModelDeploymentStatus) => void]>([
    [
      'a new ModelDeployment, nothing ready yet: Progressing',
      () => reconcile(newWorld(), 1),
      { status: 'Progressing', message: /^waiting for the stable revision to be ready$/ },
      (s) => expect(s.phase).toBe('Pending'),
    ],
    [
      'the stable revision serving: Healthy',
      ready,
      { status: 'Healthy', message: /^1 is serving$/ },
      (s) => expect(s.phase).toBe('Healthy'),
    ],
    [
      'a spec change the operator has not observed yet: Progressing, never the old Healthy',
      () => ({ ...ready(), generation: 2, spec: specV('2') }),
      { status: 'Progressing', message: /^Waiting for the Siskin operator to observe generation 2 \(status is for generation 1\)$/ },
      (s) => expect(s.phase).toBe('Healthy'),
    ],
    [
      'a canary rolling out: Progressing with where it is',
      rolling,
      { status: 'Progressing', message: /^canary 2 at weight 25, step 2 of 2/ },
      (s) => expect(s.phase).toBe('Progressing'),
    ],
    [
      'a rollout paused by annotation: Suspended',
      () => reconcile({ ...rolling(), annotations: { [ANNOTATION_PAUSED]: 'true' } }, 1),
      { status: 'Suspended', message: /^canary 2 at weight 25, step 2 of 2/ },
      (s) => expect(s.phase).toBe('Paused'),
    ],
    [
      'a canary rolled back by an abort command: Degraded with the condition message',
      () => reconcile({ ...rolling(), annotations: { [ANNOTATION_COMMAND]: 'abort:1' } }),
      { status: 'Degraded', message: /^rollout aborted by user.*Stable 1 serves\. Annotate siskin\.dev\/command=retry to try again, or change the spec$/ },
      (s) => expect(s.phase).toBe('RolledBack'),
    ],
    [
      'a retry after the abort: Progressing again',
      () => reconcile({ ...reconcile({ ...rolling(), annotations: { [ANNOTATION_COMMAND]: 'abort:1' } }), annotations: { [ANNOTATION_COMMAND]: 'retry:2' } }),
      { status: 'Progressing', message: /^canary 2 at weight 25/ },
      (s) => expect(s.phase).toBe('Progressing'),
    ],
    [
      'a canary promoted: Healthy on the new version',
      () => reconcile({ ...rolling(), annotations: { [ANNOTATION_COMMAND]: 'promote:1' } }),
      { status: 'Healthy', message: /^2 is serving$/ },
      (s) => expect(s.stable?.version).toBe('2'),
    ],
    [
      'a rollout paused by the analysis after inconclusive rounds: Suspended',
      () => {
        const spec = specV('2', {
          rollout: { steps: [{ setWeight: 25 }, { pause: { durationSeconds: 60 } }], analysis: { inconclusiveLimit: 1, metrics: [{ name: 'p99', kind: 'LatencyQuantile', max: 0.25 }] } },
        });
        const w = reconcile({ ...ready(), generation: 2, spec }, 2);
        return reconcile(w, 2, [{ metric: 'p99', error: 'Prometheus at http://prometheus:9090 unreachable' }]);
      },
      { status: 'Suspended', message: /paused: 2 inconclusive analysis rounds in a row \(limit 1\); annotate siskin\.dev\/command=resume to go on/ },
      (s) => expect(s.phase).toBe('Paused'),
    ],
  ])('%s', async (_, make, want, operatorWrote) => {
    const w = make();
    operatorWrote(w.status);
    const hs = await argoHealth(object(w), lua);
    expect(hs.status).toBe(want.status);
    expect(hs.message).toMatch(want.message);
  });

  test('an object without status: Progressing, waiting for the operator', async () => {
    expect(await argoHealth(object(newWorld()), lua)).toEqual({ status: 'Progressing', message: 'Waiting for the Siskin operator to observe the ModelDeployment' });
  });

  test('an object being deleted: Progressing', async () => {
    const obj = object(ready());
    (obj.metadata as Record<string, unknown>).deletionTimestamp = '2026-11-23T12:05:00Z';
    expect(await argoHealth(obj, lua)).toEqual({ status: 'Progressing', message: 'ModelDeployment is being deleted' });
  });

  test('the Lua literal carries any string exactly (quotes, backslashes, newlines, UTF-8)', async () => {
    const w = ready();
    const tricky = 'model "v1" at C:\\models\nline two\ttab — über ✓';
    w.status = { ...w.status, conditions: w.status.conditions!.map((c) => (c.type === 'Ready' ? { ...c, message: tricky } : c)) };
    expect(await argoHealth(object(w), lua)).toEqual({ status: 'Healthy', message: tricky });
  });
});

describe('kubectl wait and the health check against a real API server', () => {
  let cluster: LocalCluster;
  let custom: CustomObjectsApi;
  const ref = { group: GROUP, version: VERSION, plural: PLURAL, namespace: OWNER.namespace, name: OWNER.name };
  const writeStatus = (status: ModelDeploymentStatus): Promise<unknown> => custom.patchNamespacedCustomObjectStatus({ ...ref, body: [{ op: 'add', path: '/status', value: status }] });

  beforeAll(async () => {
    cluster = await startCluster({ crdFiles: [CRD] });
    custom = cluster.kubeConfig().makeApiClient(CustomObjectsApi);
    await createModelDeployment(custom, OWNER.namespace, OWNER.name, {
      model: { uri: 'file:///models/iris-1.onnx', version: '1' },
      modelCard: { owner: 'team-ml', riskTier: 'low' },
      replicas: 4,
      rollout: { steps: [{ setWeight: 25 }, { pause: {} }] },
    });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test('without a status, kubectl wait --for=condition=Ready times out', async () => {
    const r = await cluster.kubectl(['wait', '--for=condition=Ready', 'md/iris', '--timeout=2s']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('timed out waiting for the condition on modeldeployments/iris');
  });

  test('kubectl wait --for=condition=Ready returns once the operator writes a Ready status', async () => {
    const got = (await custom.getNamespacedCustomObject(ref)) as { metadata: { generation: number } };
    const waiting = cluster.kubectl(['wait', '--for=condition=Ready', 'md/iris', '--timeout=60s']);
    await writeStatus(reconcile({ ...newWorld(), generation: got.metadata.generation }).status);
    const r = await waiting;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('modeldeployment.siskin.dev/iris condition met\n');
    // The printed phase and the jsonpath form scripts use agree.
    expect(await cluster.kubectlOk(['wait', '--for=jsonpath={.status.phase}=Healthy', 'md/iris', '--timeout=10s'])).toBe('modeldeployment.siskin.dev/iris condition met\n');
  });

  test('the object as the API server returns it (what Argo CD reads) is Healthy, and Degraded once rolled back', async () => {
    const read = async (): Promise<unknown> => custom.getNamespacedCustomObject(ref);
    /** The verdict of the check on every interpreter: they must agree. */
    const health = async (): Promise<{ status: string; message: string }> => {
      const obj = await read();
      const [first, ...rest] = await Promise.all(LUAS.map((lua) => argoHealth(obj, lua)));
      for (const other of rest) expect(other).toEqual(first);
      return first!;
    };
    expect(await health()).toEqual({ status: 'Healthy', message: '1 is serving' });
    // The spec moves to version 2 (generation 2): until the operator observes it, not Healthy.
    await cluster.kubectlOk(['patch', 'md/iris', '--type=merge', '-p', JSON.stringify({ spec: { model: { uri: 'file:///models/iris-2.onnx', version: '2' } } })]);
    expect(await health()).toEqual({ status: 'Progressing', message: 'Waiting for the Siskin operator to observe generation 2 (status is for generation 1)' });
    const aborted = reconcile({ ...reconcile({ ...ready(), generation: 2, spec: specV('2') }), annotations: { [ANNOTATION_COMMAND]: 'abort:1' } });
    await writeStatus(aborted.status);
    const hs = await health();
    expect(hs.status).toBe('Degraded');
    expect(hs.message).toMatch(/^rollout aborted by user/);
    const stalled = await cluster.kubectl(['wait', '--for=condition=Stalled', 'md/iris', '--timeout=10s']);
    expect(stalled.code).toBe(0);
  });
});

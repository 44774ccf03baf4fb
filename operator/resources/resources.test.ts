// Pure builders of what a ModelDeployment owns: revision identity, the serving Deployment
// of a revision, and the Services.
import { describe, expect, test } from '@jest/globals';
import { modelDeploymentSpec, type ModelDeploymentSpec } from '../api/schema.ts';
import { resolveModelUri, servingDeployment, type Owner } from './deployment.ts';
import { disruptionBudgets } from './disruptionBudget.ts';
import { LABEL_MODEL_DEPLOYMENT, LABEL_REVISION } from './labels.ts';
import { canonicalJson, revisionHash } from './revision.ts';
import { servingServices } from './services.ts';

const IMAGE = 'siskin.local/siskin:dev';
const owner: Owner = { name: 'iris', namespace: 'ml', uid: '1234-uid' };
const base = (over: Record<string, unknown> = {}): ModelDeploymentSpec =>
  modelDeploymentSpec.parse({ model: { uri: 'https://m.example/iris/1.onnx', sha256: 'a'.repeat(64), version: '1' }, ...over });

describe('revisionHash', () => {
  const h0 = revisionHash(base(), IMAGE);
  test.each<[string, Record<string, unknown>]>([
    ['replicas', { replicas: 7 }],
    ['rollout steps', { rollout: { steps: [{ setWeight: 5 }] } }],
    ['autoscaling', { autoscaling: { maxReplicas: 3, targetRequestsPerSecond: 5 } }],
    ['the model card', { modelCard: { owner: 'someone-else' } }],
  ])('does not change with %s (no rollout for what does not change the pods)', (_what, over) => {
    expect(revisionHash(base(over), IMAGE)).toBe(h0);
  });
  test.each<[string, Record<string, unknown>]>([
    ['the model URI', { model: { uri: 'https://m.example/iris/2.onnx', sha256: 'a'.repeat(64), version: '1' } }],
    ['the digest', { model: { uri: 'https://m.example/iris/1.onnx', sha256: 'b'.repeat(64), version: '1' } }],
    ['the version label', { model: { uri: 'https://m.example/iris/1.onnx', sha256: 'a'.repeat(64), version: '2' } }],
    ['the worker count', { serving: { workers: 2 } }],
    ['batching', { serving: { batching: { enabled: true } } }],
  ])('changes with %s', (_what, over) => {
    expect(revisionHash(base(over), IMAGE)).not.toBe(h0);
  });
  test('follows the default image only while spec.serving.image is unset', () => {
    expect(revisionHash(base(), 'other:1')).not.toBe(h0);
    const pinned = base({ serving: { image: 'pinned:1' } });
    expect(revisionHash(pinned, IMAGE)).toBe(revisionHash(pinned, 'other:1'));
  });
  test('is a DNS-label-safe 10-hex string and ignores key order', () => {
    expect(h0).toMatch(/^[0-9a-f]{10}$/);
    expect(canonicalJson({ b: 1, a: [2, { d: undefined, c: 3 }] })).toBe('{"a":[2,{"c":3}],"b":1}');
  });
});

describe('servingDeployment', () => {
  const rev = revisionHash(base(), IMAGE);
  const d = servingDeployment(owner, base({ serving: { batching: { enabled: true, maxBatchSize: 16 }, resources: { requests: { cpu: 1, memory: '256Mi' } } } }), rev, 3, { defaultImage: IMAGE });
  const pod = d.spec!.template;
  const c = pod.spec!.containers[0]!;
  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));

  test('is named and selected by revision, owned by the ModelDeployment', () => {
    expect(d.metadata!.name).toBe(`iris-${rev}`);
    expect(d.spec!.selector.matchLabels).toEqual({ [LABEL_MODEL_DEPLOYMENT]: 'iris', [LABEL_REVISION]: rev });
    expect(pod.metadata!.labels).toMatchObject({ [LABEL_MODEL_DEPLOYMENT]: 'iris', [LABEL_REVISION]: rev });
    expect(d.metadata!.ownerReferences).toEqual([
      { apiVersion: 'siskin.dev/v1alpha1', kind: 'ModelDeployment', name: 'iris', uid: '1234-uid', controller: true, blockOwnerDeletion: true },
    ]);
    expect(d.spec!.replicas).toBe(3);
  });

  test('passes the model and serving settings to the server as its env', () => {
    expect(env).toMatchObject({
      SISKIN_MODEL_NAME: 'iris',
      SISKIN_MODEL_URI: 'https://m.example/iris/1.onnx',
      SISKIN_MODEL_SHA256: 'a'.repeat(64),
      SISKIN_MODEL_REVISION: rev,
      SISKIN_BATCH_MAX_SIZE: '16',
      SISKIN_BATCH_MAX_DELAY_MS: '2',
      SISKIN_PORT: '8080',
    });
    expect(c.resources).toEqual({ requests: { cpu: '1', memory: '256Mi' } });
    expect(c.image).toBe(IMAGE);
  });

  test('is probed, scraped and locked down', () => {
    expect(c.readinessProbe?.httpGet?.path).toBe('/v2/health/ready');
    expect(c.livenessProbe?.httpGet?.path).toBe('/v2/health/live');
    expect(pod.metadata!.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080', 'prometheus.io/path': '/metrics' });
    expect(pod.spec!.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  });

  test('is Ready only once the operator admitted it (the readiness gate)', () => {
    expect(pod.spec!.readinessGates).toEqual([{ conditionType: 'siskin.dev/admitted' }]);
  });

  test('spreads its replicas over nodes and zones without ever leaving one unscheduled for it', () => {
    expect(pod.spec!.topologySpreadConstraints).toEqual(
      ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'].map((topologyKey) => ({ maxSkew: 1, topologyKey, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: d.spec!.selector.matchLabels } })),
    );
  });

  test('is deterministic and carries no role, so re-applying or promoting never restarts pods', () => {
    const again = servingDeployment(owner, base({ serving: { batching: { enabled: true, maxBatchSize: 16 }, resources: { requests: { cpu: 1, memory: '256Mi' } } } }), rev, 3, { defaultImage: IMAGE });
    expect(JSON.stringify(again)).toBe(JSON.stringify(d));
    expect(JSON.stringify(pod)).not.toMatch(/stable|canary/);
  });

  test('mounts a pvc:// model read-only and points the server at the file', () => {
    const pvc = servingDeployment(owner, base({ model: { uri: 'pvc://models/iris/1/model.onnx', version: '1' } }), 'abc', 1, { defaultImage: IMAGE });
    const spec = pvc.spec!.template.spec!;
    expect(spec.volumes).toContainEqual({ name: 'model-models', persistentVolumeClaim: { claimName: 'models', readOnly: true } });
    expect(spec.containers[0]!.volumeMounts).toContainEqual({ name: 'model-models', mountPath: '/models/model/models', readOnly: true });
    expect(spec.containers[0]!.env).toContainEqual({ name: 'SISKIN_MODEL_URI', value: 'file:///models/model/models/iris/1/model.onnx' });
  });

  test.each([
    ['https://m/x.onnx', 'https://m/x.onnx'],
    ['file:///opt/m.onnx', 'file:///opt/m.onnx'],
    ['pvc://claim-a/dir/m.onnx', 'file:///models/profile/claim-a/dir/m.onnx'],
  ])('resolveModelUri(%s) → %s', (uri, want) => {
    expect(resolveModelUri(uri, 'profile').uri).toBe(want);
  });
});

describe('disruptionBudgets', () => {
  test('one per revision above one replica, selecting exactly that revision\'s pods, owned by the ModelDeployment', () => {
    const budgets = disruptionBudgets(owner, { aaa: 3, bbb: 1, ccc: 0, ddd: 2 });
    expect(budgets.map((b) => b.metadata!.name)).toEqual(['iris-aaa', 'iris-ddd']);
    const served = servingDeployment(owner, base(), 'aaa', 3, { defaultImage: IMAGE });
    expect(budgets[0]!.spec!.selector!.matchLabels).toEqual(served.spec!.selector.matchLabels);
    expect(budgets[0]!.metadata!.ownerReferences).toEqual(served.metadata!.ownerReferences);
    expect(budgets[0]!.metadata!.labels).toMatchObject({ [LABEL_MODEL_DEPLOYMENT]: 'iris', [LABEL_REVISION]: 'aaa' });
  });
  test('lets one pod go at a time, and never counts a pod that is not Ready against a drain', () => {
    const [b] = disruptionBudgets(owner, { aaa: 5 });
    expect(b!.spec).toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
    expect(b!.spec!.minAvailable).toBeUndefined();
  });
});

describe('servingServices', () => {
  test('one Service over all revisions, one for stable, one for canary', () => {
    const [all, stable, canary] = servingServices(owner, { stable: 'aaa', canary: 'bbb' });
    expect(all!.metadata!.name).toBe('iris');
    expect(all!.spec!.selector).toEqual({ [LABEL_MODEL_DEPLOYMENT]: 'iris' });
    expect(stable!.spec!.selector).toEqual({ [LABEL_MODEL_DEPLOYMENT]: 'iris', [LABEL_REVISION]: 'aaa' });
    expect(canary!.metadata!.name).toBe('iris-canary');
    expect(canary!.spec!.selector).toEqual({ [LABEL_MODEL_DEPLOYMENT]: 'iris', [LABEL_REVISION]: 'bbb' });
  });
  test('the stable Service is headless; the canary one has a virtual IP for shadow traffic', () => {
    expect(servingServices(owner, { stable: 'aaa' }).map((s) => s.spec!.clusterIP ?? 'allocated')).toEqual(['allocated', 'None', 'allocated']);
  });
  test('a Service with no revision selects nothing rather than everything', () => {
    const [, , canary] = servingServices(owner, { stable: 'aaa' });
    expect(canary!.spec!.selector![LABEL_REVISION]).toBe('none');
  });
});

// The ModelDeployment API on a real API server: the generated CRD installs, defaults are
// applied, every cross-field rule rejects a bad spec with the field's path, kubectl explain
// and get show what a platform engineer expects, and the status and scale subresources work.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { GROUP, PLURAL, VERSION } from '../../../operator/api/schema.ts';
import { startCluster, type LocalCluster } from '../../cluster/index.ts';

const NS = 'default';
const SHA = 'a'.repeat(64);

function md(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'ModelDeployment', metadata: { name }, spec };
}
const model = { uri: 'https://models.example/iris/1/model.onnx', sha256: SHA, version: '1' };

describe('ModelDeployment API', () => {
  let cluster: LocalCluster;
  let custom: CustomObjectsApi;
  const create = (body: Record<string, unknown>): Promise<unknown> =>
    custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, body });

  beforeAll(async () => {
    cluster = await startCluster();
    await cluster.kubectlOk(['apply', '--server-side', '-f', fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url))]);
    await cluster.kubectlOk(['wait', '--for=condition=Established', `crd/${PLURAL}.${GROUP}`, '--timeout=60s']);
    custom = cluster.kubeConfig().makeApiClient(CustomObjectsApi);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test('a minimal spec is accepted and the API server fills in the defaults', async () => {
    await create(md('minimal', { model: { uri: 'file:///models/iris.onnx', version: 'v1' } }));
    const got = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'minimal' })) as {
      spec: { replicas: number; serving: { workers: number }; rollout: { steps: unknown[]; schemaCheck: string; trafficRouting: { type: string }; progressDeadlineSeconds: number } };
    };
    expect(got.spec.replicas).toBe(1);
    expect(got.spec.serving.workers).toBe(1);
    expect(got.spec.rollout).toEqual({
      steps: [{ setWeight: 20 }, { pause: { durationSeconds: 60 } }, { setWeight: 50 }, { pause: { durationSeconds: 60 } }],
      schemaCheck: 'Strict',
      trafficRouting: { type: 'ReplicaRatio' },
      progressDeadlineSeconds: 600,
    });
  });

  test('a full spec with every section is accepted', async () => {
    await create(
      md('full', {
        model: { ...model, name: 'iris', referenceProfile: { uri: 'pvc://profiles/iris/1.json' } },
        modelCard: { owner: 'team-ml', intendedUse: 'demo', riskTier: 'high', evaluationMetrics: { auc: 0.91 } },
        serving: { image: 'siskin.local/siskin:dev', resources: { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: 1 } }, batching: { enabled: true } },
        autoscaling: { minReplicas: 1, maxReplicas: 5, targetRequestsPerSecond: 100 },
        rollout: {
          steps: [{ setWeight: 10 }, { analysis: { durationSeconds: 60 } }, { setWeight: 50 }, { pause: {} }],
          trafficRouting: { type: 'GatewayAPI', httpRoute: 'iris' },
          analysis: {
            metrics: [
              { name: 'p99', kind: 'LatencyQuantile', quantile: 0.99, maxRelativeToStable: 1.2 },
              { name: 'errors', kind: 'ErrorRate', max: 0.01 },
              { name: 'custom', kind: 'Custom', query: 'sum(rate(x{revision="{{revision}}"}[1m]))', min: 1 },
            ],
          },
          freezeWindows: [
            { name: 'black-friday', start: '2026-11-27T00:00:00Z', end: '2026-11-30T00:00:00Z' },
            { name: 'weekends', days: ['Sat', 'Sun'], from: '00:00', to: '24:00' },
          ],
        },
        monitoring: { drift: { action: 'Retrain' }, retraining: { jobTemplate: { template: { spec: { containers: [] } } } } },
      }),
    );
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['an https URI without sha256', { model: { uri: 'https://m.example/a.onnx', version: '1' } }, /spec\.model\.sha256: Required value: sha256 is required when the model is fetched over http\(s\)/],
    ['an unsupported URI scheme', { model: { uri: 's3://bucket/a.onnx', version: '1' } }, /spec\.model\.uri: Invalid value: "s3:\/\/bucket\/a\.onnx": spec\.model\.uri in body should match/],
    ['a malformed sha256', { model: { ...model, sha256: 'xyz' } }, /spec\.model\.sha256: Invalid value: "xyz"/],
    ['a missing version', { model: { uri: 'file:///m.onnx' } }, /spec\.model\.version: Required value/],
    ['a weight above 100', { model, rollout: { steps: [{ setWeight: 150 }] } }, /spec\.rollout\.steps\[0\]\.setWeight: Invalid value: 150: spec\.rollout\.steps\[0\]\.setWeight in body should be less than or equal to 100/],
    ['a negative weight', { model, rollout: { steps: [{ setWeight: -1 }] } }, /spec\.rollout\.steps\[0\]\.setWeight: Invalid value: -1/],
    ['decreasing step weights', { model, rollout: { steps: [{ setWeight: 50 }, { setWeight: 20 }] } }, /spec\.rollout\.steps: Invalid value: "array": setWeight values must increase from step to step/],
    ['a repeated step weight', { model, rollout: { steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 20 }] } }, /spec\.rollout\.steps: Invalid value: "array": setWeight values must increase/],
    ['a step with two actions', { model, rollout: { steps: [{ setWeight: 20, pause: {} }] } }, /spec\.rollout\.steps\[0\]: Invalid value: "object": a step sets exactly one of setWeight, pause, analysis, shadow or setHeaderRoute/],
    ['a header name with a space', { model, rollout: { trafficRouting: { type: 'GatewayAPI', httpRoute: 'iris' }, steps: [{ setHeaderRoute: { name: 'testers', match: [{ header: 'x canary', value: 'true' }] } }] } }, /spec\.rollout\.steps\[0\]\.setHeaderRoute\.match\[0\]\.header: Invalid value: "x canary"/],
    ['a header route name that is no DNS label', { model, rollout: { trafficRouting: { type: 'GatewayAPI', httpRoute: 'iris' }, steps: [{ setHeaderRoute: { name: 'Testers', match: [{ header: 'x-canary', value: 'true' }] } }] } }, /spec\.rollout\.steps\[0\]\.setHeaderRoute\.name: Invalid value: "Testers"/],
    ['nine conditions in one header route', { model, rollout: { trafficRouting: { type: 'GatewayAPI', httpRoute: 'iris' }, steps: [{ setHeaderRoute: { name: 'testers', match: Array.from({ length: 9 }, (_, i) => ({ header: `x-h${i}`, value: 'v' })) } }] } }, /spec\.rollout\.steps\[0\]\.setHeaderRoute\.match: Too many: 9: must have at most 8 items/],
    ['minReplicas above maxReplicas', { model, autoscaling: { minReplicas: 5, maxReplicas: 2, targetRequestsPerSecond: 10 } }, /spec\.autoscaling\.minReplicas: Invalid value: "object": minReplicas must not exceed maxReplicas/],
    ['autoscaling without a target', { model, autoscaling: { maxReplicas: 2 } }, /spec\.autoscaling: Required value: set targetRequestsPerSecond and\/or targetP99LatencySeconds/],
    ['an unknown metric kind', { model, rollout: { analysis: { metrics: [{ name: 'm', kind: 'Vibes', max: 1 }] } } }, /spec\.rollout\.analysis\.metrics\[0\]\.kind: Unsupported value: "Vibes": supported values: "LatencyQuantile"/],
    ['a Custom metric without a query', { model, rollout: { analysis: { metrics: [{ name: 'm', kind: 'Custom', max: 1 }] } } }, /spec\.rollout\.analysis\.metrics\[0\]\.query: Required value: a Custom metric needs a query/],
    ['a metric without any bound', { model, rollout: { analysis: { metrics: [{ name: 'm', kind: 'ErrorRate' }] } } }, /spec\.rollout\.analysis\.metrics\[0\]: Required value: a metric needs at least one bound/],
    ['two metrics with one name', { model, rollout: { analysis: { metrics: [{ name: 'm', kind: 'ErrorRate', max: 1 }, { name: 'm', kind: 'ErrorRate', max: 2 }] } } }, /spec\.rollout\.analysis\.metrics\[1\]: Duplicate value/],
    ['GatewayAPI routing without a route', { model, rollout: { trafficRouting: { type: 'GatewayAPI' } } }, /spec\.rollout\.trafficRouting\.httpRoute: Required value: GatewayAPI routing needs httpRoute/],
    ['a Prometheus address with a fragment (fetch would query what precedes it)', { model, monitoring: { prometheusURL: 'http://internal-svc/admin/secret#' } }, /spec\.monitoring\.prometheusURL: Invalid value: "http:\/\/internal-svc\/admin\/secret#"/],
    ['a Prometheus address with credentials', { model, monitoring: { prometheusURL: 'http://user:pw@prometheus:9090' } }, /spec\.monitoring\.prometheusURL: Invalid value: "http:\/\/user:pw@prometheus:9090"/],
    ['a Prometheus address with a query', { model, monitoring: { prometheusURL: 'http://prometheus:9090/?x=1' } }, /spec\.monitoring\.prometheusURL: Invalid value/],
    ['a freeze window that ends before it starts', { model, rollout: { freezeWindows: [{ name: 'w', start: '2026-12-02T00:00:00Z', end: '2026-12-01T00:00:00Z' }] } }, /spec\.rollout\.freezeWindows\[0\]\.end: Invalid value: "object": end must be after start/],
    ['a half-specified freeze window', { model, rollout: { freezeWindows: [{ name: 'w', days: ['Mon'] }] } }, /spec\.rollout\.freezeWindows\[0\]: Invalid value: "object": a freeze window is either absolute/],
    ['drift action Retrain without a job template', { model, monitoring: { drift: { action: 'Retrain' } } }, /spec\.monitoring\.retraining: Required value: drift action Retrain needs retraining\.jobTemplate/],
    ['an unknown risk tier', { model, modelCard: { owner: 'me', riskTier: 'extreme' } }, /spec\.modelCard\.riskTier: Unsupported value: "extreme"/],
    ['negative replicas', { model, replicas: -1 }, /spec\.replicas: Invalid value: -1/],
    // The serving runtime's rule for SISKIN_MODEL_NAME: 1-64 characters, a letter or digit at both ends.
    ['a model name ending in "."', { model: { ...model, name: 'iris.' } }, /spec\.model\.name: Invalid value: "iris\.": spec\.model\.name in body should match/],
    ['a model name ending in "_"', { model: { ...model, name: 'iris_' } }, /spec\.model\.name: Invalid value: "iris_"/],
    ['a model name of 65 characters', { model: { ...model, name: 'm'.repeat(65) } }, /spec\.model\.name: Invalid value: "m{65}"/],
  ])('rejects %s, naming the field', async (_what, spec, message) => {
    const r = await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(md('bad', spec)) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  test('kubectl explain shows the field descriptions', async () => {
    const out = await cluster.kubectlOk(['explain', 'modeldeployment.spec.model']);
    expect(out).toContain('Hex SHA-256 digest of the file');
    expect(out).toMatch(/uri\s+<string> -required-/);
    const md2 = await cluster.kubectlOk(['explain', 'md.spec.rollout.steps']);
    expect(md2).toContain('Canary steps, in order');
  });

  test('the status subresource feeds the printer columns, and kubectl scale drives spec.replicas', async () => {
    await custom.patchNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: PLURAL,
      name: 'minimal',
      body: [
        {
          op: 'add',
          path: '/status',
          value: {
            observedGeneration: 1,
            phase: 'Progressing',
            stable: { name: 'abc', version: 'v1', uri: 'file:///models/iris.onnx' },
            canary: { name: 'def', version: 'v2', uri: 'file:///models/iris2.onnx' },
            canaryWeight: 20,
            replicas: 2,
            readyReplicas: 2,
            selector: 'siskin.dev/model-deployment=minimal',
          },
        },
      ],
    });
    const table = await cluster.kubectlOk(['get', 'md', 'minimal']);
    const [header, row] = table.trim().split('\n');
    expect(header!.split(/\s+/)).toEqual(['NAME', 'STABLE', 'CANARY', 'WEIGHT', 'PHASE', 'READY', 'AGE']);
    expect(row!.split(/\s+/).slice(0, 6)).toEqual(['minimal', 'v1', 'v2', '20', 'Progressing', '2']);
    expect(await cluster.kubectlOk(['get', 'siskin'])).toContain('minimal');

    await cluster.kubectlOk(['scale', 'md/minimal', '--replicas=3']);
    expect(await cluster.kubectlOk(['get', 'md', 'minimal', '-o', 'jsonpath={.spec.replicas}'])).toBe('3');
    const scale = JSON.parse(await cluster.kubectlOk(['get', '--raw', `/apis/${GROUP}/${VERSION}/namespaces/${NS}/${PLURAL}/minimal/scale`])) as {
      status: { replicas: number; selector: string };
    };
    expect(scale.status).toEqual({ replicas: 2, selector: 'siskin.dev/model-deployment=minimal' });
  });
});

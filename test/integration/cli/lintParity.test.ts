// `kubectl siskin lint` refuses exactly what the API server refuses, naming the same field. Every
// document goes to a real API server carrying the generated CRD (a server-side dry run with
// kubectl's default strict field validation: admission, defaulting, the schema and CEL all
// run, nothing is stored) and through lint's own judgement; the two must agree document by
// document and field by field. The documents: every example in examples/, the shared table of
// cross-field rules (each CEL rule broken once), and schema errors of every kind.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { GROUP, KIND, PLURAL, VERSION } from '../../../operator/api/schema.ts';
import { lintModelDeployment } from '../../../operator/cli/lint.ts';
import { startCluster, type LocalCluster } from '../../cluster/index.ts';
import { RULE_CASES } from '../../fixtures/specRules.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');

type Obj = Record<string, unknown>;

/** The ModelDeployments of every example file. */
const examples: [string, Obj][] = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((f) =>
    parseAllDocuments(readFileSync(join(EXAMPLES, f), 'utf8'))
      .map((d) => d.toJS() as Obj)
      .filter((o) => o.kind === KIND)
      .map((o): [string, Obj] => [`examples/${f}`, o]),
  );

const SHA = 'e7d57e4b12b7b993d2ebfc1e0df5e8343433af0319a61493412d9f3e9c3a7000';
const model = { uri: 'https://models.example/iris/1/model.onnx', sha256: SHA, version: '1' };
const md = (spec: Obj, name = 'lint-case'): Obj => ({ apiVersion: `${GROUP}/${VERSION}`, kind: KIND, metadata: { name }, spec });

/** Schema errors (not CEL): each spec broken once. */
const SCHEMA_CASES: [string, Obj][] = [
  ['a string where an integer belongs', md({ model, replicas: 'four' })],
  ['a number where a string belongs', md({ model: { ...model, version: 2 } })],
  ['a fractional integer', md({ model, replicas: 1.5 })],
  ['a negative replica count', md({ model, replicas: -1 })],
  ['a weight above 100', md({ model, rollout: { steps: [{ setWeight: 150 }] } })],
  ['a batch size above its maximum', md({ model, serving: { batching: { maxBatchSize: 5000 } } })],
  ['a sampling rate above 1', md({ model, serving: { payloadLogSampleRate: 1.5 } })],
  ['an unknown schemaCheck mode', md({ model, rollout: { schemaCheck: 'Lenient' } })],
  ['an unknown metric kind', md({ model, rollout: { analysis: { metrics: [{ name: 'x', kind: 'Throughput', max: 1 }] } } })],
  ['a digest that is not hex', md({ model: { ...model, sha256: 'not-a-digest' } })],
  ['a URI of an unknown scheme', md({ model: { ...model, uri: 's3://bucket/model.onnx' } })],
  ['an empty version', md({ model: { ...model, version: '' } })],
  ['a freeze window start that is no timestamp', md({ model, rollout: { freezeWindows: [{ name: 'w', start: 'tomorrow', end: '2026-12-01T00:00:00Z' }] } })],
  ['a weekly window time out of range', md({ model, rollout: { freezeWindows: [{ name: 'w', days: ['Mon'], from: '25:00', to: '26:00' }] } })],
  ['an unknown day', md({ model, rollout: { freezeWindows: [{ name: 'w', days: ['Funday'], from: '01:00', to: '02:00' }] } })],
  ['a missing spec.model', md({ replicas: 2 })],
  ['a missing model.uri', md({ model: { sha256: SHA, version: '1' } })],
  ['a missing model.version', md({ model: { uri: model.uri, sha256: SHA } })],
  ['a missing metric name', md({ model, rollout: { analysis: { metrics: [{ kind: 'ErrorRate', max: 0.01 }] } } })],
  ['a list where an object belongs', md({ model, rollout: [] })],
  ['a string where a list belongs', md({ model, rollout: { steps: 'all' } })],
  ['a version longer than its maximum', md({ model: { ...model, version: 'v'.repeat(64) } })],
  ['a negative replica count and a broken rule (a bound does not stop CEL)', md({ model: { uri: model.uri, version: '1' }, replicas: -1 })],
  ['a wrong type and a broken rule (a wrong type stops CEL)', md({ model: { uri: model.uri, version: '1' }, replicas: 'two' })],
  ['an unknown top-level spec field', md({ model, replica: 3 })],
  ['an unknown field in model', md({ model: { ...model, url: 'https://x.example/m.onnx' } })],
  ['an unknown field in a step', md({ model, rollout: { steps: [{ setWeight: 10, weight: 10 }] } })],
  ['an unknown field beside a wrong type (the API server reports the unknown field alone)', md({ model: { ...model, url: 'x' }, replicas: 'two' })],
  ['an unknown field in a list of pass-through containers\' restricted part', md({ model: { ...model, referenceProfile: { uri: 'pvc://store/p.json' } }, monitoring: { drift: { action: 'Retrain' }, retraining: { jobTemplate: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 't', image: 'i', securityContext: { privileged: false, runAsUser: 1000 } }] } } } } } })],
  ['an unknown field in a metric', md({ model, rollout: { analysis: { metrics: [{ name: 'e', kind: 'ErrorRate', max: 0.01, threshold: 1 }] } } })],
  [
    'a field of a pass-through container (kept, like any Container field)',
    md({
      model: { ...model, referenceProfile: { uri: 'pvc://store/p.json' } },
      monitoring: { drift: { action: 'Retrain' }, retraining: { jobTemplate: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 't', image: 'i', env: [{ name: 'A', value: 'b' }] }] } } } } },
    }),
  ],
  ['a quantity that is not one (the CRD types it int-or-string)', md({ model, serving: { resources: { limits: { cpu: 'lots' } } } })],
  ['a well-formed quantity', md({ model, serving: { resources: { limits: { cpu: '500m', memory: '1Gi' }, requests: { cpu: 1 } } } })],
  ['a wrong apiVersion', { ...md({ model }), apiVersion: `${GROUP}/v1` }],
];

const RULES: [string, Obj][] = RULE_CASES.map((c, i) => [`rule: ${c.what}`, md(c.spec, c.name ?? `rule-case-${i}`)]);

let cluster: LocalCluster;
let custom: CustomObjectsApi;

/** The fields the API server names when it refuses the object; [] when it admits it. */
async function apiServerVerdict(obj: Obj): Promise<string[]> {
  const [group, version] = String(obj.apiVersion).split('/');
  try {
    await custom.createNamespacedCustomObject({ group: group!, version: version!, plural: PLURAL, namespace: 'default', body: obj, dryRun: 'All', fieldValidation: 'Strict' });
    return [];
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    if (typeof e.code !== 'number') throw err;
    // An unserved version is no object at all: kubectl says "no matches for kind", lint names apiVersion.
    if (e.code === 404) return ['apiVersion'];
    const status = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: string; details?: { causes?: { field?: string; message?: string }[] } };
    // "<nil>" is the note that CEL was skipped for schema errors; ".spec.replicas" is the scale
    // subresource's own check of the same field.
    const fields = (status.details?.causes ?? [])
      .map((c) => (c.field ?? '').replace(/^\./, ''))
      .filter((f) => f !== '' && f !== '<nil>');
    // Strict field validation reports unknown fields in the message: `unknown field "spec.x"`.
    for (const m of (status.message ?? '').matchAll(/unknown field "([^"]+)"/g)) fields.push(m[1]!);
    if (fields.length === 0) fields.push(`(${e.code}: ${status.message ?? ''})`);
    return [...new Set(fields)].sort();
  }
}

/** The fields lint names as errors; [] when it passes the document. */
function lintVerdict(obj: Obj): string[] {
  return [...new Set(lintModelDeployment(obj).errors.map((e) => e.field))].sort();
}

beforeAll(async () => {
  cluster = await startCluster({ crdFiles: [join(ROOT, CRD_FILE)] });
  custom = cluster.kubeConfig().makeApiClient(CustomObjectsApi);
}, 180_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('lint refuses exactly what the API server refuses, naming the same fields', () => {
  test('the tables cover every example, every CEL rule and each kind of schema error', () => {
    expect(examples.length).toBeGreaterThanOrEqual(10);
    expect(RULE_CASES.filter((c) => c.rejects && !c.rejects.operatorOnly).length).toBeGreaterThanOrEqual(25);
    expect(SCHEMA_CASES.length).toBeGreaterThanOrEqual(25);
  });

  test.each(examples)('%s is admitted by both', async (_file, obj) => {
    expect(await apiServerVerdict(obj)).toEqual([]);
    expect(lintVerdict(obj)).toEqual([]);
  });

  test.each([...RULES, ...SCHEMA_CASES])('%s', async (_what, obj) => {
    const api = await apiServerVerdict(obj);
    expect(lintVerdict(obj)).toEqual(api);
  });

  // The checks CEL cannot make: the API server admits these, lint passes them with a warning
  // naming the field (the operator's parse refuses them and says so in status).
  test.each(RULE_CASES.filter((c) => c.rejects?.operatorOnly).map((c): [string, string, Obj] => [c.what, c.rejects!.field, md(c.spec)]))('operator-only: %s is a warning at %s', async (_what, field, obj) => {
    expect(await apiServerVerdict(obj)).toEqual([]);
    const r = lintModelDeployment(obj);
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => w.field)).toEqual([field]);
  });
});

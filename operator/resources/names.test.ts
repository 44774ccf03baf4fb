// The longest ModelDeployment name admission accepts (MAX_NAME_LENGTH in operator/api/schema.ts)
// is derived here from the builders themselves: every name and label value of every object the
// operator builds for a ModelDeployment must be one the API server accepts, or the apply is
// refused for ever after admission let the object in.
import { describe, expect, test } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { MAX_NAME_LENGTH, modelDeploymentSpec } from '../api/schema.ts';
import { servingDeployment } from './deployment.ts';
import { retrainJob } from './retrainJob.ts';
import { routingConfigMap } from './routingConfig.ts';
import { servingServices } from './services.ts';

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const REVISION = 'abcdef0123';

/** Every object the operator builds for a ModelDeployment of this name. */
function builtFor(name: string): KubernetesObject[] {
  const owner = { name, namespace: 'ml', uid: 'u' };
  const spec = modelDeploymentSpec.parse({ model: { uri: 'file:///models/m.onnx', version: '1' } });
  const job = retrainJob(
    { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'train', image: 'trainer:1' }] } } },
    { owner, modelName: name, revision: REVISION, version: '1', uri: 'file:///models/m.onnx', reason: 'DataDrift', message: 'm', slot: 29_000_000 },
  );
  return [servingDeployment(owner, spec, REVISION, 1, { defaultImage: 'siskin:dev' }), ...servingServices(owner, { stable: REVISION, canary: REVISION }), routingConfigMap(owner), job];
}

/** What the API server would refuse in these objects, as "Kind/name: why". */
function refusals(objects: KubernetesObject[]): string[] {
  const out: string[] = [];
  for (const o of objects) {
    const name = o.metadata?.name ?? '';
    // Services are DNS-1035 labels; a Job's name becomes its pods' job-name label value.
    const rule = o.kind === 'Service' || o.kind === 'Job' ? DNS_1035_LABEL : DNS_1123_SUBDOMAIN;
    if (!rule.test(name)) out.push(`${o.kind}/${name}: invalid name`);
    const template = (o as { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } }).spec?.template;
    for (const [k, v] of Object.entries({ ...o.metadata?.labels, ...template?.metadata?.labels })) {
      if (!LABEL_VALUE.test(v)) out.push(`${o.kind}/${name}: label ${k}=${v}`);
    }
  }
  return out;
}

describe('the longest ModelDeployment name', () => {
  test('is the longest for which every built name and label is valid, as admission enforces', () => {
    const fits = (n: number): boolean => refusals(builtFor('m'.repeat(n))).length === 0;
    let longest = 0;
    while (fits(longest + 1)) longest++;
    expect(longest).toBe(MAX_NAME_LENGTH);
  });

  test('one character more breaks the canary and stable Services first', () => {
    expect(refusals(builtFor('m'.repeat(MAX_NAME_LENGTH + 1)))).toEqual([
      `Service/${'m'.repeat(MAX_NAME_LENGTH + 1)}-stable: invalid name`,
      `Service/${'m'.repeat(MAX_NAME_LENGTH + 1)}-canary: invalid name`,
    ]);
  });

  test.each(['a', 'iris', `m${'-a'.repeat(27)}b`, 'fraud-detector-v2'])('%s builds objects the API server accepts', (name) => {
    expect(refusals(builtFor(name))).toEqual([]);
  });
});

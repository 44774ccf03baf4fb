// The routing ConfigMap: it holds the contract's routing file where the serving Deployment
// mounts it, and the same input always gives the same bytes. That a serving pod parses it is
// test/contract/routing.test.ts's to show (operator code never imports the serving runtime).
import { describe, expect, test } from '@jest/globals';
import { ROUTING_FILE_KEY, SHADOW_DEFAULTS, parseRoutingDocument } from '../../contract/routing.ts';
import { SERVING_ENV } from '../../contract/servingEnv.ts';
import { modelDeploymentSpec } from '../api/schema.ts';
import { routingConfigMapName, servingDeployment, type Owner } from './deployment.ts';
import { LABEL_MODEL_DEPLOYMENT } from './labels.ts';
import { routingConfigMap } from './routingConfig.ts';

const owner: Owner = { name: 'iris', namespace: 'ml', uid: '1234-uid' };
const shadow = { url: 'http://iris-canary.ml.svc:80', sampleRate: 0.2, revision: 'b7c1d2e3f4' };
const file = (cm: ReturnType<typeof routingConfigMap>): string => cm.data![ROUTING_FILE_KEY]!;

describe('routingConfigMap', () => {
  test('is named, labelled and owned like everything else the ModelDeployment owns', () => {
    const cm = routingConfigMap(owner);
    expect(cm.metadata).toEqual({
      name: routingConfigMapName('iris'),
      namespace: 'ml',
      labels: expect.objectContaining({ [LABEL_MODEL_DEPLOYMENT]: 'iris' }),
      ownerReferences: [expect.objectContaining({ kind: 'ModelDeployment', name: 'iris', uid: '1234-uid', controller: true })],
    });
    expect(Object.keys(cm.data!)).toEqual([ROUTING_FILE_KEY]);
  });

  test('lives at the key the serving Deployment mounts and points the routing file setting at', () => {
    const spec = modelDeploymentSpec.parse({ model: { uri: 'https://m.example/iris/1.onnx', sha256: 'a'.repeat(64), version: '1' } });
    const pod = servingDeployment(owner, spec, 'abc', 1, { defaultImage: 'siskin.local/siskin:dev' }).spec!.template.spec!;
    const volume = pod.volumes!.find((v) => v.configMap?.name === routingConfigMapName('iris'))!;
    const mount = pod.containers[0]!.volumeMounts!.find((m) => m.name === volume.name)!;
    const env = pod.containers[0]!.env!.find((e) => e.name === SERVING_ENV.routingFile)!;
    expect(env.value).toBe(`${mount.mountPath}/${ROUTING_FILE_KEY}`);
  });

  test('without a shadow says so explicitly, and a serving pod reads that as no mirroring', () => {
    expect(file(routingConfigMap(owner))).toBe('{"shadow":null}\n');
    expect(parseRoutingDocument(JSON.parse(file(routingConfigMap(owner))))).toBeUndefined();
  });

  test('with a shadow is valid under the contract, its defaults filled in', () => {
    expect(parseRoutingDocument(JSON.parse(file(routingConfigMap(owner, shadow))))).toEqual({ ...shadow, ...SHADOW_DEFAULTS });
  });

  test('is deterministic: key order of the input and extra fields do not change a byte', () => {
    const shuffled = { revision: shadow.revision, extra: 'ignored', sampleRate: shadow.sampleRate, url: shadow.url };
    expect(file(routingConfigMap(owner, shuffled))).toBe(file(routingConfigMap(owner, shadow)));
    expect(file(routingConfigMap(owner, shadow))).toBe('{"shadow":{"url":"http://iris-canary.ml.svc:80","sampleRate":0.2,"revision":"b7c1d2e3f4"}}\n');
    expect(routingConfigMap(owner, shadow)).toEqual(routingConfigMap(owner, shadow));
  });
});

// What counts as a live object still holding the operator's desired content.
import { describe, expect, test } from '@jest/globals';
import type { KubernetesObject, V1ConfigMap, V1Service } from '@kubernetes/client-node';
import { covers, liveHolds } from './liveContent.ts';

const desiredConfigMap: V1ConfigMap = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'iris-routing', namespace: 'ml', labels: { app: 'iris' } },
  data: { 'routing.json': '{"shadow":null}\n' },
};
const desiredService: V1Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'iris', namespace: 'ml', labels: { app: 'iris' } },
  spec: { selector: { app: 'iris', revision: 'a' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
};
/** The desired object as the API server might hold it after `change`. */
function served<T>(desired: T, change: (live: T) => void): T {
  const live = structuredClone(desired);
  change(live);
  return live;
}

describe('covers', () => {
  test.each([
    ['equal scalars', 1, 1, true],
    ['different scalars', 'a', 'b', false],
    ['an object with extra live keys', { a: 1, b: 2 }, { a: 1 }, true],
    ['an object missing a desired key', { b: 2 }, { a: 1 }, false],
    ['arrays of a different length', [1, 2], [1], false],
    ['arrays whose elements cover', [{ a: 1, x: 0 }], [{ a: 1 }], true],
    ['a desired object where live has a scalar', 'x', { a: 1 }, false],
    ['an empty desired map the API server dropped', undefined, {}, true],
    ['a desired map the live object lacks', undefined, { a: 1 }, false],
  ])('%s', (_what, live, desired, expected) => {
    expect(covers(live, desired)).toBe(expected);
  });
});

describe('liveHolds', () => {
  test.each<[string, (live: V1ConfigMap) => void, boolean]>([
    ['as a list returns it: no kind, server fields, the applied hash', (o) => {
      delete o.kind;
      o.metadata = { ...o.metadata, uid: 'u1', resourceVersion: '7', annotations: { 'siskin.dev/applied-hash': 'abc' } };
    }, true],
    ['its data edited by hand', (o) => (o.data = { 'routing.json': '{"shadow":{"url":"http://10.0.0.9"}}' }), false],
    ['its key removed by hand', (o) => (o.data = {}), false],
    ['its label removed by hand', (o) => (o.metadata = { ...o.metadata, labels: {} }), false],
  ])('a ConfigMap %s: %s', (_what, change, expected) => {
    expect(liveHolds(served(desiredConfigMap, change) as KubernetesObject, desiredConfigMap as KubernetesObject)).toBe(expected);
  });

  test.each<[string, (live: V1Service) => void, boolean]>([
    ['with the fields the API server defaults', (o) => (o.spec = { ...o.spec, clusterIP: '10.96.0.4', type: 'ClusterIP', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] }), true],
    ['whose selector was edited by hand', (o) => (o.spec = { ...o.spec, selector: { app: 'iris', revision: 'b' } }), false],
    ['with a port added by hand', (o) => (o.spec = { ...o.spec, ports: [...(o.spec?.ports ?? []), { port: 22 }] }), false],
  ])('a Service %s: %s', (_what, change, expected) => {
    expect(liveHolds(served(desiredService, change) as KubernetesObject, desiredService as KubernetesObject)).toBe(expected);
  });
});

// Owner mapping: only a controller reference of the right group and kind maps to a key.
import { describe, expect, test } from '@jest/globals';
import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import { controllerOwnerKey } from './ownerRefs.ts';
import { objectKey, splitKey } from './reconcile.ts';

const owner = { apiVersion: 'siskin.dev/v1alpha1', kind: 'ModelDeployment' };

function owned(refs: Array<Partial<V1OwnerReference>>, namespace = 'models'): KubernetesObject {
  return {
    metadata: {
      name: 'fraud-abc123',
      namespace,
      ownerReferences: refs.map((r) => ({ apiVersion: 'siskin.dev/v1alpha1', kind: 'ModelDeployment', name: 'fraud', uid: 'u1', ...r })),
    },
  };
}

describe('controllerOwnerKey', () => {
  test.each([
    { why: 'controller owner of the kind', refs: [{ controller: true }], key: 'models/fraud' },
    { why: 'another version of the same group', refs: [{ controller: true, apiVersion: 'siskin.dev/v1beta1' }], key: 'models/fraud' },
    { why: 'a non-controller owner', refs: [{ controller: false }], key: undefined },
    { why: 'controller unset', refs: [{}], key: undefined },
    { why: 'same name, other kind', refs: [{ controller: true, kind: 'Deployment', apiVersion: 'apps/v1' }], key: undefined },
    { why: 'same kind, other group', refs: [{ controller: true, apiVersion: 'other.dev/v1alpha1' }], key: undefined },
    {
      why: 'the controller among several owners',
      refs: [
        { controller: false, name: 'not-me' },
        { controller: true, name: 'me' },
      ],
      key: 'models/me',
    },
    { why: 'no owner references', refs: [], key: undefined },
  ])('$why → $key', ({ refs, key }) => {
    expect(controllerOwnerKey(owned(refs), owner)).toBe(key);
  });
});

describe('keys', () => {
  test('namespaced and cluster-scoped objects round-trip through their key', () => {
    expect(objectKey({ metadata: { name: 'a', namespace: 'ns' } })).toBe('ns/a');
    expect(objectKey({ metadata: { name: 'node-1' } })).toBe('node-1');
    expect(splitKey('ns/a')).toEqual({ namespace: 'ns', name: 'a' });
    expect(splitKey('node-1')).toEqual({ namespace: '', name: 'node-1' });
    expect(() => objectKey({ metadata: {} })).toThrow(/no key/);
  });
});

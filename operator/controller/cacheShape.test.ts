// The cache keeps less of each object than the API server serves: what it keeps must be all
// the reconciler reads (observePod sees the same pod), and much smaller.
import { describe, expect, test } from '@jest/globals';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { podAsObserved, withoutManagedFields } from './cacheShape.ts';
import { observeDeployments, observePod } from './observe.ts';

const managedFields = [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: new Date('2026-12-01T00:00:00Z'), fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"serving"}': { '.': {}, 'f:image': {} } } } } }];

function pod(over: { deleting?: boolean; ip?: string; conditions?: { type: string; status: string }[] } = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'iris-abc-7f9-x2',
      namespace: 'ml',
      uid: 'u-1',
      resourceVersion: '123',
      labels: { 'siskin.dev/model-deployment': 'iris', 'siskin.dev/revision': 'abc' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'iris-abc-7f9', uid: 'rs-1', controller: true }],
      managedFields,
      ...(over.deleting ? { deletionTimestamp: new Date('2026-12-01T00:00:01Z') } : {}),
    },
    spec: { containers: [{ name: 'serving', image: 'siskin:1', env: Array.from({ length: 30 }, (_, i) => ({ name: `SISKIN_X${i}`, value: 'x'.repeat(40) })) }], readinessGates: [{ conditionType: 'siskin.dev/admitted' }] },
    status: {
      phase: 'Running',
      ...(over.ip ? { podIP: over.ip, podIPs: [{ ip: over.ip }] } : {}),
      conditions: (over.conditions ?? []).map((c) => ({ ...c, lastTransitionTime: new Date('2026-12-01T00:00:00Z'), reason: 'R', message: 'm'.repeat(80) })),
      containerStatuses: [{ name: 'serving', ready: true, restartCount: 0, image: 'siskin:1', imageID: 'sha256:x', started: true, state: { running: { startedAt: new Date() } } }],
    },
  };
}

describe('what the informer caches keep', () => {
  test.each([
    ['a running, admitted pod', pod({ ip: '198.51.100.7', conditions: [{ type: 'ContainersReady', status: 'True' }, { type: 'siskin.dev/admitted', status: 'True' }, { type: 'Ready', status: 'True' }] })],
    ['a pod refused by the gate', pod({ ip: '198.51.100.8', conditions: [{ type: 'ContainersReady', status: 'True' }, { type: 'siskin.dev/admitted', status: 'False' }] })],
    ['a pod not yet scheduled', pod()],
    ['a pod being deleted', pod({ deleting: true, ip: '198.51.100.9', conditions: [{ type: 'ContainersReady', status: 'False' }] })],
  ])('%s: observePod sees the same pod in a third of the bytes or less', (_name, p) => {
    const kept = podAsObserved(p);
    expect(observePod(kept)).toEqual(observePod(p));
    expect(kept.metadata).toMatchObject({ name: p.metadata!.name, namespace: 'ml', resourceVersion: '123', labels: p.metadata!.labels });
    expect(JSON.stringify(kept).length).toBeLessThan(JSON.stringify(p).length / 3);
  });

  test('withoutManagedFields drops managedFields and keeps everything else; an object without them is kept as is', () => {
    const d: V1Deployment = { metadata: { name: 'iris-abc', namespace: 'ml', generation: 2, labels: { 'siskin.dev/revision': 'abc' }, ownerReferences: [{ apiVersion: 'siskin.dev/v1alpha1', kind: 'ModelDeployment', name: 'iris', uid: 'md-1', controller: true }], managedFields }, spec: { replicas: 3, selector: {}, template: {} }, status: { replicas: 3, readyReplicas: 2, observedGeneration: 2 } };
    const kept = withoutManagedFields(d);
    expect(kept.metadata?.managedFields).toBeUndefined();
    expect({ ...kept, metadata: { ...kept.metadata, managedFields } }).toEqual(d);
    expect(observeDeployments([kept], 'md-1')).toEqual(observeDeployments([d], 'md-1'));
    expect(d.metadata?.managedFields).toBe(managedFields);
    const bare = { metadata: { name: 'x' } };
    expect(withoutManagedFields(bare)).toBe(bare);
  });
});

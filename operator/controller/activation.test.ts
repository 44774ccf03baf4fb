// The reconciler's facts for scale to zero: which Services have endpoints of their own (not
// the activator's), which activator slices exist, and which ports other models hold.
import { describe, expect, test } from '@jest/globals';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { needsActivator, observeSlices, recordedPorts } from './activation.ts';
import { specV } from './planFixtures.ts';

const slice = (name: string, service: string, manager: string, ready: (boolean | undefined)[]): V1EndpointSlice => ({
  metadata: { name, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': manager } },
  addressType: 'IPv4',
  endpoints: ready.map((r, i) => ({ addresses: [`198.51.100.${i + 1}`], conditions: r === undefined ? {} : { ready: r } })),
});

describe('observeSlices', () => {
  test('a Service has endpoints of its own when a slice not the activator’s has a ready (or unknown) endpoint', () => {
    const got = observeSlices([
      slice('iris-abc', 'iris', 'endpointslice-controller.k8s.io', [false, true]),
      slice('iris-stable-abc', 'iris-stable', 'endpointslice-controller.k8s.io', [false]),
      slice('iris-canary-abc', 'iris-canary', 'endpointslice-controller.k8s.io', [undefined]),
      slice('iris-activator', 'iris', 'siskin.dev', [true]),
      slice('iris-stable-activator', 'iris-stable', 'siskin.dev', [true]),
    ]);
    expect(got).toEqual({ servicesWithEndpoints: ['iris', 'iris-canary'], activatorSlices: ['iris-activator', 'iris-stable-activator'] });
  });
});

describe('recordedPorts', () => {
  test('the ports other models record in status, never the model’s own', () => {
    const md = (ns: string, name: string, port?: number): unknown => ({ metadata: { namespace: ns, name }, status: port === undefined ? {} : { activation: { port } } });
    expect(recordedPorts([md('ml', 'iris', 9400), md('ml', 'other', 9401), md('ops', 'iris', 9402), md('ml', 'up')], 'ml/iris')).toEqual(new Map([[9401, 'ml/other'], [9402, 'ops/iris']]));
  });
});

describe('needsActivator', () => {
  const auto = (min: number): ReturnType<typeof specV> => specV('1', { autoscaling: { minReplicas: min, maxReplicas: 2, targetRequestsPerSecond: 5 } });
  test.each<[string, ReturnType<typeof specV>, Parameters<typeof needsActivator>[1], boolean]>([
    ['minReplicas 0', auto(0), {}, true],
    ['minReplicas 1 and up', auto(1), { activation: { state: 'Active', since: '2026-01-01T00:00:00Z', reason: 'x' } }, false],
    ['minReplicas back to 1 while still at zero (until it woke)', auto(1), { activation: { state: 'ScaledToZero', since: '2026-01-01T00:00:00Z', reason: 'x', port: 9400 } }, true],
    ['no autoscaling', specV('1'), {}, false],
  ])('%s', (_what, spec, status, want) => expect(needsActivator(spec, status)).toBe(want));
});

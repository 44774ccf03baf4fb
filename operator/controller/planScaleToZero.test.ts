// plan() with autoscaling.minReplicas 0: an idle model goes to zero behind the activator,
// a held request wakes it, the Services come back to its pods only once one is ready, and a
// rollout started at zero wakes the stable revision and proceeds.
import { describe, expect, test } from '@jest/globals';
import type { ModelDeploymentStatus } from '../api/schema.ts';
import { plan, type Plan, type PlanInput } from './plan.ts';
import { condition, dep, iso, planInput, pod, reasons, rev, sizes, specV, stableStatus, T0 } from './planFixtures.ts';

const AUTO = { minReplicas: 0, maxReplicas: 4, targetRequestsPerSecond: 10, scaleToZeroAfterSeconds: 60 };
const spec = specV('1', { autoscaling: AUTO });
const ACTIVATOR = { address: '198.18.1.1', port: 9400, demand: false };
type Activation = NonNullable<ModelDeploymentStatus['activation']>;
const state = (s: Activation['state'], secondsAgo: number, reason = 'serving'): Activation => ({ state: s, since: iso(T0 - secondsAgo * 1000), reason, port: 9400 });

/** Selector-less Services (the activator's), by name. */
const selectorless = (p: Plan): string[] => p.services.filter((s) => !s.spec?.selector).map((s) => s.metadata!.name!);
const slices = (p: Plan): string[] => p.endpointSlices.map((s) => s.metadata!.name!);

function run(status: ModelDeploymentStatus, over: Partial<PlanInput> = {}): Plan {
  return plan(planInput({ spec, status, activator: ACTIVATOR, ...over }));
}

describe('scale to zero', () => {
  test('an idle model (no request over the idle period) goes to zero behind the activator, and is Ready', () => {
    const p = run(stableStatus('1', { activation: state('Active', 61) }), { observed: [dep('1', 1)], idleRequests: 0 });
    expect(sizes(p)).toEqual({ [rev('1')]: 0 });
    expect(p.status.activation).toMatchObject({ state: 'ScaledToZero', since: iso(T0), port: 9400 });
    expect(selectorless(p)).toEqual(['iris', 'iris-stable']);
    expect(slices(p)).toEqual(['iris-activator', 'iris-stable-activator']);
    expect(p.endpointSlices[0]).toMatchObject({ addressType: 'IPv4', ports: [{ name: 'http', port: 9400 }], endpoints: [{ addresses: ['198.18.1.1'] }] });
    expect(reasons(p)).toContain('ScaledToZero');
  });

  test('at zero, the Services keep their selectors while a pod still terminates (its EndpointSlice must empty first), the activator slices already there', () => {
    const draining = run(stableStatus('1', { activation: state('ScaledToZero', 1) }), { observed: [dep('1', 0)], pods: [pod('1', 0, { deleting: true })] });
    expect(selectorless(draining)).toEqual([]);
    expect(slices(draining)).toEqual(['iris-activator', 'iris-stable-activator']);
    const gone = run(stableStatus('1', { activation: state('ScaledToZero', 2) }), { observed: [dep('1', 0)], pods: [] });
    expect(selectorless(gone)).toEqual(['iris', 'iris-stable']);
  });

  test('at zero, the status says so: phase ScaledToZero, Ready True with the reason, 0 ready', () => {
    const p = run(stableStatus('1', { activation: state('ScaledToZero', 10, 'no inference request for 60 s') }), { observed: [dep('1', 0)] });
    expect(p.status.phase).toBe('ScaledToZero');
    expect(condition(p.status, 'Ready')).toMatchObject({ status: 'True', reason: 'ScaledToZero' });
    expect(p.status.readyReplicas).toBe(0);
    expect(sizes(p)).toEqual({ [rev('1')]: 0 });
  });

  test.each<[string, Partial<PlanInput>]>([
    ['traffic in the window', { idleRequests: 3 }],
    ['Prometheus could not tell', {}],
    ['no activator runs', { activator: undefined, idleRequests: 0 }],
    ['no activator port is free', { activator: { address: '198.18.1.1', portError: 'all 2 ports are taken', demand: false }, idleRequests: 0 }],
  ])('an Active model stays up when %s', (_what, over) => {
    const p = run(stableStatus('1', { activation: state('Active', 61) }), { observed: [dep('1', 1)], ...over });
    expect(sizes(p)).toEqual({ [rev('1')]: 1 });
    expect(p.status.activation?.state).toBe('Active');
    expect(selectorless(p)).toEqual([]);
    expect(p.status.phase).toBe('Healthy');
  });

  test('a held request wakes it: the stable revision gets a pod, the Services stay on the activator until it is ready', () => {
    const p = run(stableStatus('1', { activation: state('ScaledToZero', 100) }), { observed: [dep('1', 0)], activator: { ...ACTIVATOR, demand: true } });
    expect(sizes(p)).toEqual({ [rev('1')]: 1 });
    expect(p.status.activation).toMatchObject({ state: 'Waking', since: iso(T0), reason: 'a request arrived' });
    expect(selectorless(p)).toEqual(['iris', 'iris-stable']);
    expect(slices(p)).toHaveLength(2);
    expect(reasons(p)).toContain('Waking');
    expect(p.requeueAfterMs).toBeLessThanOrEqual(2000);
  });

  test('woken: once a stable pod is ready the selectors come back; each activator slice stays until its Service has an endpoint of its own', () => {
    const status = stableStatus('1', { activation: state('Waking', 5, 'a request arrived') });
    const observed = [dep('1', 1)];
    const p = run(status, { observed, activatorSlices: ['iris-activator', 'iris-stable-activator'], servicesWithEndpoints: ['iris'] });
    expect(p.status.activation?.state).toBe('Active');
    expect(selectorless(p)).toEqual([]);
    expect(slices(p)).toEqual(['iris-stable-activator']);
    expect(reasons(p)).toContain('Woken');
    const done = run({ ...status, activation: state('Active', 5) }, { observed, activatorSlices: ['iris-stable-activator'], servicesWithEndpoints: ['iris', 'iris-stable'] });
    expect(slices(done)).toEqual([]);
  });

  test('the idle clock starts at the wake-up: a model just woken is not idle again at once', () => {
    const p = run(stableStatus('1', { activation: state('Active', 30, 'woke up: a request arrived') }), { observed: [dep('1', 1)], idleRequests: 0 });
    expect(sizes(p)).toEqual({ [rev('1')]: 1 });
  });

  test('a rollout started at zero wakes the stable revision and the canary starts beside it', () => {
    const p = run(stableStatus('1', { activation: state('ScaledToZero', 100) }), { spec: specV('2', { autoscaling: AUTO }), observed: [dep('1', 0)] });
    expect(p.status.activation).toMatchObject({ state: 'Waking', reason: 'a rollout started' });
    expect(p.status.canary?.name).toBe(rev('2'));
    expect(sizes(p)[rev('1')]).toBeGreaterThanOrEqual(1);
    expect(sizes(p)[rev('2')]).toBeGreaterThanOrEqual(1);
    expect(p.status.phase).toBe('Progressing');
  });

  test('while a rollout runs the model never goes to zero', () => {
    const status = stableStatus('1', { activation: state('Active', 600) });
    const p = run({ ...status, canary: { name: rev('2'), version: '2', uri: 'file:///m/2.onnx' }, canaryWeight: 0, currentStepIndex: 0, stepStartedAt: iso(T0) }, {
      spec: specV('2', { autoscaling: AUTO }),
      observed: [dep('1', 1), dep('2', 1)],
      idleRequests: 0,
    });
    expect(p.status.activation?.state).toBe('Active');
    expect(sizes(p)[rev('1')]).toBeGreaterThanOrEqual(1);
  });

  test('minReplicas back above 0 wakes a model at zero and then forgets the state', () => {
    const up = specV('1', { autoscaling: { ...AUTO, minReplicas: 1, scaleToZeroAfterSeconds: undefined } });
    const p = run(stableStatus('1', { activation: state('ScaledToZero', 100) }), { spec: up, observed: [dep('1', 0)] });
    expect(p.status.activation?.state).toBe('Waking');
    expect(sizes(p)).toEqual({ [rev('1')]: 1 });
    const later = run(stableStatus('1', { activation: state('Active', 1) }), { spec: up, observed: [dep('1', 1)] });
    expect(later.status.activation).toBeUndefined();
  });
});

// Header routes through the plan: which header routes each situation puts on the route, what
// status records as in place, and when a setHeaderRoute step may complete.
import { describe, expect, test } from '@jest/globals';
import { ANNOTATION_COMMAND, Reason } from '../api/reasons.ts';
import type { ModelDeploymentStatus } from '../api/schema.ts';
import { plan, type ObservedDeployment, type PlanInput } from './plan.ts';
import { condition, dep, planInput, rev, revision, rollingStatus, specV } from './planFixtures.ts';

const TESTERS = { name: 'testers', match: [{ header: 'x-siskin-canary', value: 'true' }] };
const STEPS = [{ setHeaderRoute: TESTERS }, { pause: {} }, { setWeight: 50 }, { pause: {} }];
const gateway = (v: string): ReturnType<typeof specV> => specV(v, { rollout: { steps: STEPS, trafficRouting: { type: 'GatewayAPI', httpRoute: 'web' } } });
const at = (step: number, weight: number, extra: Partial<ModelDeploymentStatus> = {}): ModelDeploymentStatus => rollingStatus('1', '2', { currentStepIndex: step, canaryWeight: weight, ...extra });

describe('header routes in the plan', () => {
  test.each<[string, Partial<PlanInput>, { headerRoutes: unknown; inStatus: string[] | undefined; step?: number; progress?: string }]>([
    [
      'at the setHeaderRoute step the route is planned, and the step waits for status to record it in place',
      { status: at(0, 0), observed: [dep('1', 4), dep('2', 1)] },
      { headerRoutes: [TESTERS], inStatus: ['testers'], step: 0, progress: Reason.AwaitingHeaderRoutes },
    ],
    [
      'once status records it in place, the step completes and the route stays',
      { status: at(0, 0, { headerRoutes: ['testers'] }), observed: [dep('1', 4), dep('2', 1)] },
      { headerRoutes: [TESTERS], inStatus: ['testers'], step: 1 },
    ],
    [
      'the step waits for a ready canary before anything else',
      { status: at(0, 0), observed: [dep('1', 4), dep('2', 1, 0)] },
      { headerRoutes: [TESTERS], inStatus: ['testers'], step: 0, progress: Reason.WaitingForCanary },
    ],
    [
      'at a later weight the header route still sends its requests to the canary',
      { status: at(2, 50, { headerRoutes: ['testers'] }), observed: [dep('1', 4), dep('2', 2)] },
      { headerRoutes: [TESTERS], inStatus: ['testers'], step: 3 },
    ],
    [
      'an operator restart (the same status) plans exactly the same routes',
      { status: at(1, 0, { headerRoutes: ['testers'] }), observed: [dep('1', 4), dep('2', 1)] },
      { headerRoutes: [TESTERS], inStatus: ['testers'], step: 1 },
    ],
    [
      'promotion removes every header route',
      { status: at(4, 100, { headerRoutes: ['testers'] }), observed: [dep('1', 4), dep('2', 4)] },
      { headerRoutes: [], inStatus: undefined },
    ],
    [
      'an abort removes every header route',
      { status: at(1, 0, { headerRoutes: ['testers'] }), observed: [dep('1', 4), dep('2', 1)], annotations: { [ANNOTATION_COMMAND]: 'abort:1' } },
      { headerRoutes: [], inStatus: undefined },
    ],
    [
      'a canary not yet through its gates gets no header traffic',
      { status: at(0, 0, { canary: { ...revision('2'), signature: undefined } }), observed: [dep('1', 4), dep('2', 1)] },
      { headerRoutes: [], inStatus: undefined, step: 0 },
    ],
  ])('%s', (_what, over, want) => {
    const p = plan(planInput({ spec: gateway('2'), ...over }));
    expect(p.headerRoutes).toEqual(want.headerRoutes);
    expect(p.status.headerRoutes).toEqual(want.inStatus);
    if (want.step !== undefined) expect(p.status.currentStepIndex).toBe(want.step);
    if (want.progress !== undefined) expect(condition(p.status, 'Progressing')?.reason).toBe(want.progress);
  });

  test("a new spec's canary starts without the last rollout's header routes until it passes its own gates", () => {
    const observed: ObservedDeployment[] = [dep('1', 4), dep('2', 1)];
    const p = plan(planInput({ spec: gateway('3'), status: at(1, 0, { headerRoutes: ['testers'] }), observed }));
    expect(p.status.canary?.name).toBe(rev('3'));
    expect(p.status.currentStepIndex).toBe(0);
    expect(p.headerRoutes).toEqual([]);
    expect(p.status.headerRoutes).toBeUndefined();
  });

  test('replica-ratio routing has no route and so no header routes', () => {
    const p = plan(planInput({ spec: specV('2'), status: rollingStatus('1', '2'), observed: [dep('1', 3), dep('2', 1)] }));
    expect(p.headerRoutes).toBeUndefined();
    expect(p.status.headerRoutes).toBeUndefined();
  });
});

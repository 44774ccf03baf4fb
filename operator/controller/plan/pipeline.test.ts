// Each step of plan()'s pipeline on its own: a context built from an input, one step run,
// and what that step decided. (Whole-plan paths are in ../plan.test.ts and ../planPaths.test.ts.)
import { describe, expect, test } from '@jest/globals';
import type { ModelDeploymentStatus } from '../../api/schema.ts';
import type { HealthObservation } from '../../monitoring/health.ts';
import { PollMs } from '../../rollout/poll.ts';
import { dep, iso, planInput, pod, rev, revision, rollingStatus, SIG, specV, stableStatus, T0 } from '../planFixtures.ts';
import { reconcileAnalysis, scheduleAnalysis } from './analysis.ts';
import { reconcileCanaryStep } from './canaryStep.ts';
import { reconcileCommands } from './commands.ts';
import { newContext, type PlanContext, type PlanInput } from './context.ts';
import { desiredObjects, keepPrevious, podGates } from './objects.ts';
import { reconcileRevisions } from './revisions.ts';
import { reconcileScale } from './scale.ts';
import { reconcileSchemaGate } from './schemaGate.ts';
import { reconcileStableHealth } from './stableHealth.ts';
import { statusOf } from './status.ts';

const ctxOf = (over: Partial<PlanInput>): PlanContext => newContext(planInput(over));
const reasonsOf = (ctx: PlanContext): string[] => ctx.events.map((e) => e.reason);
const rolledBack = (extra: Partial<ModelDeploymentStatus> = {}): ModelDeploymentStatus =>
  rollingStatus('1', '2', { canaryWeight: 0, rollout: { state: 'RolledBack', reason: 'AnalysisFailed', message: 'analysis failed' }, ...extra });

describe('reconcileScale', () => {
  const AUTO = { minReplicas: 2, maxReplicas: 10, targetRequestsPerSecond: 10 };
  test.each<[string, Partial<PlanInput>, number, string[]]>([
    ['no autoscaling: spec.replicas', { spec: specV('1') }, 4, []],
    ['autoscaling, no reading yet: minReplicas', { spec: specV('1', { autoscaling: AUTO }) }, 2, []],
    ['a reading of 55 req/s at 10 per pod: 6 pods, and an Event', { spec: specV('1', { autoscaling: AUTO }), load: { requestRate: 55 } }, 6, ['Scaled']],
    ['a reading beyond maxReplicas is capped', { spec: specV('1', { autoscaling: AUTO }), load: { requestRate: 1000 } }, 10, ['Scaled']],
  ])('%s', (_, over, total, events) => {
    const ctx = ctxOf(over);
    reconcileScale(ctx);
    expect(ctx.total).toBe(total);
    expect(reasonsOf(ctx)).toEqual(events);
    if (over.spec?.autoscaling) expect(ctx.requeueAfterMs).toBeLessThanOrEqual(PollMs.autoscale);
    else expect(ctx.requeueAfterMs).toBeUndefined();
  });
});

describe('reconcileRevisions', () => {
  const FREEZE = { rollout: { steps: [{ setWeight: 25 }], freezeWindows: [{ name: 'launch', start: '2026-11-23T11:00:00Z', end: '2026-11-23T13:00:00Z' }] } };
  test.each<[string, Partial<PlanInput>, { stable: string; canary?: string; replicas: Record<string, number>; events: string[]; history?: string }]>([
    ['the first revision is stable at once', { spec: specV('1') }, { stable: rev('1'), replicas: { [rev('1')]: 4 }, events: ['NewRevision'] }],
    ['the same spec: stable alone at full size', { spec: specV('1'), status: stableStatus('1') }, { stable: rev('1'), replicas: { [rev('1')]: 4 }, events: [] }],
    ['a new version becomes the canary (sizes follow from its step)', { spec: specV('2'), status: stableStatus('1') }, { stable: rev('1'), canary: rev('2'), replicas: {}, events: ['NewRevision'] }],
    [
      'back to the stable version: the canary is dropped and recorded',
      { spec: specV('1'), status: rollingStatus('1', '2') },
      { stable: rev('1'), replicas: { [rev('1')]: 4 }, events: ['RolloutAborted'], history: 'Aborted' },
    ],
    [
      'a newer version supersedes a running canary',
      { spec: specV('3'), status: rollingStatus('1', '2') },
      { stable: rev('1'), canary: rev('3'), replicas: {}, events: ['RolloutAborted', 'NewRevision'], history: 'Aborted' },
    ],
    ['a newer version supersedes a rolled-back canary without a second history entry', { spec: specV('3'), status: rolledBack() }, { stable: rev('1'), canary: rev('3'), replicas: {}, events: ['NewRevision'] }],
    ['in a freeze window a new version waits', { spec: specV('2', FREEZE), status: stableStatus('1') }, { stable: rev('1'), replicas: { [rev('1')]: 4 }, events: [] }],
    ['in a freeze window a running canary stays, a newer spec waits', { spec: specV('3', FREEZE), status: rollingStatus('1', '2') }, { stable: rev('1'), canary: rev('2'), replicas: {}, events: [] }],
  ])('%s', (_, over, want) => {
    const ctx = ctxOf(over);
    reconcileRevisions(ctx);
    expect({ stable: ctx.stable.name, canary: ctx.canary?.name, replicas: ctx.replicas, events: reasonsOf(ctx) }).toEqual({ ...want, history: undefined, canary: want.canary });
    expect(ctx.history.at(-1)?.outcome).toBe(want.history);
  });

  test('a stable signature read this reconcile is kept; a failed read is the waiting note', () => {
    const read = ctxOf({ spec: specV('1'), status: { stable: { ...revision('1'), signature: undefined } }, signatures: { [rev('1')]: SIG } });
    reconcileRevisions(read);
    expect(read.stable.signature).toEqual(SIG);
    const failed = ctxOf({ spec: specV('1'), status: { stable: { ...revision('1'), signature: undefined } }, signatures: { [rev('1')]: { error: 'ECONNREFUSED' } } });
    reconcileRevisions(failed);
    expect(failed.waitingNote).toContain('ECONNREFUSED');
  });
});

describe('reconcileCommands', () => {
  test.each<[string, ModelDeploymentStatus, string, { rolledBack: boolean; signature: boolean; step: number; events: string[] }]>([
    ['retry restarts a rolled-back canary at step 0, its signature to be judged again', rolledBack(), 'retry', { rolledBack: false, signature: false, step: 0, events: ['RetryRequested'] }],
    ['retry without a rollback does nothing', rollingStatus('1', '2'), 'retry', { rolledBack: false, signature: true, step: 1, events: [] }],
    ['resume counts inconclusive rounds afresh', rollingStatus('1', '2', { analysis: { failures: 0, inconclusive: 5, consecutiveInconclusive: 5, measurements: [] } }), 'resume', { rolledBack: false, signature: true, step: 1, events: ['ResumeRequested'] }],
    ['a command already acted on is not repeated', rolledBack({ lastCommand: 'retry' }), 'retry', { rolledBack: true, signature: true, step: 1, events: [] }],
  ])('%s', (_, status, command, want) => {
    const ctx = ctxOf({ spec: specV('2'), status, annotations: { 'siskin.dev/command': command } });
    reconcileCommands(ctx);
    expect({ rolledBack: !!ctx.rolledBack, signature: !!ctx.canary?.signature, step: ctx.step.stepIndex, events: reasonsOf(ctx) }).toEqual(want);
    if (command === 'resume') expect(ctx.analysis?.consecutiveInconclusive).toBe(0);
  });
});

describe('reconcileSchemaGate', () => {
  const unread = (): ModelDeploymentStatus => rollingStatus('1', '2', { canary: { ...revision('2'), signature: undefined } });
  const NARROWER = { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3] }], outputs: SIG.outputs };
  test.each<[string, Partial<PlanInput>, { admitted: boolean; rolledBack?: string; note?: RegExp }]>([
    ['a compatible signature admits the canary', { status: unread(), signatures: { [rev('2')]: SIG } }, { admitted: true }],
    ['an incompatible one rolls it back', { status: unread(), signatures: { [rev('2')]: NARROWER } }, { admitted: false, rolledBack: 'SchemaIncompatible' }],
    ['no read yet: it waits', { status: unread() }, { admitted: false }],
    ['a failed read: the note says why', { status: unread(), signatures: { [rev('2')]: { error: 'timeout' } } }, { admitted: false, note: /timeout/ }],
    ['the stable signature unknown: it waits for that', { status: { ...unread(), stable: { ...revision('1'), signature: undefined } }, signatures: { [rev('2')]: SIG } }, { admitted: false, note: /stable revision's signature/ }],
  ])('%s', (_, over, want) => {
    const ctx = ctxOf({ spec: specV('2'), ...over });
    reconcileSchemaGate(ctx);
    expect(!!ctx.canary?.signature).toBe(want.admitted);
    expect(ctx.rolledBack?.reason).toBe(want.rolledBack);
    if (want.note) expect(ctx.waitingNote).toMatch(want.note);
  });
});

describe('reconcileAnalysis and scheduleAnalysis', () => {
  const spec = specV('2', { rollout: { steps: [{ setWeight: 25 }, { pause: {} }], analysis: { intervalSeconds: 30, failureLimit: 1, metrics: [{ name: 'p99', kind: 'LatencyQuantile', max: 0.5 }] } } });
  const round = (value: number): PlanInput['analysisRound'] => [{ metric: 'p99', value, samples: 100 }];
  test.each<[string, ModelDeploymentStatus, number, { verdict: string; failures: number; rolledBack?: string; events: string[] }]>([
    ['a passing round is recorded', rollingStatus('1', '2'), 0.1, { verdict: 'Pass', failures: 0, events: [] }],
    ['a failure within the limit is a Warning', rollingStatus('1', '2'), 2, { verdict: 'Fail', failures: 1, events: ['AnalysisFailed'] }],
    [
      'a failure beyond the limit rolls back',
      rollingStatus('1', '2', { analysis: { failures: 1, inconclusive: 0, measurements: [] } }),
      2,
      { verdict: 'Fail', failures: 2, rolledBack: 'AnalysisFailed', events: ['AnalysisFailed'] },
    ],
  ])('%s', (_, status, value, want) => {
    const ctx = ctxOf({ spec, status, analysisRound: round(value) });
    reconcileAnalysis(ctx);
    expect({ verdict: ctx.analysis?.lastVerdict, failures: ctx.analysis?.failures, rolledBack: ctx.rolledBack?.reason, events: reasonsOf(ctx) }).toEqual(want);
  });

  test('rounds stay on time while an admitted canary serves, and stop once it is rolled back', () => {
    const serving = ctxOf({ spec, status: rollingStatus('1', '2', { analysis: { failures: 0, inconclusive: 0, measurements: [], lastRoundAt: iso(T0 - 10_000) } }) });
    scheduleAnalysis(serving);
    expect(serving.requeueAfterMs).toBe(20_000);
    const out = ctxOf({ spec, status: rolledBack() });
    scheduleAnalysis(out);
    expect(out.requeueAfterMs).toBeUndefined();
  });
});

describe('reconcileCanaryStep', () => {
  test.each<[string, Partial<PlanInput>, { weight: number; step: number; stable: string; canary?: string; replicas: Record<string, number>; events: string[] }]>([
    [
      'a ready canary at its weight advances',
      { status: rollingStatus('1', '2', { currentStepIndex: 0 }), observed: [dep('1', 3), dep('2', 1)] },
      { weight: 25, step: 1, stable: rev('1'), canary: rev('2'), replicas: { [rev('1')]: 3, [rev('2')]: 1 }, events: ['StepAdvanced'] },
    ],
    [
      'an unready canary holds',
      { status: rollingStatus('1', '2', { currentStepIndex: 0 }), observed: [dep('1', 3), dep('2', 1, 0)] },
      { weight: 25, step: 0, stable: rev('1'), canary: rev('2'), replicas: { [rev('1')]: 3, [rev('2')]: 1 }, events: [] },
    ],
    [
      'at full weight a canary not yet full size grows first',
      { status: rollingStatus('1', '2', { currentStepIndex: 2, canaryWeight: 100 }), observed: [dep('1', 3), dep('2', 1)] },
      { weight: 100, step: 2, stable: rev('1'), canary: rev('2'), replicas: { [rev('1')]: 3, [rev('2')]: 4 }, events: [] },
    ],
    [
      'at full weight and full size it is promoted',
      { status: rollingStatus('1', '2', { currentStepIndex: 2, canaryWeight: 100 }), observed: [dep('1', 3), dep('2', 4)] },
      { weight: 100, step: 2, stable: rev('2'), replicas: { [rev('2')]: 4 }, events: ['Promoted'] },
    ],
    [
      'a rolled-back canary goes to zero once stable serves',
      { status: rolledBack(), observed: [dep('1', 4), dep('2', 1)] },
      { weight: 0, step: 1, stable: rev('1'), canary: rev('2'), replicas: { [rev('1')]: 4, [rev('2')]: 0 }, events: [] },
    ],
    [
      'a rolled-back canary keeps its pods while stable has none ready',
      { status: rolledBack(), observed: [dep('1', 4, 0), dep('2', 1)] },
      { weight: 0, step: 1, stable: rev('1'), canary: rev('2'), replicas: { [rev('1')]: 4, [rev('2')]: 1 }, events: [] },
    ],
  ])('%s', (_, over, want) => {
    const ctx = ctxOf({ spec: specV('2'), ...over });
    reconcileCanaryStep(ctx);
    expect({ weight: ctx.step.weight, step: ctx.step.stepIndex, stable: ctx.stable.name, canary: ctx.canary?.name, replicas: ctx.replicas, events: reasonsOf(ctx) }).toEqual({ ...want, canary: want.canary });
  });

  test('past progressDeadlineSeconds an unready canary is rolled back, naming what it waited for', () => {
    const ctx = ctxOf({ spec: specV('2'), status: rollingStatus('1', '2', { currentStepIndex: 0 }), observed: [dep('1', 3), dep('2', 1, 0)], now: T0 + 601_000 });
    ctx.waitingNote = 'cannot read the canary signature';
    reconcileCanaryStep(ctx);
    expect(ctx.rolledBack).toEqual({ reason: 'ProgressDeadlineExceeded', message: expect.stringContaining('cannot read the canary signature') });
  });
});

describe('reconcileStableHealth', () => {
  const drift = (action: string): ReturnType<typeof specV> =>
    specV('2', { monitoring: { drift: { maxErrorRate: 0.05, action, cooldownSeconds: 600 }, retraining: { jobTemplate: { template: { spec: { containers: [{ name: 't', image: 'train:1' }], restartPolicy: 'Never' } } } } } });
  const BAD: HealthObservation = { maxFeaturePsi: 0.05, errorRate: 0.2, requests: 1000 };
  const GOOD: HealthObservation = { maxFeaturePsi: 0.05, errorRate: 0.01, requests: 1000 };
  const promoted = stableStatus('2', { previous: revision('1') });
  test.each<[string, string, HealthObservation, { drift?: string; action?: string; stable: string; jobs: number; rolledBack?: string }]>([
    ['healthy: the condition says so, nothing fires', 'Alert', GOOD, { drift: 'Healthy', stable: rev('2'), jobs: 0 }],
    ['a breach with Alert: the condition and an Event', 'Alert', BAD, { drift: 'ServingErrors', action: 'Alert', stable: rev('2'), jobs: 0 }],
    ['a breach with Retrain: a Job', 'Retrain', BAD, { drift: 'ServingErrors', action: 'Retrain', stable: rev('2'), jobs: 1 }],
    ['a breach with Rollback: the previous revision serves again', 'Rollback', BAD, { drift: 'ServingErrors', action: 'Rollback', stable: rev('1'), jobs: 0, rolledBack: 'DriftRollback' }],
  ])('%s', (_, action, health, want) => {
    const ctx = ctxOf({ spec: drift(action), status: promoted, observed: [dep('2', 4), dep('1', 0)], health });
    reconcileStableHealth(ctx);
    expect({ drift: ctx.driftCondition?.reason, action: ctx.monitoring?.lastAction, stable: ctx.stable.name, jobs: ctx.jobs.length, rolledBack: ctx.rolledBack?.reason }).toEqual(want);
  });

  test('within the cooldown a breach fires nothing again', () => {
    const ctx = ctxOf({ spec: drift('Retrain'), status: { ...promoted, monitoring: { lastActionAt: iso(T0 - 60_000), lastAction: 'Retrain' } }, observed: [dep('2', 4)], health: BAD });
    reconcileStableHealth(ctx);
    expect(ctx.jobs).toEqual([]);
    expect(ctx.driftCondition?.reason).toBe('ServingErrors');
  });
});

describe('objects, gates and status', () => {
  test('the previous revision is kept at zero while its Deployment exists, then forgotten', () => {
    const kept = ctxOf({ spec: specV('2'), status: stableStatus('2', { previous: revision('1') }), observed: [dep('2', 4), dep('1', 0)] });
    kept.replicas = { [rev('2')]: 4 };
    keepPrevious(kept);
    expect(kept.replicas).toEqual({ [rev('2')]: 4, [rev('1')]: 0 });
    const gone = ctxOf({ spec: specV('2'), status: stableStatus('2', { previous: revision('1') }), observed: [dep('2', 4)] });
    keepPrevious(gone);
    expect(gone.previous).toBeUndefined();
  });

  test('a revision not sized is deleted; the spec revision is a full Deployment, an older one only a new size', () => {
    const ctx = ctxOf({ spec: specV('2'), status: rollingStatus('1', '2'), observed: [dep('1', 3), dep('2', 1), dep('0', 0)] });
    ctx.replicas = { [rev('1')]: 3, [rev('2')]: 1 };
    const o = desiredObjects(ctx);
    expect(o.deployments.map((d) => d.spec?.replicas)).toEqual([1]);
    expect(o.scales).toEqual([{ name: `iris-${rev('1')}`, replicas: 3 }]);
    expect(o.deleteDeployments).toEqual([`iris-${rev('0')}`]);
    expect(o.routeWeight).toBeUndefined();
  });

  test('pod gates: False for a rolled-back canary once stable serves, first; True for admitted revisions', () => {
    const ctx = ctxOf({ spec: specV('2'), status: rolledBack(), observed: [dep('1', 4), dep('2', 1)], pods: [pod('1', 0), pod('2', 1, { admitted: 'True' })] });
    expect(podGates(ctx).map((g) => [g.pod, g.status])).toEqual([
      [pod('2', 1).name, 'False'],
      [pod('1', 0).name, 'True'],
    ]);
  });

  test('status carries the rollout state as data, and the conditions agree', () => {
    const ctx = ctxOf({ spec: specV('2'), status: rolledBack(), observed: [dep('1', 4), dep('2', 0)] });
    const s = statusOf(ctx);
    expect(s.rollout).toEqual({ state: 'RolledBack', reason: 'AnalysisFailed', message: 'analysis failed' });
    expect(s.phase).toBe('RolledBack');
    expect(s.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'AnalysisFailed' });
  });
});

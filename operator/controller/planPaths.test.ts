// plan() paths beyond the canary basics of plan.test.ts, as rows that read as sentences:
// autoscaling, the drift actions Rollback and Retrain, warm-up before ready, and the rollout
// paths around rollback, retry, freeze windows and routing. Public API only: plan(), its
// "due" predicates and signaturesToRead, so a rewrite of plan's internals is judged here.
import { describe, expect, test } from '@jest/globals';
import { modelDeploymentSpec, type ModelDeploymentSpec, type ModelDeploymentStatus } from '../api/schema.ts';
import type { HealthObservation } from '../monitoring/health.ts';
import { analysisDue, autoscaleDue, healthDue, plan, signaturesToRead, type Plan, type PlanInput } from './plan.ts';
import { condition, dep, IMAGE, iso, planInput, pod, reasons, rev, revision, rollingStatus, sizes, specV, stableStatus, T0 } from './planFixtures.ts';
import { revisionHash } from '../resources/revision.ts';
import { ANNOTATION_COMMAND } from '../api/reasons.ts';
import { PollMs } from '../rollout/poll.ts';

const HINT = 'Annotate siskin.dev/command=retry to try again, or change the spec';
/** The revision a role's Service (stable, canary) selects. */
const serviceRevision = (p: Plan, role: string): string | undefined =>
  p.services.find((s) => s.metadata?.labels?.['siskin.dev/role'] === role)?.spec?.selector?.['siskin.dev/revision'];
const command = (value: string): Pick<PlanInput, 'annotations'> => ({ annotations: { [ANNOTATION_COMMAND]: value } });
const occurrences = (text: string, part: string): number => text.split(part).length - 1;

describe('autoscaling', () => {
  const AUTO = { minReplicas: 2, maxReplicas: 10, targetRequestsPerSecond: 10 };
  const spec = specV('1', { autoscaling: AUTO });
  /** status.autoscaling after a decision of n replicas taken one interval ago. */
  const decided = (n: number, recommendations: { at: string; replicas: number }[] = []): NonNullable<ModelDeploymentStatus['autoscaling']> => ({
    desiredReplicas: n,
    reason: `earlier decision: ${n}`,
    lastCheckAt: iso(T0 - PollMs.autoscale),
    recommendations,
  });

  test.each<[string, { before?: number; history?: { at: string; replicas: number }[]; load?: PlanInput['load']; size: number; scaledFrom?: number }]>([
    ['before any decision and without load the model runs at minReplicas', { size: 2 }],
    ['without load the last decision holds', { before: 5, size: 5 }],
    ['a request rate above the target scales up to carry it', { before: 2, load: { requestRate: 55 }, size: 6, scaledFrom: 2 }],
    ['a request rate beyond maxReplicas is capped at maxReplicas', { before: 2, load: { requestRate: 500 }, size: 10, scaledFrom: 2 }],
    ['a request rate below the target scales down to what it needs', { before: 6, load: { requestRate: 30 }, size: 3, scaledFrom: 6 }],
    ['an idle model never goes below minReplicas', { before: 6, load: { requestRate: 0 }, size: 2, scaledFrom: 6 }],
    ['a scale-down waits out its stabilization window', { before: 6, history: [{ at: iso(T0 - 60_000), replicas: 6 }], load: { requestRate: 30 }, size: 6 }],
    ['a rate within the tolerance of the target moves nothing', { before: 4, load: { requestRate: 41 }, size: 4 }],
    ['a missing request rate holds the size', { before: 5, load: { p99: 0.1 }, size: 5 }],
    ['a lowered maxReplicas clamps the last decision at once', { before: 12, size: 10 }],
  ])('%s', (_what, row) => {
    const status = stableStatus('1', row.before === undefined ? {} : { autoscaling: decided(row.before, row.history) });
    const p = plan(planInput({ spec, status, observed: [dep('1', row.before ?? 2)], ...(row.load ? { load: row.load } : {}) }));
    expect(sizes(p)).toEqual({ [rev('1')]: row.size });
    // A Scaled Event exactly when the autoscaler changed its decision, saying from what to what.
    const scaled = p.events.filter((e) => e.reason === 'Scaled');
    if (row.scaledFrom === undefined) expect(scaled).toEqual([]);
    else expect(scaled).toEqual([expect.objectContaining({ type: 'Normal', message: expect.stringContaining(`scaled from ${row.scaledFrom} to ${row.size} replicas`) })]);
    // The decision is kept in status: a fresh one when traffic was read, else the last one.
    if (row.load) expect(p.status.autoscaling).toMatchObject({ desiredReplicas: row.size, lastCheckAt: iso(T0) });
    else if (row.before !== undefined) expect(p.status.autoscaling).toEqual(decided(row.before, row.history));
    else expect(p.status.autoscaling).toBeUndefined();
  });

  test('traffic is read once per autoscale interval, and the plan looks again when the next read is due', () => {
    expect(autoscaleDue(spec, {}, T0)).toBe(true);
    expect(autoscaleDue(spec, { autoscaling: { ...decided(3), lastCheckAt: iso(T0 - 5_000) } }, T0)).toBe(false);
    expect(autoscaleDue(spec, { autoscaling: decided(3) }, T0)).toBe(true);
    expect(autoscaleDue(specV('1'), {}, T0)).toBe(false);
    const status = stableStatus('1', { autoscaling: { ...decided(3), lastCheckAt: iso(T0 - 5_000) } });
    expect(plan(planInput({ spec, status, observed: [dep('1', 3)] })).requeueAfterMs).toBe(PollMs.autoscale - 5_000);
    expect(plan(planInput({ spec, status, observed: [dep('1', 3)], load: { requestRate: 30 } })).requeueAfterMs).toBe(PollMs.autoscale);
  });

  test('without spec.autoscaling, spec.replicas sizes the model and the autoscaler state leaves status', () => {
    const p = plan(planInput({ spec: specV('1'), status: stableStatus('1', { autoscaling: decided(8) }), observed: [dep('1', 8)], load: { requestRate: 500 } }));
    expect(sizes(p)).toEqual({ [rev('1')]: 4 });
    expect(p.status.autoscaling).toBeUndefined();
    expect(reasons(p)).not.toContain('Scaled');
  });

  describe('during a rollout the autoscaled total is what the canary weight splits', () => {
    test.each<[string, Record<string, unknown>, PlanInput['load'] | undefined, Record<string, number>, number | undefined]>([
      ['ReplicaRatio: 8 replicas at weight 25 are 6 stable and 2 canary', { type: 'ReplicaRatio' }, undefined, { stable: 6, canary: 2 }, undefined],
      ['ReplicaRatio: scaled up to 10 mid-rollout, the split follows', { type: 'ReplicaRatio' }, { requestRate: 120 }, { stable: 7, canary: 3 }, undefined],
      ['GatewayAPI: stable keeps all 8, the canary gets its share of them', { type: 'GatewayAPI', httpRoute: 'iris' }, undefined, { stable: 8, canary: 2 }, 25],
      ['GatewayAPI: scaled up to 10 mid-rollout, both follow', { type: 'GatewayAPI', httpRoute: 'iris' }, { requestRate: 120 }, { stable: 10, canary: 3 }, 25],
    ])('%s', (_what, trafficRouting, load, want, routeWeight) => {
      const rolloutSpec = specV('2', { autoscaling: AUTO, rollout: { steps: [{ setWeight: 25 }, { pause: {} }], trafficRouting } });
      const status = rollingStatus('1', '2', { autoscaling: decided(8) });
      const p = plan(planInput({ spec: rolloutSpec, status, observed: [dep('1', 6), dep('2', 2)], ...(load ? { load } : {}) }));
      expect(sizes(p)).toEqual({ [rev('1')]: want.stable, [rev('2')]: want.canary });
      expect(p.routeWeight).toBe(routeWeight);
      expect(p.status).toMatchObject({ canaryWeight: 25, currentStepIndex: 1 });
    });
  });
});

describe('drift action Rollback', () => {
  const spec = specV('2', { monitoring: { drift: { maxErrorRate: 0.05, action: 'Rollback' } } });
  const BAD: HealthObservation = { maxFeaturePsi: 0.05, errorRate: 0.2, requests: 1000 };
  const GOOD: HealthObservation = { maxFeaturePsi: 0.05, errorRate: 0.01, requests: 1000 };
  // Version 2 was promoted over version 1, whose Deployment is kept at zero.
  const promoted = (extra: Partial<ModelDeploymentStatus> = {}): ModelDeploymentStatus => stableStatus('2', { previous: revision('1'), ...extra });
  const servingPods = [pod('2', 0, { admitted: 'True' }), pod('2', 1, { admitted: 'True' })];
  const breach = (over: Partial<PlanInput> = {}): Plan => plan(planInput({ spec, status: promoted(), observed: [dep('2', 4), dep('1', 0)], pods: servingPods, health: BAD, ...over }));

  test('a breach rolls back: the previous revision becomes stable, the drifted one a rolled-back canary', () => {
    const p = breach();
    expect(p.status.stable?.name).toBe(rev('1'));
    expect(p.status.canary?.name).toBe(rev('2'));
    expect(p.status.previous).toBeUndefined();
    expect(p.status.canaryWeight).toBe(0);
    expect(p.status.history?.at(-1)).toMatchObject({ revision: rev('2'), version: '2', outcome: 'RolledBack', reason: expect.stringMatching(/from 2 .* to 1 .*ServingErrors/) });
    expect(p.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'DriftRollback' }));
    expect(condition(p.status, 'Stalled')).toMatchObject({ status: 'True', reason: 'DriftRollback' });
    expect(condition(p.status, 'DriftDetected')).toMatchObject({ status: 'True', reason: 'ServingErrors', message: expect.stringContaining('5xx error rate 0.2 > 0.05') });
    expect(p.status.phase).toBe('RolledBack');
    expect(p.status.monitoring).toMatchObject({ lastAction: 'Rollback', lastActionAt: iso(T0) });
    // The stable Service points at the revision that serves again; until it has a ready pod,
    // the canary Service keeps the drifted pods that still answer.
    expect(serviceRevision(p, 'stable')).toBe(rev('1'));
    expect(serviceRevision(p, 'canary')).toBe(rev('2'));
    expect(p.requeueAfterMs).toBe(2_000);
    const served = plan(planInput({ spec, status: p.status, observed: [dep('2', 4), dep('1', 4, 1)], pods: servingPods, now: T0 + 5_000 }));
    expect(serviceRevision(served, 'canary')).toBe(rev('1'));
  });

  test('the drifted pods keep serving until the previous revision has a ready pod', () => {
    const p = breach();
    // The previous revision scales back up; the drifted one keeps its size meanwhile.
    expect(sizes(p)).toEqual({ [rev('1')]: 4, [rev('2')]: 4 });
    expect(p.podGates.filter((g) => g.status === 'False')).toEqual([]);
  });

  test('once the previous revision serves, the drifted pods are taken out first and scaled to zero', () => {
    const first = breach();
    const pods = [...servingPods, pod('1', 0)];
    const p = plan(planInput({ spec, status: first.status, observed: [dep('2', 4), dep('1', 4, 1)], pods }));
    expect(p.podGates.map((g) => [g.pod, g.status])).toEqual([
      [`iris-${rev('2')}-0`, 'False'],
      [`iris-${rev('2')}-1`, 'False'],
      [`iris-${rev('1')}-0`, 'True'],
    ]);
    expect(p.podGates[0]).toMatchObject({ reason: 'DriftRollback' });
    expect(sizes(p)).toEqual({ [rev('1')]: 4, [rev('2')]: 0 });
  });

  test('the rolled-back state survives reconciles: same message, the retry hint once, one history entry', () => {
    const first = breach();
    const stalled = condition(first.status, 'Stalled')!;
    expect(occurrences(stalled.message, HINT)).toBe(1);
    let status = first.status;
    for (let i = 0; i < 3; i++) {
      const p = plan(planInput({ spec, status, observed: [dep('2', 0), dep('1', 4)], now: T0 + (i + 1) * 1000 }));
      expect(p.status).toMatchObject({ stable: { name: rev('1') }, canary: { name: rev('2') }, canaryWeight: 0, phase: 'RolledBack' });
      expect(condition(p.status, 'Stalled')).toEqual(stalled);
      expect(p.status.history?.filter((h) => h.outcome === 'RolledBack')).toHaveLength(1);
      expect(reasons(p)).not.toContain('DriftRollback');
      status = p.status;
    }
  });

  test('without a previous revision kept, a breach only alerts', () => {
    const p = breach({ status: stableStatus('2'), observed: [dep('2', 4)] });
    expect(p.status.stable?.name).toBe(rev('2'));
    expect(p.status.canary).toBeUndefined();
    expect(p.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'DriftRollback', message: expect.stringContaining('no previous revision') }));
    expect(condition(p.status, 'Stalled')).toMatchObject({ status: 'False' });
    expect(condition(p.status, 'DriftDetected')).toMatchObject({ status: 'True', reason: 'ServingErrors' });
    expect(p.status.history).toBeUndefined();
    expect(sizes(p)).toEqual({ [rev('2')]: 4 });
  });

  test('a previous revision whose Deployment is gone cannot be rolled back to: alert only, and status forgets it', () => {
    const p = breach({ observed: [dep('2', 4)] });
    expect(p.status.stable?.name).toBe(rev('2'));
    expect(p.status.previous).toBeUndefined();
    expect(p.events).toContainEqual(expect.objectContaining({ reason: 'DriftRollback', message: expect.stringContaining('no previous revision') }));
  });

  test('within cooldownSeconds of the last action a breach fires nothing; after it, it rolls back', () => {
    const recent = breach({ status: promoted({ monitoring: { lastActionAt: iso(T0 - 600_000), lastAction: 'Alert' } }) });
    expect(recent.status.stable?.name).toBe(rev('2'));
    expect(recent.events).toEqual([]);
    expect(condition(recent.status, 'DriftDetected')).toMatchObject({ status: 'True', reason: 'ServingErrors' });
    expect(recent.status.monitoring).toMatchObject({ lastActionAt: iso(T0 - 600_000), lastAction: 'Alert' });
    const later = breach({ status: promoted({ monitoring: { lastActionAt: iso(T0 - 3_600_000), lastAction: 'Alert' } }) });
    expect(later.status.stable?.name).toBe(rev('1'));
  });

  test('during a canary rollout the canary analysis judges: no health check is due, a breach rolls nothing back', () => {
    const spec3 = specV('3', { monitoring: spec.monitoring });
    const status = rollingStatus('2', '3', { previous: revision('1') });
    expect(healthDue(spec3, status, T0)).toBe(false);
    const p = plan(planInput({ spec: spec3, status, observed: [dep('2', 3), dep('3', 1), dep('1', 0)], health: BAD }));
    expect(p.status).toMatchObject({ stable: { name: rev('2') }, canary: { name: rev('3') }, previous: { name: rev('1') }, canaryWeight: 25 });
    expect(reasons(p)).not.toContain('DriftRollback');
    expect(p.status.history).toBeUndefined();
    expect(condition(p.status, 'Stalled')).toMatchObject({ status: 'False' });
  });

  test('a healthy stable: DriftDetected False, nothing fires, the next check at the interval', () => {
    const p = breach({ health: GOOD, observed: [dep('2', 4), dep('1', 0)] });
    expect(p.status.stable?.name).toBe(rev('2'));
    expect(p.events).toEqual([]);
    expect(condition(p.status, 'DriftDetected')).toMatchObject({ status: 'False', reason: 'Healthy' });
    expect(p.status.monitoring?.lastCheckAt).toBe(iso(T0));
    expect(p.requeueAfterMs).toBe(30_000);
    expect(healthDue(spec, p.status, T0 + 29_000)).toBe(false);
    expect(healthDue(spec, p.status, T0 + 30_000)).toBe(true);
  });

  test('a freeze window does not hold a drift rollback', () => {
    const frozen = specV('2', { monitoring: spec.monitoring, rollout: { steps: [{ setWeight: 25 }], freezeWindows: [{ name: 'all-monday', days: ['Mon'], from: '00:00', to: '24:00' }] } });
    const p = breach({ spec: frozen });
    expect(p.status.stable?.name).toBe(rev('1'));
    expect(condition(p.status, 'Stalled')).toMatchObject({ status: 'True', reason: 'DriftRollback' });
  });

  test('retry after a drift rollback rolls the drifted revision out again as a canary, judged afresh', () => {
    const first = breach();
    const p = plan(planInput({ spec, status: first.status, observed: [dep('2', 0), dep('1', 4)], ...command('retry') }));
    expect(p.status).toMatchObject({ stable: { name: rev('1') }, canary: { name: rev('2') }, canaryWeight: 25, currentStepIndex: 0, phase: 'Progressing' });
    expect(p.status.canary?.signature).toBeUndefined();
    expect(reasons(p)).toContain('RetryRequested');
    expect(sizes(p)).toEqual({ [rev('1')]: 3, [rev('2')]: 1 });
  });
});

describe('drift action Retrain on accuracy decay', () => {
  const JOB = { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'train', image: 'trainer:1' }] } } };
  const spec = specV('2', { monitoring: { drift: { minAccuracy: 0.9, minLabels: 100, action: 'Retrain' }, retraining: { jobTemplate: JOB } } });
  const DECAYED: HealthObservation = { maxFeaturePsi: 0.05, accuracy: 0.7, labels: 500 };
  const check = (over: Partial<PlanInput> = {}): Plan => plan(planInput({ spec, status: stableStatus('2'), observed: [dep('2', 4)], health: DECAYED, ...over }));
  const DAY = 86_400_000;

  test('accuracy below minAccuracy over enough labels starts a retraining Job for the stable revision', () => {
    const p = check();
    expect(p.jobs).toHaveLength(1);
    const job = p.jobs[0]!;
    expect(job.metadata?.name).toMatch(new RegExp(`^iris-retrain-${rev('2')}-`));
    expect(job.spec?.template?.spec?.containers[0]?.env).toEqual(
      expect.arrayContaining([
        { name: 'SISKIN_RETRAIN_REASON', value: 'AccuracyDecay' },
        { name: 'SISKIN_MODEL_VERSION', value: '2' },
        { name: 'SISKIN_MODEL_REVISION', value: rev('2') },
      ]),
    );
    expect(p.events.map((e) => [e.type, e.reason])).toEqual([
      ['Warning', 'AccuracyDecay'],
      ['Normal', 'RetrainingStarted'],
    ]);
    expect(p.status.monitoring).toMatchObject({ lastJob: job.metadata?.name, lastAction: 'Retrain', lastActionAt: iso(T0) });
    expect(condition(p.status, 'DriftDetected')).toMatchObject({ status: 'True', reason: 'AccuracyDecay', message: expect.stringContaining('accuracy 0.7 < 0.9 over 500 labelled predictions') });
    // Retraining leaves serving alone.
    expect(p.status.stable?.name).toBe(rev('2'));
    expect(p.status.canary).toBeUndefined();
    expect(sizes(p)).toEqual({ [rev('2')]: 4 });
  });

  test('a reconcile whose status write was lost names the same Job within the cooldown slot, a new one in the next', () => {
    const name = check().jobs[0]?.metadata?.name;
    expect(check({ now: T0 + 60_000 }).jobs[0]?.metadata?.name).toBe(name);
    expect(check({ now: T0 + DAY }).jobs[0]?.metadata?.name).not.toBe(name);
  });

  test('Retrain waits out retraining.cooldownSeconds, not drift.cooldownSeconds', () => {
    const monitoring = { lastActionAt: iso(T0 - 2 * 3_600_000), lastAction: 'Retrain', lastJob: 'iris-retrain-earlier' };
    const held = check({ status: stableStatus('2', { monitoring }) });
    expect(held.jobs).toEqual([]);
    expect(reasons(held)).not.toContain('RetrainingStarted');
    expect(held.status.monitoring).toMatchObject({ lastJob: 'iris-retrain-earlier', lastActionAt: monitoring.lastActionAt });
    const due = check({ status: stableStatus('2', { monitoring: { ...monitoring, lastActionAt: iso(T0 - DAY) } }) });
    expect(due.jobs).toHaveLength(1);
  });

  test.each<[string, HealthObservation, { status: string; reason: string } | undefined]>([
    ['no Job when the measurement failed: inconclusive is never a breach', { error: 'Prometheus at http://prom:9090 unreachable' }, undefined],
    ['no Job on too few labels for an accuracy verdict', { maxFeaturePsi: 0.05, accuracy: 0.5, labels: 50 }, undefined],
    ['no Job on accuracy exactly at minAccuracy', { maxFeaturePsi: 0.05, accuracy: 0.9, labels: 500 }, { status: 'False', reason: 'Healthy' }],
  ])('%s', (_what, health, drift) => {
    const p = check({ health });
    expect(p.jobs).toEqual([]);
    expect(reasons(p)).not.toContain('RetrainingStarted');
    expect(p.status.monitoring?.lastJob).toBeUndefined();
    expect(condition(p.status, 'DriftDetected')).toEqual(drift ? expect.objectContaining(drift) : undefined);
  });

  test('a template outside the restricted profile (a CRD older than the operator let it in) starts no Job: a RetrainRefused Warning, and the action counts as an Alert', () => {
    // Built past the parse, as an object admitted by an older CRD reaches the plan step.
    const escalating = { ...JOB, template: { spec: { ...JOB.template.spec, serviceAccountName: 'namespace-admin' } } };
    const bypassed: ModelDeploymentSpec = { ...spec, monitoring: { ...spec.monitoring!, retraining: { ...spec.monitoring!.retraining!, jobTemplate: escalating } } };
    const p = check({ spec: bypassed });
    expect(p.jobs).toEqual([]);
    expect(p.events.map((e) => [e.type, e.reason])).toEqual([
      ['Warning', 'AccuracyDecay'],
      ['Warning', 'RetrainRefused'],
    ]);
    expect(p.events[1]!.message).toContain('spec.monitoring.retraining.jobTemplate.template.spec.serviceAccountName');
    expect(p.status.monitoring).toMatchObject({ lastAction: 'Alert', lastActionAt: iso(T0) });
    expect(p.status.monitoring?.lastJob).toBeUndefined();
  });
});

describe('warm-up before ready', () => {
  // The serving runtime reports its containers ready only after the model loaded, its digest
  // was checked and the warm-up inferences ran.
  const unread = { stable: { name: rev('1'), version: '1', uri: 'file:///m/1.onnx' } };

  test('the signature is read only from a pod that warmed up, has an address and stays', () => {
    expect(signaturesToRead(unread, [pod('1', 0, { containersReady: false })])).toEqual([]);
    expect(signaturesToRead(unread, [pod('1', 0, { deleting: true })])).toEqual([]);
    expect(signaturesToRead(unread, [pod('1', 0, { ip: undefined })])).toEqual([]);
    expect(signaturesToRead(unread, [pod('1', 0, { containersReady: false }), pod('1', 1)])).toEqual([{ revision: rev('1'), pod: pod('1', 1) }]);
    // Once known, a signature is not read again.
    expect(signaturesToRead(stableStatus('1'), [pod('1', 1)])).toEqual([]);
  });

  test('the first revision admits no pod and is not Ready while its pods warm up', () => {
    const p = plan(planInput({ status: unread, observed: [dep('1', 4, 0)], pods: [pod('1', 0, { containersReady: false }), pod('1', 1, { containersReady: false })] }));
    expect(p.podGates).toEqual([]);
    expect(condition(p.status, 'Ready')).toMatchObject({ status: 'False', reason: 'StableUnavailable' });
    expect(p.requeueAfterMs).toBe(2_000);
  });

  test('a warming canary holds its step; it advances once its Deployment reports the ready pod its weight needs', () => {
    const status = rollingStatus('1', '2', { currentStepIndex: 0 });
    const warming = plan(planInput({ spec: specV('2'), status, observed: [dep('1', 3), dep('2', 1, 0)], pods: [pod('2', 0, { containersReady: false, admitted: 'True' })] }));
    expect(warming.status.currentStepIndex).toBe(0);
    expect(reasons(warming)).not.toContain('StepAdvanced');
    expect(warming.requeueAfterMs).toBe(2_000);
    expect(analysisDue(specV('2', { rollout: { steps: [{ setWeight: 25 }], analysis: { metrics: [{ name: 'p99', kind: 'LatencyQuantile', max: 0.25 }] } } }), status, [dep('1', 3), dep('2', 1, 0)], T0)).toBe(false);
    const ready = plan(planInput({ spec: specV('2'), status, observed: [dep('1', 3), dep('2', 1, 1)] }));
    expect(ready.status.currentStepIndex).toBe(1);
    expect(reasons(ready)).toContain('StepAdvanced');
  });

  test.each<[string, number, { status: string; reason: string }, { status: string; reason: string }, string]>([
    ['no pod ready: the stable revision is not Ready, the reconcile converges', 0, { status: 'False', reason: 'StableUnavailable' }, { status: 'True', reason: 'Converging' }, 'Pending'],
    ['half the pods ready: still not Ready', 2, { status: 'False', reason: 'StableUnavailable' }, { status: 'True', reason: 'Converging' }, 'Pending'],
    ['every pod ready: Ready, reconciled', 4, { status: 'True', reason: 'StableAvailable' }, { status: 'False', reason: 'StableAvailable' }, 'Healthy'],
  ])('%s', (_what, ready, readyCondition, reconciling, phase) => {
    const p = plan(planInput({ status: stableStatus('1'), observed: [dep('1', 4, ready)] }));
    expect(condition(p.status, 'Ready')).toMatchObject(readyCondition);
    expect(condition(p.status, 'Reconciling')).toMatchObject(reconciling);
    expect(p.status.phase).toBe(phase);
    expect(p.requeueAfterMs).toBe(ready === 4 ? undefined : 2_000);
  });
});

describe('rollout paths', () => {
  test('abort during promotion: the canary goes back to zero, history says Aborted', () => {
    const status = rollingStatus('1', '2', { currentStepIndex: 2, canaryWeight: 100 });
    const observed = [dep('1', 3), dep('2', 4, 2)];
    // Without the abort, the canary grows to full size while the old stable keeps its pods.
    expect(sizes(plan(planInput({ spec: specV('2'), status, observed })))).toEqual({ [rev('1')]: 3, [rev('2')]: 4 });
    const p = plan(planInput({ spec: specV('2'), status, observed, ...command('abort') }));
    expect(sizes(p)).toEqual({ [rev('1')]: 4, [rev('2')]: 0 });
    expect(p.status).toMatchObject({ stable: { name: rev('1') }, canary: { name: rev('2') }, canaryWeight: 0, phase: 'RolledBack' });
    expect(p.status.history?.at(-1)).toMatchObject({ revision: rev('2'), outcome: 'Aborted', reason: expect.stringContaining('during promotion') });
    expect(condition(p.status, 'Stalled')).toMatchObject({ status: 'True', reason: 'RolloutAborted' });
    expect(p.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'RolloutAborted' }));
  });

  test('retry with nothing rolled back changes nothing but the command seen', () => {
    const status = rollingStatus('1', '2');
    const p = plan(planInput({ spec: specV('2'), status, observed: [dep('1', 3), dep('2', 1)], ...command('retry:1') }));
    expect(reasons(p)).not.toContain('RetryRequested');
    expect(p.status).toMatchObject({ canaryWeight: 25, currentStepIndex: 1, lastCommand: 'retry:1', canary: { signature: revision('2').signature } });
  });

  test('retry after a rollback re-reads the canary signature before any pod is admitted again', () => {
    const observed = [dep('1', 3), dep('2', 1)];
    const aborted = plan(planInput({ spec: specV('2'), status: rollingStatus('1', '2'), observed, ...command('abort') }));
    const pods = [pod('1', 0, { admitted: 'True' }), pod('2', 0, { admitted: 'False' })];
    const later = T0 + 60_000;
    const p = plan(planInput({ spec: specV('2'), status: aborted.status, observed: [dep('1', 4), dep('2', 0)], pods, now: later, ...command('retry') }));
    expect(p.status.canary?.signature).toBeUndefined();
    expect(p.podGates).toEqual([]);
    expect(signaturesToRead(p.status, pods)).toEqual([{ revision: rev('2'), pod: pods[1] }]);
    // The retry starts a new attempt at the first step; the aborted one keeps its single history entry.
    expect(p.status).toMatchObject({ currentStepIndex: 0, canaryWeight: 25, rolloutStartedAt: iso(later), stepStartedAt: iso(later) });
    expect(p.status.history?.map((h) => h.outcome)).toEqual(['Aborted']);
  });

  test('a rolled-back status written by an older operator (the Stalled condition only) still reads as rolled back', () => {
    const message = `analysis failed 3 time(s), more than failureLimit 2: p99 0.4 > 0.25. Stable 1 serves. ${HINT}`;
    const status = rollingStatus('1', '2', {
      canaryWeight: 0,
      conditions: [{ type: 'Stalled', status: 'True', reason: 'AnalysisFailed', message, lastTransitionTime: iso(T0 - 60_000) }],
      history: [{ revision: rev('2'), version: '2', outcome: 'RolledBack', reason: 'analysis failed', finishedAt: iso(T0 - 60_000) }],
    });
    const pods = [pod('2', 0, { admitted: 'True' })];
    const p = plan(planInput({ spec: specV('2'), status, observed: [dep('1', 4), dep('2', 1)], pods }));
    expect(p.status).toMatchObject({ canaryWeight: 0, phase: 'RolledBack', canary: { name: rev('2') } });
    expect(sizes(p)).toEqual({ [rev('1')]: 4, [rev('2')]: 0 });
    expect(p.podGates).toEqual([expect.objectContaining({ pod: pods[0]!.name, status: 'False', reason: 'AnalysisFailed' })]);
    expect(condition(p.status, 'Stalled')).toEqual({ status: 'True', reason: 'AnalysisFailed', message });
    expect(p.status.history).toHaveLength(1);
    expect(signaturesToRead({ ...status, canary: { ...revision('2'), signature: undefined } }, pods)).toEqual([]);
  });

  describe('freeze windows', () => {
    const frozenUntil = (end: string): ModelDeploymentSpec =>
      specV('2', { rollout: { steps: [{ setWeight: 25 }], freezeWindows: [{ name: 'launch', start: '2026-11-23T11:00:00Z', end }] } });

    test('the FreezeWindow Event marks entering the window, not every reconcile in it', () => {
      const spec = frozenUntil('2026-11-23T14:00:00Z');
      const first = plan(planInput({ spec, status: stableStatus('1'), observed: [dep('1', 4)] }));
      expect(reasons(first)).toEqual(['FreezeWindow']);
      const again = plan(planInput({ spec, status: first.status, observed: [dep('1', 4)], now: T0 + 60_000 }));
      expect(reasons(again)).toEqual([]);
      expect(again.status.canary).toBeUndefined();
      expect(condition(again.status, 'Progressing')).toMatchObject({ status: 'False', reason: 'FreezeWindow' });
    });

    test('a window ending within the minute is re-checked the moment it ends', () => {
      const p = plan(planInput({ spec: frozenUntil('2026-11-23T12:00:20Z'), status: stableStatus('1'), observed: [dep('1', 4)] }));
      expect(p.status.canary).toBeUndefined();
      expect(p.requeueAfterMs).toBe(20_000);
    });
  });

  describe('routing: Gateway API route weights against the replica split', () => {
    const routed = (type: string, weight: number): ModelDeploymentSpec =>
      specV('2', { rollout: { steps: [{ setWeight: weight }, { pause: {} }], trafficRouting: type === 'GatewayAPI' ? { type, httpRoute: 'iris' } : { type } } });

    test.each<[string, string, number, { stable: number; canary: number }, number | undefined]>([
      ['ReplicaRatio at 25%: 3 stable pods and 1 canary, no route', 'ReplicaRatio', 25, { stable: 3, canary: 1 }, undefined],
      ['ReplicaRatio at 50%: 2 and 2', 'ReplicaRatio', 50, { stable: 2, canary: 2 }, undefined],
      ['ReplicaRatio at 10%: the canary still gets a pod, coarser than asked', 'ReplicaRatio', 10, { stable: 3, canary: 1 }, undefined],
      ['GatewayAPI at 25%: stable keeps 4, the canary 1, the route 25', 'GatewayAPI', 25, { stable: 4, canary: 1 }, 25],
      ['GatewayAPI at 50%: stable keeps 4, the canary 2, the route 50', 'GatewayAPI', 50, { stable: 4, canary: 2 }, 50],
      ['GatewayAPI at 10%: the route carries exactly 10', 'GatewayAPI', 10, { stable: 4, canary: 1 }, 10],
    ])('%s', (_what, type, weight, want, routeWeight) => {
      const status = rollingStatus('1', '2', { canaryWeight: weight });
      const p = plan(planInput({ spec: routed(type, weight), status, observed: [dep('1', want.stable), dep('2', want.canary)] }));
      expect(sizes(p)).toEqual({ [rev('1')]: want.stable, [rev('2')]: want.canary });
      expect(p.routeWeight).toBe(routeWeight);
      expect(serviceRevision(p, 'canary')).toBe(rev('2'));
    });

    test('GatewayAPI: a rolled-back canary gets no route weight, and the canary Service follows stable', () => {
      const p = plan(planInput({ spec: routed('GatewayAPI', 25), status: rollingStatus('1', '2'), observed: [dep('1', 4), dep('2', 1)], ...command('abort') }));
      expect(p.routeWeight).toBe(0);
      expect(serviceRevision(p, 'canary')).toBe(rev('1'));
    });

    test('GatewayAPI: after promotion the route weight is 0 and the canary Service points at the new stable', () => {
      const status = rollingStatus('1', '2', { currentStepIndex: 2, canaryWeight: 100 });
      const p = plan(planInput({ spec: routed('GatewayAPI', 25), status, observed: [dep('1', 4), dep('2', 4)] }));
      expect(p.status.stable?.name).toBe(rev('2'));
      expect(p.routeWeight).toBe(0);
      expect(serviceRevision(p, 'canary')).toBe(rev('2'));
    });
  });
});

describe('health after promotion: defects found by these tables', () => {
  const BAD: HealthObservation = { maxFeaturePsi: 0.05, errorRate: 0.2, requests: 1000 };

  test('without a referenceProfile (allowed with maxErrorRate), a recovered stable clears DriftDetected', () => {
    const spec = modelDeploymentSpec.parse({ model: { uri: 'file:///m/2.onnx', version: '2' }, replicas: 4, monitoring: { drift: { maxErrorRate: 0.05 } } });
    const r = revisionHash(spec, IMAGE);
    const status = { stable: { ...revision('2'), name: r } };
    const observed = [{ ...dep('2', 4), name: `iris-${r}`, revision: r }];
    const breached = plan(planInput({ spec, status, observed, health: { errorRate: 0.2, requests: 1000 } }));
    expect(condition(breached.status, 'DriftDetected')).toMatchObject({ status: 'True', reason: 'ServingErrors' });
    // No PSI is measured without a profile: it is not shown as an inconclusive check either.
    expect(breached.status.monitoring?.measurements?.map((m) => m.metric)).toEqual(['error-rate']);
    const recovered = plan(planInput({ spec, status: breached.status, observed, health: { errorRate: 0.01, requests: 1000 }, now: T0 + 30_000 }));
    expect(condition(recovered.status, 'DriftDetected')).toMatchObject({ status: 'False', reason: 'Healthy' });
  });

  test('an accuracy below minAccuracy over too few labels is Inconclusive, not a Pass', () => {
    const spec = specV('2', { monitoring: { drift: { minAccuracy: 0.9, minLabels: 100 } } });
    const p = plan(planInput({ spec, status: stableStatus('2'), observed: [dep('2', 4)], health: { maxFeaturePsi: 0.05, accuracy: 0.5, labels: 50 } }));
    expect(p.status.monitoring?.measurements?.find((m) => m.metric === 'accuracy')).toMatchObject({ verdict: 'Inconclusive' });
  });

  test('GatewayAPI: a drift rollback keeps the route on ready pods until the previous revision serves', () => {
    const spec = specV('2', { rollout: { steps: [{ setWeight: 25 }], trafficRouting: { type: 'GatewayAPI', httpRoute: 'iris' } }, monitoring: { drift: { maxErrorRate: 0.05, action: 'Rollback' } } });
    const status = stableStatus('2', { previous: revision('1') });
    const p = plan(planInput({ spec, status, observed: [dep('2', 4), dep('1', 0)], pods: [pod('2', 0, { admitted: 'True' })], health: BAD }));
    expect(p.status.stable?.name).toBe(rev('1'));
    expect(p.routeWeight).toBe(100);
    expect(serviceRevision(p, 'canary')).toBe(rev('2'));
    // Once the previous revision has a ready pod, the route goes back to it and the drifted pods leave.
    const later = plan(planInput({ spec, status: p.status, observed: [dep('2', 4), dep('1', 4, 1)], pods: [pod('2', 0, { admitted: 'True' })], now: T0 + 5_000 }));
    expect(later.routeWeight).toBe(0);
    expect(later.podGates).toEqual([expect.objectContaining({ pod: pod('2', 0).name, status: 'False', reason: 'DriftRollback' })]);
  });

  test('drift action Rollback with a rolled-back canary present says why it only alerts, and counts an Alert', () => {
    const spec = specV('3', { monitoring: { drift: { maxErrorRate: 0.05, action: 'Rollback' } } });
    const status = rollingStatus('2', '3', { previous: revision('1'), canaryWeight: 0, rollout: { state: 'RolledBack', reason: 'AnalysisFailed', message: 'analysis failed' } });
    const p = plan(planInput({ spec, status, observed: [dep('2', 4), dep('3', 0), dep('1', 0)], health: BAD }));
    expect(p.status.stable?.name).toBe(rev('2'));
    expect(p.events.find((e) => e.reason === 'DriftRollback')?.message).toMatch(/rolled back; alerting only\. Set the spec to 1 to roll back to it$/);
    expect(p.status.monitoring?.lastAction).toBe('Alert');
  });

  test('with no previous revision kept, a Rollback that only alerted is recorded (and counted) as an Alert', () => {
    const spec = specV('2', { monitoring: { drift: { maxErrorRate: 0.05, action: 'Rollback' } } });
    const p = plan(planInput({ spec, status: stableStatus('2'), observed: [dep('2', 4)], health: BAD }));
    expect(p.status.stable?.name).toBe(rev('2'));
    expect(p.status.monitoring?.lastAction).toBe('Alert');
  });
});

// plan() as a specification of the reconciler's decisions, without any API server.
import { describe, expect, test } from '@jest/globals';
import type { ModelDeploymentStatus } from '../api/schema.ts';
import { analysisDue, plan, signaturesToRead, stepAnalysis, type ObservedPod } from './plan.ts';
import { revisionHash } from '../resources/revision.ts';
import { dep, IMAGE, planInput, pod, rev, SIG, sizes, specV, stableStatus, T0 } from './planFixtures.ts';
import { ANNOTATION_COMMAND, ANNOTATION_PAUSED } from '../api/reasons.ts';
import { PollMs } from '../rollout/poll.ts';

const input = planInput;

describe('plan', () => {
  test('the first revision goes straight to stable', () => {
    const p = plan(input({}));
    expect(p.status.stable?.name).toBe(rev('1'));
    expect(p.status.canary).toBeUndefined();
    expect(sizes(p)).toEqual({ [rev('1')]: 4 });
    expect(p.events.map((e) => e.reason)).toEqual(['NewRevision']);
    expect(p.status.phase).toBe('Pending'); // nothing ready yet
    expect(p.requeueAfterMs).toBe(2000);
  });

  test('once its pods are ready it is Healthy and needs no requeue', () => {
    const p = plan(input({ status: stableStatus('1'), observed: [dep('1', 4)] }));
    expect(p.status.phase).toBe('Healthy');
    expect(p.requeueAfterMs).toBeUndefined();
    expect(p.events).toEqual([]);
  });

  test('a new version starts a canary at the first weight, stable untouched in spec', () => {
    const p = plan(input({ spec: specV('2'), status: stableStatus('1'), observed: [dep('1', 4)] }));
    expect(p.status.canary?.name).toBe(rev('2'));
    expect(p.status.canaryWeight).toBe(25);
    expect(sizes(p)).toEqual({ [rev('1')]: 3, [rev('2')]: 1 });
    // The stable revision of the older spec is only resized, never re-templated.
    expect(p.scales).toEqual([{ name: `iris-${rev('1')}`, replicas: 3 }]);
    expect(p.status.phase).toBe('Progressing');
  });

  const rolling = (extra: Partial<ModelDeploymentStatus> = {}): ModelDeploymentStatus => ({
    ...stableStatus('1'),
    canary: { name: rev('2'), version: '2', uri: 'file:///m/2.onnx', signature: SIG },
    canaryWeight: 25,
    currentStepIndex: 1,
    stepStartedAt: new Date(T0).toISOString(),
    ...extra,
  });

  test('a command runs once per distinct annotation value', () => {
    const observed = [dep('1', 3), dep('2', 1)];
    const first = plan(input({ spec: specV('2'), status: rolling(), observed, annotations: { [ANNOTATION_COMMAND]: 'promote:a' } }));
    expect(first.status.currentStepIndex).toBe(2);
    expect(first.status.lastCommand).toBe('promote:a');
    const again = plan(input({ spec: specV('2'), status: rolling({ lastCommand: 'promote:a' }), observed, annotations: { [ANNOTATION_COMMAND]: 'promote:a' } }));
    expect(again.status.currentStepIndex).toBe(1);
  });

  test('promotion grows the canary to full size before the old stable goes', () => {
    const status = rolling({ currentStepIndex: 2, canaryWeight: 100 });
    const growing = plan(input({ spec: specV('2'), status, observed: [dep('1', 3), dep('2', 1)] }));
    expect(sizes(growing)).toEqual({ [rev('1')]: 3, [rev('2')]: 4 });
    expect(growing.status.stable?.name).toBe(rev('1'));
    const done = plan(input({ spec: specV('2'), status, observed: [dep('1', 3), dep('2', 4)] }));
    expect(done.status.stable?.name).toBe(rev('2'));
    // The old stable is kept at zero replicas, for a drift rollback, until the next promotion.
    expect(done.deleteDeployments).toEqual([]);
    expect(done.scales).toEqual([{ name: `iris-${rev('1')}`, replicas: 0 }]);
    expect(done.status.previous?.name).toBe(rev('1'));
    expect(done.status.history?.at(-1)).toMatchObject({ outcome: 'Promoted', version: '2' });
  });

  test('abort sends the canary to zero, stalls, and stays so until retry', () => {
    const observed = [dep('1', 3), dep('2', 1)];
    const aborted = plan(input({ spec: specV('2'), status: rolling(), observed, annotations: { [ANNOTATION_COMMAND]: 'abort' } }));
    expect(sizes(aborted)).toEqual({ [rev('1')]: 4, [rev('2')]: 0 });
    expect(aborted.status.phase).toBe('RolledBack');
    expect(aborted.events.map((e) => e.type)).toContain('Warning');
    const later = plan(input({ spec: specV('2'), status: aborted.status, observed: [dep('1', 4), dep('2', 0)], annotations: { [ANNOTATION_COMMAND]: 'abort' } }));
    expect(later.status.phase).toBe('RolledBack');
    // Reconciles read the rollout state back as data: the message stays the same, the hint never piles up.
    expect(aborted.status.rollout).toEqual({ state: 'RolledBack', reason: 'RolloutAborted', message: expect.stringContaining('rollout aborted by user') });
    const again = plan(input({ spec: specV('2'), status: later.status, observed: [dep('1', 4), dep('2', 0)], annotations: { [ANNOTATION_COMMAND]: 'abort' } }));
    expect(again.status.conditions).toEqual(aborted.status.conditions);
    expect(again.status.rollout).toEqual(aborted.status.rollout);
    const retried = plan(input({ spec: specV('2'), status: aborted.status, observed: [dep('1', 4), dep('2', 0)], annotations: { [ANNOTATION_COMMAND]: 'retry:1' } }));
    expect(retried.status.phase).toBe('Progressing');
    expect(retried.status.canaryWeight).toBe(25);
  });

  test('a pause annotation holds the rollout and shows Paused', () => {
    const p = plan(input({ spec: specV('2'), status: rolling({ currentStepIndex: 0 }), observed: [dep('1', 3), dep('2', 1)], annotations: { [ANNOTATION_PAUSED]: 'true' } }));
    expect(p.status.currentStepIndex).toBe(0);
    expect(p.status.phase).toBe('Paused');
  });

  test('returning the spec to the stable version drops the canary and records why', () => {
    const p = plan(input({ spec: specV('1'), status: rolling(), observed: [dep('1', 3), dep('2', 1)] }));
    expect(p.status.canary).toBeUndefined();
    expect(p.deleteDeployments).toEqual([`iris-${rev('2')}`]);
    expect(p.status.history?.at(-1)).toMatchObject({ outcome: 'Aborted', reason: expect.stringContaining('returned to the stable revision') });
  });

  describe('the schema gate and the readiness gate', () => {
    const fresh = (): ModelDeploymentStatus => {
      const r = rolling({ currentStepIndex: 0 });
      return { ...r, canary: { name: rev('2'), version: '2', uri: 'file:///m/2.onnx' } };
    };
    const pods = [pod('1', 0, { admitted: 'True' }), pod('2', 1)];

    test('the shell is asked to read the canary signature from a pod whose containers are ready', () => {
      expect(signaturesToRead(fresh(), pods).map((r) => r.revision)).toEqual([rev('2')]);
      expect(signaturesToRead(fresh(), [pod('2', 1, { containersReady: false })])).toEqual([]);
    });

    test('a canary that is not yet read is not admitted and its step does not advance', () => {
      const p = plan(input({ spec: specV('2'), status: fresh(), observed: [dep('1', 3), dep('2', 1, 0)], pods }));
      expect(p.podGates).toEqual([]);
      expect(p.status.currentStepIndex).toBe(0);
    });

    test('a compatible canary is admitted: its signature is kept and its pods get the gate', () => {
      const p = plan(input({ spec: specV('2'), status: fresh(), observed: [dep('1', 3), dep('2', 1, 0)], pods, signatures: { [rev('2')]: SIG } }));
      expect(p.status.canary?.signature).toEqual(SIG);
      expect(p.podGates).toEqual([expect.objectContaining({ pod: `iris-${rev('2')}-1`, status: 'True' })]);
      expect(p.events.map((e) => e.reason)).toContain('SchemaCheckPassed');
    });

    test('a canary whose generated warm-up failed is admitted with a Warning, and status keeps only its signature', () => {
      const read = { ...SIG, warmupFailure: 'Pad reflect: pre-pad (2) exceeds maximum allowed (0)' };
      const p = plan(input({ spec: specV('2'), status: fresh(), observed: [dep('1', 3), dep('2', 1, 0)], pods, signatures: { [rev('2')]: read } }));
      expect(p.status.canary?.signature).toEqual(SIG);
      expect(p.podGates).toEqual([expect.objectContaining({ pod: `iris-${rev('2')}-1`, status: 'True' })]);
      expect(p.events).toContainEqual({ type: 'Warning', reason: 'WarmupFailed', message: expect.stringContaining('Pad reflect') as unknown });
    });

    test('an incompatible canary never takes traffic: rolled back with the difference named', () => {
      const changed = { ...SIG, inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 5] }] };
      const p = plan(input({ spec: specV('2'), status: fresh(), observed: [dep('1', 3), dep('2', 1, 0)], pods, signatures: { [rev('2')]: changed } }));
      expect(p.status.phase).toBe('RolledBack');
      expect(p.podGates).toEqual([expect.objectContaining({ pod: `iris-${rev('2')}-1`, status: 'False', reason: 'SchemaIncompatible' })]);
      expect(sizes(p)).toEqual({ [rev('1')]: 4, [rev('2')]: 0 });
      const stalled = p.status.conditions?.find((c) => c.type === 'Stalled');
      expect(stalled?.reason).toBe('SchemaIncompatible');
      expect(stalled?.message).toMatch(/input "input".*shape/);
      expect(p.status.history?.at(-1)).toMatchObject({ outcome: 'RolledBack' });
    });

    test('schemaCheck Off admits any signature', () => {
      const changed = { inputs: [{ name: 'x', datatype: 'FP64', shape: [3] }], outputs: [] };
      const spec = specV('2', { rollout: { steps: [{ setWeight: 25 }, { pause: {} }], schemaCheck: 'Off' } });
      const status = { ...fresh(), canary: { name: revisionHash(spec, IMAGE), version: '2', uri: 'file:///m/2.onnx' } };
      const p = plan(input({ spec, status, observed: [dep('1', 3)], signatures: { [revisionHash(spec, IMAGE)]: changed } }));
      expect(p.status.canary?.signature).toEqual(changed);
    });

    test('the first revision records its signature and admits its own pods', () => {
      const status = { stable: { name: rev('1'), version: '1', uri: 'file:///m/1.onnx' } };
      const p = plan(input({ status, observed: [dep('1', 4, 0)], pods: [pod('1', 0), pod('1', 1)], signatures: { [rev('1')]: SIG } }));
      expect(p.status.stable?.signature).toEqual(SIG);
      expect(p.podGates.map((g) => g.status)).toEqual(['True', 'True']);
    });

    test('a canary that never becomes ready is rolled back after progressDeadlineSeconds', () => {
      const status = { ...fresh(), stepStartedAt: new Date(T0 - 601_000).toISOString() };
      const p = plan(input({ spec: specV('2'), status, observed: [dep('1', 3), dep('2', 1, 0)], pods: [pod('2', 1, { containersReady: false })] }));
      expect(p.status.conditions?.find((c) => c.type === 'Stalled')?.reason).toBe('ProgressDeadlineExceeded');
      expect(sizes(p)).toEqual({ [rev('1')]: 4, [rev('2')]: 0 });
    });
  });

  describe('canary analysis', () => {
    const withAnalysis = specV('2', {
      rollout: {
        steps: [{ setWeight: 25 }, { pause: { durationSeconds: 30 } }],
        analysis: { intervalSeconds: 10, failureLimit: 1, inconclusiveLimit: 2, metrics: [{ name: 'p99', kind: 'LatencyQuantile', max: 0.25 }] },
      },
    });
    const r2 = revisionHash(withAnalysis, IMAGE);
    const base = (extra: Partial<ModelDeploymentStatus> = {}): ModelDeploymentStatus => ({
      ...stableStatus('1'),
      canary: { name: r2, version: '2', uri: 'file:///m/2.onnx', signature: SIG },
      canaryWeight: 25,
      currentStepIndex: 1,
      stepStartedAt: new Date(T0 - 60_000).toISOString(),
      ...extra,
    });
    const observed = [dep('1', 3), { ...dep('2', 1), name: `iris-${r2}`, revision: r2 }];
    const canaryPod: ObservedPod = { name: 'canary-0', revision: r2, ip: '198.51.100.20', containersReady: true, admitted: 'True', deleting: false };
    const slow = [{ metric: 'p99', value: 0.4, samples: 500 }];

    test('a round is due once per interval while an admitted canary serves', () => {
      expect(analysisDue(withAnalysis, base(), observed, T0)).toBe(true);
      expect(analysisDue(withAnalysis, base({ analysis: { failures: 0, inconclusive: 0, measurements: [], lastRoundAt: new Date(T0 - 5_000).toISOString() } }), observed, T0)).toBe(false);
      expect(analysisDue(withAnalysis, base(), [dep('1', 3)], T0)).toBe(false);
    });

    test('a timed pause does not end until a round passes, and then it does', () => {
      const held = plan(input({ spec: withAnalysis, status: base(), observed }));
      expect(held.status.currentStepIndex).toBe(1);
      const passed = plan(input({ spec: withAnalysis, status: base(), observed, analysisRound: [{ metric: 'p99', value: 0.1, samples: 500 }] }));
      expect(passed.status.currentStepIndex).toBe(2);
    });

    test('each round records its measurements; a failure within the limit is a Warning Event', () => {
      const p = plan(input({ spec: withAnalysis, status: base(), observed, pods: [canaryPod], analysisRound: slow }));
      expect(p.status.analysis).toMatchObject({ failures: 1, lastVerdict: 'Fail', measurements: [expect.objectContaining({ metric: 'p99', value: 0.4, verdict: 'Fail' })] });
      expect(p.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'AnalysisFailed' })]);
      expect(p.podGates).toEqual([]);
    });

    test('failures beyond the limit roll back: gates False first, canary to zero, stable untouched', () => {
      const p = plan(input({ spec: withAnalysis, status: base({ analysis: { failures: 1, inconclusive: 0, measurements: [] } }), observed, pods: [canaryPod], analysisRound: slow }));
      expect(p.status.phase).toBe('RolledBack');
      expect(p.status.canaryWeight).toBe(0);
      expect(p.podGates).toEqual([expect.objectContaining({ pod: 'canary-0', status: 'False', reason: 'AnalysisFailed' })]);
      expect(sizes(p)[rev('1')]).toBe(4);
      expect(p.scales).toContainEqual({ name: `iris-${rev('1')}`, replicas: 4 });
      const warning = p.events.find((e) => e.type === 'Warning');
      expect(warning?.message).toMatch(/p99.*0\.4.*<= 0\.25/);
      expect(p.status.history?.at(-1)).toMatchObject({ outcome: 'RolledBack', version: '2' });
    });

    test('inconclusive rounds beyond the limit pause the rollout until resumed', () => {
      const unreachable = [{ metric: 'p99', error: 'Prometheus at http://x unreachable' }];
      const status = base({ analysis: { failures: 0, inconclusive: 2, consecutiveInconclusive: 2, measurements: [] } });
      const p = plan(input({ spec: withAnalysis, status, observed, analysisRound: unreachable }));
      expect(p.status.phase).toBe('Paused');
      expect(p.status.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe('AnalysisInconclusive');
      expect(p.events.map((e) => e.reason)).toContain('AnalysisInconclusive');
      const resumed = plan(input({ spec: withAnalysis, status: p.status, observed, annotations: { [ANNOTATION_COMMAND]: 'resume' } }));
      expect(resumed.status.analysis?.consecutiveInconclusive).toBe(0);
      expect(resumed.status.phase).toBe('Progressing');
    });

    test('with a PredictionAgreement metric, stable pods mirror to the canary Service while it rolls out', () => {
      const spec = specV('2', { rollout: { steps: [{ setWeight: 25 }], analysis: { shadowSampleRate: 0.5, metrics: [{ name: 'agree', kind: 'PredictionAgreement', min: 0.9 }] } } });
      const r = revisionHash(spec, IMAGE);
      const status = { ...base(), canary: { name: r, version: '2', uri: 'file:///m/2.onnx', signature: SIG } };
      const p = plan(input({ spec, status, observed: [dep('1', 3)], canaryServiceIP: '198.18.0.77' }));
      expect(JSON.parse(p.configMaps[0]!.data!['routing.json']!)).toEqual({ shadow: { url: 'http://198.18.0.77', sampleRate: 0.5, revision: r } });
      const none = plan(input({ spec: specV('1'), status: stableStatus('1'), observed: [dep('1', 4)], canaryServiceIP: '198.18.0.77' }));
      expect(JSON.parse(none.configMaps[0]!.data!['routing.json']!)).toEqual({ shadow: null });
    });
  });

  describe('a dark launch: the shadow step', () => {
    const AGREE = { name: 'agree', kind: 'PredictionAgreement', min: 0.9 };
    const ACCURACY = { name: 'accuracy', kind: 'Accuracy', min: 0.9 };
    const spec = specV('2', {
      rollout: { steps: [{ shadow: { durationSeconds: 300, sampleRate: 0.5 } }, { setWeight: 25 }, { pause: {} }], analysis: { failureLimit: 0, metrics: [AGREE, ACCURACY] } },
    });
    const dark = (extra: Partial<ModelDeploymentStatus> = {}): ModelDeploymentStatus => ({
      stable: { name: rev('1'), version: '1', uri: 'file:///m/1.onnx', signature: SIG },
      canary: { name: rev('2'), version: '2', uri: 'file:///m/2.onnx', signature: SIG },
      canaryWeight: 0,
      currentStepIndex: 0,
      stepStartedAt: new Date(T0 - 60_000).toISOString(),
      rolloutStartedAt: new Date(T0 - 60_000).toISOString(),
      ...extra,
    });
    const selectorOf = (p: ReturnType<typeof plan>, name: string): Record<string, string> | undefined => p.services.find((s) => s.metadata?.name === name)?.spec?.selector;

    test('the canary runs beside a whole stable at weight 0, takes mirrored requests at the step\'s rate, and no client reaches it', () => {
      const p = plan(input({ spec, status: dark(), observed: [dep('1', 4), dep('2', 2)], pods: [pod('2', 0, { admitted: 'True' })], canaryServiceIP: '198.18.0.77' }));
      expect(sizes(p)).toEqual({ [rev('1')]: 4, [rev('2')]: 2 });
      // The Service clients use selects stable only; the canary's own Service is the mirror's target.
      expect(selectorOf(p, 'iris')).toEqual({ 'siskin.dev/model-deployment': 'iris', 'siskin.dev/revision': rev('1') });
      expect(selectorOf(p, 'iris-canary')).toEqual({ 'siskin.dev/model-deployment': 'iris', 'siskin.dev/revision': rev('2') });
      expect(JSON.parse(p.configMaps[0]!.data!['routing.json']!)).toEqual({ shadow: { url: 'http://198.18.0.77', sampleRate: 0.5, revision: rev('2') } });
      expect(p.status.canaryWeight).toBe(0);
      expect(p.status.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe('ShadowRunning');
    });

    test('a canary that disagrees is rolled back during the shadow step, never having had weight', () => {
      const round = [{ metric: 'agree', value: 0.4, samples: 200 }];
      const p = plan(input({ spec, status: dark(), observed: [dep('1', 4), dep('2', 2)], analysisRound: round, canaryServiceIP: '198.18.0.77' }));
      expect(p.status.phase).toBe('RolledBack');
      expect(p.status.canaryWeight).toBe(0);
      expect(sizes(p)).toEqual({ [rev('1')]: 4, [rev('2')]: 0 });
      expect(p.status.history?.at(-1)).toMatchObject({ version: '2', outcome: 'RolledBack' });
      expect(JSON.parse(p.configMaps[0]!.data!['routing.json']!)).toEqual({ shadow: null });
    });

    test('a passing shadow step hands over to the first weight: from then on clients reach the canary', () => {
      const passed = plan(
        input({ spec, status: dark({ stepStartedAt: new Date(T0 - 300_000).toISOString() }), observed: [dep('1', 4), dep('2', 2)], analysisRound: [{ metric: 'agree', value: 0.99, samples: 200 }], canaryServiceIP: '198.18.0.77' }),
      );
      expect(passed.status.currentStepIndex).toBe(1);
      expect(passed.status.canaryWeight).toBe(25);
      expect(selectorOf(passed, 'iris')).toEqual({ 'siskin.dev/model-deployment': 'iris' });
      expect(sizes(passed)).toEqual({ [rev('1')]: 3, [rev('2')]: 1 });
    });

    test('a shadow step judges the canary on mirrored requests and leaves Accuracy out; other steps judge live traffic with every metric', () => {
      expect(stepAnalysis(spec, 0)).toEqual({ metrics: [expect.objectContaining(AGREE)], canaryMirrored: true });
      expect(stepAnalysis(spec, 1)).toEqual({ metrics: [expect.objectContaining(AGREE), expect.objectContaining(ACCURACY)], canaryMirrored: false });
    });

    test('without a rollout, and at weight 0 before the first setWeight, the Service clients use selects the stable revision', () => {
      const steady = plan(input({ spec: specV('1'), status: stableStatus('1'), observed: [dep('1', 4)] }));
      expect(selectorOf(steady, 'iris')).toEqual({ 'siskin.dev/model-deployment': 'iris', 'siskin.dev/revision': rev('1') });
    });
  });

  describe('freeze windows and Gateway API routing', () => {
    test('no new canary starts in a freeze window; it starts after', () => {
      const spec = specV('2', { rollout: { steps: [{ setWeight: 25 }], freezeWindows: [{ name: 'launch', start: '2026-11-23T11:00:00Z', end: '2026-11-23T12:30:00Z' }] } });
      const p = plan(input({ spec, status: stableStatus('1'), observed: [dep('1', 4)] }));
      expect(p.status.canary).toBeUndefined();
      expect(p.deployments).toEqual([]);
      expect(p.status.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ reason: 'FreezeWindow', message: expect.stringContaining('2026-11-23T12:30:00') });
      expect(p.events.map((e) => e.reason)).toEqual(['FreezeWindow']);
      expect(p.requeueAfterMs).toBe(PollMs.frozen); // re-checked while the window lasts, as often as a frozen rollout is
      const after = plan(input({ spec, status: p.status, observed: [dep('1', 4)], now: Date.parse('2026-11-23T12:30:00Z') }));
      expect(after.status.canary?.version).toBe('2');
    });

    test('a frozen rollout holds its step but still rolls back', () => {
      const spec = specV('2', { rollout: { steps: [{ setWeight: 25 }, { pause: { durationSeconds: 1 } }], freezeWindows: [{ name: 'nightly', days: ['Mon'], from: '00:00', to: '24:00' }] } });
      const r = revisionHash(spec, IMAGE);
      const status = { ...rolling(), canary: { name: r, version: '2', uri: 'file:///m/2.onnx', signature: SIG }, stepStartedAt: new Date(T0 - 60_000).toISOString() };
      const held = plan(input({ spec, status, observed: [dep('1', 3)] }));
      expect(held.status.currentStepIndex).toBe(1);
      expect(held.status.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe('FreezeWindow');
      const aborted = plan(input({ spec, status, observed: [dep('1', 3)], annotations: { [ANNOTATION_COMMAND]: 'abort' } }));
      expect(aborted.status.phase).toBe('RolledBack');
    });

    test('GatewayAPI: stable keeps full size, the route carries the weight once the canary is admitted', () => {
      const spec = specV('2', { rollout: { steps: [{ setWeight: 25 }, { pause: {} }], trafficRouting: { type: 'GatewayAPI', httpRoute: 'iris' } } });
      const r = revisionHash(spec, IMAGE);
      const status = { ...rolling(), canary: { name: r, version: '2', uri: 'file:///m/2.onnx', signature: SIG } };
      const p = plan(input({ spec, status, observed: [dep('1', 4)] }));
      expect(p.routeWeight).toBe(25);
      expect(sizes(p)).toEqual({ [rev('1')]: 4, [r]: 1 });
      const unadmitted = plan(input({ spec, status: { ...status, canary: { name: r, version: '2', uri: 'file:///m/2.onnx' } }, observed: [dep('1', 4)] }));
      expect(unadmitted.routeWeight).toBe(0);
      expect(plan(input({ spec: specV('1'), status: stableStatus('1'), observed: [dep('1', 4)] })).routeWeight).toBeUndefined();
    });
  });

  describe('the rollout state in status', () => {
    test.each<[string, () => ReturnType<typeof plan>, string, string]>([
      ['no rollout: Stable', () => plan(input({ status: stableStatus('1'), observed: [dep('1', 4)] })), 'Stable', 'RolloutComplete'],
      ['a canary rolling out: Progressing', () => plan(input({ spec: specV('2'), status: stableStatus('1'), observed: [dep('1', 4)] })), 'Progressing', 'WaitingForCanaryReady'],
      ['the pause annotation: Paused', () => plan(input({ spec: specV('2'), status: rolling(), observed: [dep('1', 3), dep('2', 1)], annotations: { [ANNOTATION_PAUSED]: 'true' } })), 'Paused', 'PausedByUser'],
      ['an abort: RolledBack', () => plan(input({ spec: specV('2'), status: rolling(), observed: [dep('1', 3), dep('2', 1)], annotations: { [ANNOTATION_COMMAND]: 'abort' } })), 'RolledBack', 'RolloutAborted'],
    ])('%s', (_, run, state, reason) => {
      expect(run().status.rollout).toMatchObject({ state, reason });
    });

    test('a rolled-back canary stays out because status says RolledBack, whatever the conditions say', () => {
      const observed = [dep('1', 4), dep('2', 0)];
      const rolledBack = rolling({ rollout: { state: 'RolledBack', reason: 'AnalysisFailed', message: 'analysis failed' }, conditions: [] });
      const p = plan(input({ spec: specV('2'), status: rolledBack, observed }));
      expect(p.status.phase).toBe('RolledBack');
      expect(sizes(p)).toEqual({ [rev('1')]: 4, [rev('2')]: 0 });
      expect(p.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'AnalysisFailed', message: expect.stringMatching(/^analysis failed\. Stable 1 serves/) });
      // And a Stalled condition alone no longer takes a canary out.
      const stalledOnly = rolling({ rollout: { state: 'Progressing', reason: 'RolloutInProgress', message: '' }, conditions: [{ type: 'Stalled', status: 'True', reason: 'AnalysisFailed', message: 'x', lastTransitionTime: new Date(T0).toISOString() }] });
      expect(plan(input({ spec: specV('2'), status: stalledOnly, observed: [dep('1', 3), dep('2', 1)] })).status.rollout?.state).toBe('Progressing');
    });

    test('an object written before status.rollout existed keeps its rolled-back canary out and gains the field', () => {
      const observed = [dep('1', 4), dep('2', 0)];
      const aborted = plan(input({ spec: specV('2'), status: rolling(), observed: [dep('1', 3), dep('2', 1)], annotations: { [ANNOTATION_COMMAND]: 'abort' } })).status;
      const { rollout: _new, ...legacy } = aborted;
      expect(_new?.state).toBe('RolledBack');
      const p = plan(input({ spec: specV('2'), status: legacy, observed, annotations: { [ANNOTATION_COMMAND]: 'abort' } }));
      expect(p.status.rollout).toEqual(aborted.rollout);
      expect(p.status.conditions).toEqual(aborted.conditions);
      expect(sizes(p)).toEqual({ [rev('1')]: 4, [rev('2')]: 0 });
      expect(signaturesToRead(legacy, [pod('2', 1)])).toEqual([]);
    });
  });
});

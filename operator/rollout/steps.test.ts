// The canary step machine as a specification: for each situation, the decision.
import { describe, expect, test } from '@jest/globals';
import { Reason } from '../api/reasons.ts';
import { nextStep, weightAt, type Step, type StepInput } from './steps.ts';

const STEPS: Step[] = [{ setWeight: 20 }, { pause: { durationSeconds: 60 } }, { setWeight: 50 }, { analysis: { durationSeconds: 30 } }, { pause: {} }];
/** A dark launch: five minutes on mirrored traffic, then the first clients. */
const DARK: Step[] = [{ shadow: { durationSeconds: 300, sampleRate: 0.5 } }, { setWeight: 20 }, { pause: {} }];
const T0 = Date.parse('2026-11-23T12:00:00Z');
// Internal testers first (by header), then percentages; the header route goes again at step 3.
const HEADER_STEPS: Step[] = [{ setHeaderRoute: { name: 'testers', match: [{ header: 'x-siskin-canary', value: 'true' }] } }, { pause: {} }, { setWeight: 50 }, { setHeaderRoute: { name: 'testers' } }];

function input(over: Partial<StepInput> & { stepIndex?: number; startedAgoS?: number; weight?: number }): StepInput {
  const { stepIndex = 0, startedAgoS = 0, weight = 0, ...rest } = over;
  return {
    steps: STEPS,
    riskTier: 'medium',
    state: { stepIndex, stepStartedAt: T0 - startedAgoS * 1000, weight },
    canaryReady: true,
    headerRoutesInPlace: true,
    paused: false,
    frozen: false,
    analysisPassing: true,
    now: T0,
    ...rest,
  };
}

describe('nextStep', () => {
  test.each<[string, Partial<StepInput> & { stepIndex?: number; startedAgoS?: number; weight?: number }, { kind: string; reason: string; stepIndex?: number; weight?: number; requeueAfterMs?: number }]>([
    ['setWeight waits for a ready canary', { canaryReady: false, weight: 20 }, { kind: 'Hold', reason: Reason.WaitingForCanary, requeueAfterMs: 2000 }],
    ['setWeight advances once the canary is ready', { weight: 20 }, { kind: 'Advance', reason: Reason.StepAdvanced, stepIndex: 1, weight: 20 }],
    ['a timed pause holds for the time left', { stepIndex: 1, startedAgoS: 45, weight: 20 }, { kind: 'Hold', reason: Reason.PausedForDuration, requeueAfterMs: 15000 }],
    ['a timed pause ends on time and the next weight is set', { stepIndex: 1, startedAgoS: 60, weight: 20 }, { kind: 'Advance', reason: Reason.StepAdvanced, stepIndex: 2, weight: 50 }],
    ['an analysis step holds while it runs', { stepIndex: 3, startedAgoS: 10, weight: 50 }, { kind: 'Hold', reason: Reason.AnalysisRunning, requeueAfterMs: 20000 }],
    ['an analysis step passes after its duration', { stepIndex: 3, startedAgoS: 30, weight: 50 }, { kind: 'Advance', reason: Reason.StepAdvanced, stepIndex: 4, weight: 50 }],
    ['an indefinite pause waits for a promote', { stepIndex: 4, startedAgoS: 99999, weight: 50 }, { kind: 'Hold', reason: Reason.PausedUntilPromoted }],
    ['promote completes an indefinite pause', { stepIndex: 4, weight: 50, command: 'promote' }, { kind: 'Advance', reason: Reason.PromotedManually, stepIndex: 5, weight: 50 }],
    ['promote cuts a timed pause short', { stepIndex: 1, startedAgoS: 1, weight: 20, command: 'promote' }, { kind: 'Advance', reason: Reason.PromotedManually, stepIndex: 2, weight: 50 }],
    ['after the last step the canary is promoted', { stepIndex: 5, weight: 50 }, { kind: 'Promote', reason: Reason.AllStepsCompleted }],
    ['a high-risk model waits for a person before full weight', { stepIndex: 5, weight: 50, riskTier: 'high' }, { kind: 'Hold', reason: Reason.AwaitingManualPromotion }],
    ['a manual promote releases a high-risk model', { stepIndex: 5, weight: 50, riskTier: 'high', command: 'promote' }, { kind: 'Promote', reason: Reason.PromotedManually }],
    ['promote-full skips every remaining step', { stepIndex: 1, weight: 20, command: 'promote-full' }, { kind: 'Promote', reason: Reason.PromotedFully }],
    ['abort wins at any step', { stepIndex: 2, weight: 50, command: 'abort' }, { kind: 'Abort', reason: Reason.AbortedByUser }],
    ['abort wins even in a freeze window', { stepIndex: 2, weight: 50, command: 'abort', frozen: true }, { kind: 'Abort', reason: Reason.AbortedByUser }],
    ['a freeze window holds a step that could advance', { stepIndex: 1, startedAgoS: 600, weight: 20, frozen: true }, { kind: 'Hold', reason: Reason.FreezeWindow, requeueAfterMs: 30000 }],
    ['a freeze window also holds promote-less completion', { stepIndex: 5, weight: 50, frozen: true }, { kind: 'Hold', reason: Reason.FreezeWindow }],
    ['a user pause holds a step that could advance', { stepIndex: 1, startedAgoS: 600, weight: 20, paused: true }, { kind: 'Hold', reason: Reason.PausedByUser }],
    ['a timed pause does not end without a passing analysis round', { stepIndex: 1, startedAgoS: 600, weight: 20, analysisPassing: false }, { kind: 'Hold', reason: Reason.AwaitingPassingAnalysis, requeueAfterMs: 5000 }],
    ['an analysis step does not pass on time alone', { stepIndex: 3, startedAgoS: 30, weight: 50, analysisPassing: false }, { kind: 'Hold', reason: Reason.AwaitingPassingAnalysis }],
    ['no promotion without a passing analysis round', { stepIndex: 5, weight: 50, analysisPassing: false }, { kind: 'Hold', reason: Reason.AwaitingPassingAnalysis }],
    ['setWeight does not wait for analysis: the rounds run at the new weight', { weight: 20, analysisPassing: false }, { kind: 'Advance', reason: Reason.StepAdvanced, stepIndex: 1 }],
    ['too many inconclusive rounds pause the rollout', { stepIndex: 1, startedAgoS: 600, weight: 20, analysisPaused: '4 inconclusive rounds in a row' }, { kind: 'Hold', reason: Reason.AnalysisInconclusive }],
    ['a manual promote overrides an inconclusive analysis', { stepIndex: 5, weight: 50, analysisPassing: false, command: 'promote' }, { kind: 'Promote', reason: Reason.PromotedManually }],
    ['no steps at all: promote once the canary is ready', { steps: [], canaryReady: true }, { kind: 'Promote', reason: Reason.AllStepsCompleted }],
    ['setHeaderRoute waits for a ready canary: header traffic reaches it at any weight', { steps: HEADER_STEPS, canaryReady: false }, { kind: 'Hold', reason: Reason.WaitingForCanary, requeueAfterMs: 2000 }],
    ['setHeaderRoute waits until its route is in place on the HTTPRoute', { steps: HEADER_STEPS, headerRoutesInPlace: false }, { kind: 'Hold', reason: Reason.AwaitingHeaderRoutes, requeueAfterMs: 2000 }],
    ['setHeaderRoute completes once its route is in place, leaving the weight as it was', { steps: HEADER_STEPS, weight: 0 }, { kind: 'Advance', reason: Reason.StepAdvanced, stepIndex: 1, weight: 0 }],
    ['a promote does not skip putting a header route in place', { steps: HEADER_STEPS, headerRoutesInPlace: false, command: 'promote' }, { kind: 'Hold', reason: Reason.AwaitingHeaderRoutes }],
    ['removing a header route completes once it is gone', { steps: HEADER_STEPS, stepIndex: 3, weight: 50 }, { kind: 'Advance', reason: Reason.StepAdvanced, stepIndex: 4, weight: 50 }],
    ['abort wins at a header route step', { steps: HEADER_STEPS, headerRoutesInPlace: false, command: 'abort' }, { kind: 'Abort', reason: Reason.AbortedByUser }],
    ['no steps at all: wait for the canary first', { steps: [], canaryReady: false }, { kind: 'Hold', reason: Reason.WaitingForCanary }],
    ['a shadow step waits for the canary\'s pods: it judges their answers', { steps: DARK, canaryReady: false }, { kind: 'Hold', reason: Reason.WaitingForCanary, stepIndex: 0 }],
    ['a shadow step holds at weight 0 while it runs', { steps: DARK, startedAgoS: 100 }, { kind: 'Hold', reason: Reason.ShadowRunning, requeueAfterMs: 200000 }],
    ['a shadow step passes after its duration, on a passing round', { steps: DARK, startedAgoS: 300 }, { kind: 'Advance', reason: Reason.StepAdvanced, stepIndex: 1, weight: 20 }],
    ['a shadow step does not pass on time alone', { steps: DARK, startedAgoS: 300, analysisPassing: false }, { kind: 'Hold', reason: Reason.AwaitingPassingAnalysis }],
    ['a manual promote ends a shadow step early', { steps: DARK, startedAgoS: 5, command: 'promote' }, { kind: 'Advance', reason: Reason.PromotedManually, stepIndex: 1 }],
  ])('%s', (_what, over, want) => {
    const d = nextStep(input(over));
    expect(d.kind).toBe(want.kind);
    expect(d.reason).toBe(want.reason);
    if (want.stepIndex !== undefined && (d.kind === 'Advance' || d.kind === 'Hold')) expect(d.state.stepIndex).toBe(want.stepIndex);
    if (want.weight !== undefined && d.kind === 'Advance') expect(d.state.weight).toBe(want.weight);
    if (d.kind === 'Advance') expect(d.state.stepStartedAt).toBe(T0);
    if (want.requeueAfterMs !== undefined && d.kind === 'Hold') expect(d.requeueAfterMs).toBe(want.requeueAfterMs);
    expect(d.message.length).toBeGreaterThan(0);
  });

  test('is deterministic: a restart that re-reads the same status decides the same', () => {
    const i = input({ stepIndex: 1, startedAgoS: 30, weight: 20 });
    expect(nextStep(i)).toEqual(nextStep(structuredClone(i)));
  });

  test.each([
    [0, 20],
    [1, 20],
    [2, 50],
    [4, 50],
    [9, 50],
  ])('weightAt(step %i) = %i', (index, weight) => {
    expect(weightAt(STEPS, index)).toBe(weight);
  });
});

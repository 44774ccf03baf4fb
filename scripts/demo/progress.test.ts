// What the demo prints (scripts/demo/progress.ts): the news between two observed statuses and
// the final summary. Pure functions, specified by tables.
import { describe, expect, test } from '@jest/globals';
import type { ModelDeploymentStatus } from '../../operator/api/schema.ts';
import { describeMeasurement, describeSplit, describeStatus, describeStep, formatSummary, stamp, statusChanges } from './progress.ts';

const STEPS = [{ setWeight: 25 }, { pause: { durationSeconds: 20 } }, { setWeight: 50 }, { pause: {} }];
const T = '2026-11-23T12:00:00Z';
const v1 = { name: 'aaaa111111', version: '1', uri: 'http://m/1' };
const v2 = { name: 'bbbb222222', version: '2', uri: 'http://m/2' };
const cond = (type: string, status: 'True' | 'False', reason: string, message = ''): NonNullable<ModelDeploymentStatus['conditions']>[number] => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: T,
});
const healthy: ModelDeploymentStatus = { phase: 'Healthy', stable: v1, conditions: [cond('Ready', 'True', 'StableAvailable')] };
const canaryAt = (step: number, weight: number, extra: Partial<ModelDeploymentStatus> = {}): ModelDeploymentStatus => ({
  ...healthy,
  phase: 'Progressing',
  canary: v2,
  currentStepIndex: step,
  canaryWeight: weight,
  ...extra,
});

describe('statusChanges', () => {
  test.each<[string, ModelDeploymentStatus | undefined, ModelDeploymentStatus, string[]]>([
    ['the first sight of a model', undefined, healthy, ['phase Healthy', 'stable: version 1 (revision aaaa111111)']],
    ['nothing new', healthy, healthy, []],
    ['a new canary at its first step', healthy, canaryAt(0, 0), ['phase Healthy -> Progressing', 'canary: version 2 (revision bbbb222222)', 'step 1/4: setWeight 25']],
    ['the weight follows the step', canaryAt(0, 0), canaryAt(1, 25), ['step 2/4: pause 20s', 'canary weight 0% -> 25%']],
    ['a pause until promoted', canaryAt(2, 50), canaryAt(3, 50), ['step 4/4: pause until promoted']],
    [
      'promotion: the canary becomes stable and weight returns to 0',
      canaryAt(3, 50),
      {
        ...healthy,
        stable: v2,
        canaryWeight: 0,
        history: [{ revision: v2.name, version: '2', outcome: 'Promoted', reason: 'all steps complete', finishedAt: T }],
      },
      [
        'phase Progressing -> Healthy',
        'stable is now version 2 (revision bbbb222222), was version 1',
        'canary weight 50% -> 0%',
        'rollout of version 2 ended: Promoted - all steps complete',
      ],
    ],
    [
      'a Stalled condition is news when it turns True',
      canaryAt(1, 25, { conditions: [cond('Stalled', 'False', 'NoRollout')] }),
      canaryAt(1, 0, {
        phase: 'RolledBack',
        conditions: [cond('Progressing', 'False', 'AnalysisFailed', 'metric latency-p99 = 0.31 violates <= 0.25'), cond('Stalled', 'True', 'AnalysisFailed', 'metric latency-p99 = 0.31 violates <= 0.25')],
      }),
      // Progressing=False with the same reason would say it twice.
      ['phase Progressing -> RolledBack', 'canary weight 25% -> 0%', 'Stalled True: AnalysisFailed - metric latency-p99 = 0.31 violates <= 0.25'],
    ],
    [
      'Progressing reasons, not their changing messages',
      canaryAt(0, 0, { conditions: [cond('Progressing', 'True', 'AwaitingAdmission', 'waiting for 1 pod')] }),
      canaryAt(0, 0, { conditions: [cond('Progressing', 'True', 'AwaitingAdmission', 'waiting for 0 pods')] }),
      [],
    ],
  ])('%s', (_name, prev, next, lines) => {
    expect(statusChanges(prev, next, STEPS)).toEqual(lines);
  });

  test('each new analysis round prints its measurements with value, bound and verdict', () => {
    const round = (at: string, value: number, verdict: 'Pass' | 'Fail'): ModelDeploymentStatus =>
      canaryAt(1, 25, {
        analysis: {
          failures: verdict === 'Fail' ? 1 : 0,
          inconclusive: 1,
          lastRoundAt: at,
          lastVerdict: verdict,
          measurements: [
            { metric: 'latency-p99', value, bound: '<= 0.25', verdict, ...(verdict === 'Fail' ? { reason: `${value} violates <= 0.25` } : {}), time: at },
            { metric: 'error-rate', bound: '<= 0.05', verdict: 'Inconclusive', reason: '3 samples in the window, 5 needed', time: at },
          ],
        },
      });
    const first = round('2026-11-23T12:00:10Z', 0.0123456, 'Pass');
    expect(statusChanges(canaryAt(1, 25), first, STEPS)).toEqual([
      'analysis round: Pass (2 metrics, failures so far 0)',
      '  latency-p99 = 0.01235 (bound <= 0.25): Pass',
      '  error-rate = - (bound <= 0.05): Inconclusive - 3 samples in the window, 5 needed',
    ]);
    // The same round read again is no news; the next one is.
    expect(statusChanges(first, first, STEPS)).toEqual([]);
    expect(statusChanges(first, round('2026-11-23T12:00:20Z', 0.3121, 'Fail'), STEPS)).toEqual([
      'analysis round: Fail (2 metrics, failures so far 1)',
      '  latency-p99 = 0.3121 (bound <= 0.25): FAIL - 0.3121 violates <= 0.25',
      '  error-rate = - (bound <= 0.05): Inconclusive - 3 samples in the window, 5 needed',
    ]);
  });

  test('only history entries after the last one seen are news, even when the bounded list shifts', () => {
    const entry = (v: string, finishedAt: string): NonNullable<ModelDeploymentStatus['history']>[number] => ({ revision: `r${v}`, version: v, outcome: 'Promoted', reason: 'done', finishedAt });
    const prev = { ...healthy, history: [entry('1', T), entry('2', '2026-11-23T12:01:00Z')] };
    const next = { ...healthy, history: [entry('2', '2026-11-23T12:01:00Z'), entry('3', '2026-11-23T12:02:00Z')] };
    expect(statusChanges(prev, next, STEPS)).toEqual(['rollout of version 3 ended: Promoted - done']);
  });
});

describe('describeStep and describeMeasurement', () => {
  test.each([
    [{ setWeight: 25 }, 'setWeight 25'],
    [{ pause: { durationSeconds: 30 } }, 'pause 30s'],
    [{ pause: {} }, 'pause until promoted'],
    [{ analysis: { durationSeconds: 60 } }, 'analysis 60s'],
    [undefined, 'done'],
  ])('%j → %s', (step, text) => {
    expect(describeStep(step)).toBe(text);
  });

  test('a relative bound shows the stable value measured over the same window', () => {
    expect(describeMeasurement({ metric: 'latency-p99', value: 0.02, stableValue: 0.01, bound: '<= 1.2 x stable (0.012)', verdict: 'Fail', reason: '0.02 violates <= 1.2 x stable (0.012)', time: T })).toBe(
      'latency-p99 = 0.02, stable 0.01 (bound <= 1.2 x stable (0.012)): FAIL - 0.02 violates <= 1.2 x stable (0.012)',
    );
  });
});

describe('describeStatus', () => {
  test('one line when a wait runs out: where the rollout stands and why', () => {
    const s = canaryAt(1, 25, {
      conditions: [cond('Progressing', 'True', 'PausedForDuration', 'step 2 of 4: 10s left'), cond('Stalled', 'False', 'NoRollout', 'nothing is stuck')],
      analysis: { failures: 0, inconclusive: 0, lastRoundAt: T, lastVerdict: 'Pass', measurements: [{ metric: 'latency-p99', value: 0.2448, bound: '<= 0.25', verdict: 'Pass', time: T }] },
    });
    expect(describeStatus(s, STEPS)).toBe(
      'phase Progressing; stable 1; canary 2 at 25% (step 2/4: pause 20s); Progressing: PausedForDuration - step 2 of 4: 10s left; last analysis Pass: latency-p99 = 0.2448 (bound <= 0.25): Pass',
    );
    expect(describeStatus(undefined, STEPS)).toBe('no status yet');
  });

  test('describeSplit names the weight, or what came after the canary', () => {
    expect(describeSplit({ version: '2', weight: 50, share: 49.51, answers: 612, errors: 0 })).toBe('at weight 50%:   canary served  49.5% of 612 answers');
    expect(describeSplit({ version: '3', weight: 'rolled back', share: 0, answers: 300, errors: 3 })).toBe('after rollback:  canary served   0.0% of 300 answers (3 errors)');
    expect(describeSplit({ version: '3', weight: 'rolled back', share: 0, answers: 233, errors: 0, timedOut: 3 })).toBe('after rollback:  canary served   0.0% of 233 answers (3 timed out after 5 s)');
    expect(describeSplit({ version: '3', weight: 25, share: 24, answers: 90, errors: 1, timedOut: 2 })).toBe('at weight 25%:   canary served  24.0% of 90 answers (1 errors, 2 timed out after 5 s)');
  });
});

describe('stamp', () => {
  test('prefixes the time of day', () => {
    expect(stamp(new Date('2026-11-23T09:05:07Z'), 'hello', 'UTC')).toBe('09:05:07  hello');
  });
});

describe('formatSummary', () => {
  test('outcomes, the time to rollback and the split at each weight', () => {
    expect(
      formatSummary(
        [
          {
            version: '2',
            expected: 'Promoted',
            outcome: 'Promoted',
            reason: 'all steps complete',
            durationMs: 95_400,
            splits: [
              { version: '2', weight: 25, share: 24.6, answers: 402, errors: 0 },
              { version: '2', weight: 50, share: 51.2, answers: 398, errors: 0 },
              { version: '2', weight: 'promoted', share: 100, answers: 160, errors: 0 },
            ],
          },
          {
            version: '3-slow',
            expected: 'RolledBack',
            outcome: 'RolledBack',
            reason: 'analysis failed',
            durationMs: 41_000,
            toRollbackMs: 17_200,
            drainMs: 420,
            decidingMeasurement: 'latency-p99 = 0.61 (bound <= 0.25): FAIL - 0.61 violates <= 0.25',
            splits: [
              { version: '3-slow', weight: 25, share: 23.9, answers: 180, errors: 2 },
              { version: '3-slow', weight: 'rolled back', share: 0, answers: 160, errors: 0 },
            ],
          },
          { version: '4', expected: 'Promoted', splits: [] },
        ],
        200_000,
      ),
    ).toEqual([
      'Summary',
      '  version 2: Promoted after 95.4 s - all steps complete',
      '    at weight 25%:   canary served  24.6% of 402 answers',
      '    at weight 50%:   canary served  51.2% of 398 answers',
      '    after promotion: canary served 100.0% of 160 answers',
      '  version 3-slow: RolledBack after 41.0 s - analysis failed',
      '    decided by: latency-p99 = 0.61 (bound <= 0.25): FAIL - 0.61 violates <= 0.25',
      '    first canary answer -> rollback decided: 17.2 s; decided -> last request routed to the canary: 0.4 s',
      '    at weight 25%:   canary served  23.9% of 180 answers (2 errors)',
      '    after rollback:  canary served   0.0% of 160 answers',
      '  version 4: did not finish (expected Promoted)',
      '  total: 200.0 s',
    ]);
  });
});

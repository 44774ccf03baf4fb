// What `kubectl siskin status` and `history` print for the states a ModelDeployment goes
// through: the whole view of a canary under analysis, then the lines each other state adds.
import { describe, expect, test } from '@jest/globals';
import type { ModelDeploymentStatus } from '../api/schema.ts';
import { formatNumber, formatTable, renderHistory, renderStatus, shortDuration, stepText, type ModelDeploymentView } from './render.ts';

const NOW = Date.parse('2026-11-23T12:10:00Z');
const SIG = { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }] };
const STEPS = [{ setWeight: 25 }, { analysis: { durationSeconds: 300 } }, { setWeight: 50 }, { pause: {} }];
type History = NonNullable<ModelDeploymentStatus['history']>;
const promoted = (version: string, finishedAt: string): History[number] => ({
  revision: `rev-${version}`,
  version,
  outcome: 'Promoted',
  reason: 'all steps completed',
  startedAt: new Date(Date.parse(finishedAt) - 240_000).toISOString(),
  finishedAt,
  modelCard: { owner: 'team-ml' },
});

const canaryUnderAnalysis = (): ModelDeploymentView => ({
  metadata: { name: 'iris', namespace: 'ml', generation: 3 },
  spec: { rollout: { steps: STEPS } },
  status: {
    observedGeneration: 3,
    phase: 'Progressing',
    stable: { name: '6f9c2b1d0a', version: '1', uri: 'https://models.example/iris-1.onnx', sha256: 'a'.repeat(64), signature: SIG },
    canary: { name: '7d1e4c2f3b', version: '2', uri: 'https://models.example/iris-2.onnx', sha256: 'b'.repeat(64) },
    canaryWeight: 25,
    currentStepIndex: 1,
    stepStartedAt: '2026-11-23T12:07:00Z',
    rolloutStartedAt: '2026-11-23T12:05:00Z',
    analysis: {
      failures: 1,
      inconclusive: 1,
      consecutiveInconclusive: 0,
      lastRoundAt: '2026-11-23T12:09:50Z',
      lastVerdict: 'Fail',
      measurements: [
        { metric: 'p99', value: 0.41234, stableValue: 0.2, bound: '<= 0.25', verdict: 'Fail', reason: 'above bound', time: '2026-11-23T12:09:50Z' },
        { metric: 'errors', value: 0, stableValue: 0.001, bound: '<= 1.2 x stable', verdict: 'Pass', time: '2026-11-23T12:09:50Z' },
        { metric: 'agreement', bound: '>= 0.95', verdict: 'Inconclusive', reason: '12 samples, need 50', time: '2026-11-23T12:09:50Z' },
      ],
    },
    conditions: [
      { type: 'Progressing', status: 'True', reason: 'RolloutInProgress', message: 'canary 2 at weight 25, step 2 of 4', lastTransitionTime: '2026-11-23T12:05:00Z' },
      { type: 'Ready', status: 'False', reason: 'RolloutInProgress', message: 'a rollout is in progress', lastTransitionTime: '2026-11-23T12:05:00Z' },
    ],
    replicas: 4,
    readyReplicas: 4,
    history: [promoted('0.9', '2026-11-20T10:12:00Z'), promoted('1', '2026-11-22T10:04:00Z')],
  },
});

describe('renderStatus', () => {
  test('a canary under analysis: versions, weight, step, measurements, conditions, history', () => {
    expect(renderStatus(canaryUnderAnalysis(), NOW)).toBe(
      `Name:            iris
Namespace:       ml
Phase:           Progressing
Stable:          1 (revision 6f9c2b1d0a)
  Model:         https://models.example/iris-1.onnx
  SHA-256:       ${'a'.repeat(64)}
  Signature:     input FP32[-1,4] -> label INT64[-1]
Canary:          2 (revision 7d1e4c2f3b)
  Model:         https://models.example/iris-2.onnx
  SHA-256:       ${'b'.repeat(64)}
  Signature:     not read yet
Canary weight:   25%
Step:            2/4: analysis for 300s
Step started:    2026-11-23T12:07:00Z (3m ago)
Rollout started: 2026-11-23T12:05:00Z (5m ago)
Replicas:        4 ready of 4

Analysis: last verdict Fail at 2026-11-23T12:09:50Z (10s ago); failures 1, inconclusive 1
  METRIC      VALUE    STABLE   BOUND             VERDICT        REASON
  p99         0.4123   0.2      <= 0.25           Fail           above bound
  errors      0        0.001    <= 1.2 x stable   Pass
  agreement   -        -        >= 0.95           Inconclusive   12 samples, need 50

Conditions:
  TYPE          STATUS   REASON              AGE   MESSAGE
  Progressing   True     RolloutInProgress   5m    canary 2 at weight 25, step 2 of 4
  Ready         False    RolloutInProgress   5m    a rollout is in progress

History:
  FINISHED   VERSION   REVISION   OUTCOME    DURATION   OWNER     REASON
  26h ago    1         rev-1      Promoted   4m         team-ml   all steps completed
  3d ago     0.9       rev-0.9    Promoted   4m         team-ml   all steps completed
`,
    );
  });

  const variant = (f: (md: ModelDeploymentView, s: ModelDeploymentStatus) => void): ModelDeploymentView => {
    const md = canaryUnderAnalysis();
    f(md, md.status!);
    return md;
  };
  test.each<[string, ModelDeploymentView, RegExp[], RegExp[]]>([
    [
      'a new object the operator has not seen',
      { metadata: { name: 'iris', namespace: 'ml', generation: 1 } },
      [/^Phase: +Unknown \(no status yet: is the Siskin operator running\?\)$/m, /^Stable: +-$/m, /^Canary: +none \(no rollout in progress\)$/m, /^Conditions: none$/m],
      [/^History/m, /^Analysis/m],
    ],
    [
      'a status of an older generation',
      variant((md) => (md.metadata.generation = 4)),
      [/^Generation: +4 \(status is for generation 3: the operator has not caught up yet\)$/m],
      [],
    ],
    [
      'a pause by annotation',
      variant((md) => (md.metadata.annotations = { 'siskin.dev/paused': 'true' })),
      [/^Paused: +yes, by annotation siskin\.dev\/paused=true \(kubectl siskin resume to go on\)$/m],
      [],
    ],
    [
      'a rolled-back canary: the rollout state says why',
      variant((_, s) => Object.assign(s, { phase: 'RolledBack', rollout: { state: 'RolledBack', reason: 'AnalysisFailed', message: 'analysis failed 2 time(s)' } })),
      [/^Rollout: +RolledBack \(AnalysisFailed\): analysis failed 2 time\(s\)$/m],
      [],
    ],
    [
      'a canary past its last step',
      variant((_, s) => Object.assign(s, { currentStepIndex: 4, canaryWeight: 100 })),
      [/^Step: +4\/4: promoting$/m, /^Canary weight: +100%$/m],
      [],
    ],
    [
      'inconclusive rounds in a row',
      variant((_, s) => Object.assign(s.analysis!, { lastVerdict: 'Inconclusive', consecutiveInconclusive: 4, inconclusive: 4 })),
      [/^Analysis: last verdict Inconclusive at .*; failures 1, inconclusive 4 \(4 in a row\)$/m],
      [],
    ],
    [
      'no rollout: the stable revision alone, its health and the autoscaler',
      variant((_, s) => {
        delete s.canary;
        delete s.analysis;
        s.autoscaling = { desiredReplicas: 6, reason: '120 req/s over target 20 per replica', recommendations: [] };
        s.monitoring = {
          lastCheckAt: '2026-11-23T12:09:30Z',
          lastAction: 'Alert',
          lastActionAt: '2026-11-23T11:10:00Z',
          measurements: [{ metric: 'feature-psi (petal_width)', value: 0.31, bound: '<= 0.2', verdict: 'Fail', time: '2026-11-23T12:09:30Z' }],
        };
      }),
      [
        /^Canary: +none \(no rollout in progress\)$/m,
        /^Autoscaler: +6 replicas: 120 req\/s over target 20 per replica$/m,
        /^Stable health: checked 2026-11-23T12:09:30Z \(30s ago\), last action Alert at 2026-11-23T11:10:00Z \(60m ago\)$/m,
        /^ {2}feature-psi \(petal_width\) +0\.31 +- +<= 0\.2 +Fail$/m,
      ],
      [/^Step:/m, /^Canary weight:/m, /^Analysis/m],
    ],
    [
      'a long history: only the latest rows, and where to find the rest',
      variant((_, s) => (s.history = ['1', '2', '3', '4', '5', '6', '7'].map((v, i) => promoted(v, `2026-11-1${i}T00:00:00Z`)))),
      [/^History \(latest 5 of 7: kubectl siskin history iris\):$/m, /^ {2}\S+ ago +7 /m],
      [/^ {2}\S+ ago +2 /m],
    ],
    [
      'a model scaled to zero: the activation state, why, and the port that holds requests',
      variant((_, s) => {
        delete s.canary;
        delete s.analysis;
        Object.assign(s, {
          phase: 'ScaledToZero',
          activation: { state: 'ScaledToZero', since: '2026-11-23T12:00:00Z', reason: 'no inference requests for 300s', port: 9417 },
        });
      }),
      [/^Phase: +ScaledToZero$/m, /^Activation: +ScaledToZero since 2026-11-23T12:00:00Z \(10m ago\): no inference requests for 300s; requests held by the activator on port 9417$/m],
      [/^Header routes:/m],
    ],
    [
      'header routes in place during a rollout',
      variant((_, s) => (s.headerRoutes = ['testers', 'qa'])),
      [/^Header routes: +testers, qa \(matching requests go to the canary whatever the weight\)$/m],
      [/^Activation:/m],
    ],
    [
      'the last command acted on',
      variant((_, s) => (s.lastCommand = 'promote:1795000000000')),
      [/^Last command: +promote:1795000000000$/m],
      [],
    ],
  ])('%s', (_, md, present, absent) => {
    const text = renderStatus(md, NOW);
    for (const re of present) expect(text).toMatch(re);
    for (const re of absent) expect(text).not.toMatch(re);
    // Aligned tables never leave trailing blanks.
    expect(text).not.toMatch(/ +$/m);
  });
});

describe('renderHistory', () => {
  test('every rollout, newest first, with outcome, duration, owner and reason', () => {
    const md = canaryUnderAnalysis();
    md.status!.history = [
      promoted('1', '2026-11-22T10:04:00Z'),
      { revision: 'rev-2', version: '2', outcome: 'RolledBack', reason: 'analysis failed 2 time(s): p99 0.41 > 0.25', finishedAt: '2026-11-23T12:00:00Z' },
    ];
    expect(renderHistory(md, NOW)).toBe(
      `FINISHED   VERSION   REVISION   OUTCOME      DURATION   OWNER     REASON
10m ago    2         rev-2      RolledBack   -          -         analysis failed 2 time(s): p99 0.41 > 0.25
26h ago    1         rev-1      Promoted     4m         team-ml   all steps completed
`,
    );
  });
  test('no rollouts yet', () => {
    expect(renderHistory({ metadata: { name: 'iris' }, status: {} }, NOW)).toBe('No rollouts recorded for iris yet.\n');
  });
});

describe('formatting helpers', () => {
  test.each<[number | undefined, number | undefined, string]>([
    [1, 4, '2/4: analysis for 300s'],
    [0, 4, '1/4: set weight 25%'],
    [3, 4, '4/4: pause until promoted'],
    [4, 4, '4/4: promoting'],
    [2, undefined, '3'],
    [undefined, 4, '-'],
  ])('stepText(%s, %s steps) is %s', (index, n, want) => {
    expect(stepText(index, n === undefined ? undefined : STEPS.slice(0, n))).toBe(want);
  });
  test('a timed pause names its duration', () => {
    expect(stepText(0, [{ pause: { durationSeconds: 60 } }])).toBe('1/1: pause 60s');
  });
  test('a header route step says whether it sets or removes the route', () => {
    const steps = [{ setHeaderRoute: { name: 'testers', match: [{ header: 'x-canary', value: 'true' }] } }, { setHeaderRoute: { name: 'testers' } }];
    expect(stepText(0, steps)).toBe('1/2: header route testers to the canary');
    expect(stepText(1, steps)).toBe('2/2: remove header route testers');
  });
  test('a shadow step says it runs at weight 0 on mirrored requests', () => {
    expect(stepText(0, [{ shadow: { durationSeconds: 300, sampleRate: 0.5 } }, { setWeight: 20 }])).toBe("1/2: shadow for 300s on 50% of stable's requests (weight 0)");
  });

  test.each<[number | undefined, string]>([
    [0.41234, '0.4123'],
    [0.25, '0.25'],
    [12, '12'],
    [0.000012346, '0.00001235'],
    [undefined, '-'],
    [Number.NaN, '-'],
  ])('formatNumber(%s) is %s', (v, want) => {
    expect(formatNumber(v)).toBe(want);
  });

  test.each<[number, string]>([
    [0, '0s'],
    [-5_000, '0s'],
    [119_000, '119s'],
    [120_000, '2m'],
    [7_199_000, '119m'],
    [7_200_000, '2h'],
    [47 * 3_600_000, '47h'],
    [48 * 3_600_000, '2d'],
  ])('shortDuration(%s ms) is %s', (ms, want) => {
    expect(shortDuration(ms)).toBe(want);
  });

  test('formatTable aligns columns three spaces apart and trims the last', () => {
    expect(formatTable(['A', 'LONGER'], [['xyz', ''], ['1', '2']], '  ')).toBe('  A     LONGER\n  xyz\n  1     2');
  });
});

// What status says when the operator cannot do what a spec asks: the conditions and when to warn.
import { describe, expect, test } from '@jest/globals';
import type { ModelDeploymentStatus } from '../api/schema.ts';
import { applyFailedStatus, invalidSpecStatus } from './failures.ts';

const AT = '2026-11-23T12:00:00.000Z';
const LATER = '2026-11-23T12:05:00.000Z';
const by = (s: { conditions?: { type: string; status: string; reason: string }[] }): Record<string, string> =>
  Object.fromEntries((s.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason}`]));

describe('invalidSpecStatus', () => {
  test('a new object: Stalled and not Ready, naming every field, phase Failed, a Warning', () => {
    const { status, event } = invalidSpecStatus({}, ['spec.serving.resources.requests.cpu: must be a quantity', 'spec.rollout.freezeWindows.0.timeZone: unknown time zone "Mars/Olympus_Mons"'], 3, AT);
    expect(status).toMatchObject({ observedGeneration: 3, phase: 'Failed' });
    expect(by(status as ModelDeploymentStatus)).toEqual({ Stalled: 'True InvalidSpec', Ready: 'False InvalidSpec', Reconciling: 'False InvalidSpec', Progressing: 'False InvalidSpec' });
    expect(event).toEqual({ type: 'Warning', reason: 'InvalidSpec', message: expect.stringMatching(/requests\.cpu: must be a quantity; spec\.rollout\.freezeWindows\.0\.timeZone: unknown time zone/) });
  });

  test('what the last valid spec recorded stays; the same problems again warn no more and change nothing', () => {
    const old = { stable: { name: 'abc', version: '1', uri: 'file:///m/1.onnx' }, history: [] };
    const first = invalidSpecStatus(old, ['spec.x: bad'], 4, AT);
    expect(first.status).toMatchObject(old);
    const again = invalidSpecStatus(first.status, ['spec.x: bad'], 4, LATER);
    expect(again.event).toBeUndefined();
    expect(again.status).toEqual(first.status);
    expect(invalidSpecStatus(first.status, ['spec.y: bad'], 5, LATER).event?.message).toContain('spec.y: bad');
  });

  test('a message longer than a condition should carry is cut', () => {
    const { status } = invalidSpecStatus({}, ['spec.x: ' + 'y'.repeat(10_000)], 1, AT);
    expect((status as ModelDeploymentStatus).conditions!.every((c) => c.message.length <= 2048)).toBe(true);
  });
});

describe('applyFailedStatus', () => {
  const refused = Object.assign(new Error('HTTP-Code: 422'), { code: 422, body: JSON.stringify({ kind: 'Status', message: 'Deployment.apps "iris-abc" is invalid: spec.selector: Invalid value: field is immutable' }) });

  test("the API server's own message, not Ready, still Reconciling; the rest of status untouched", () => {
    const old: ModelDeploymentStatus = { observedGeneration: 1, phase: 'Progressing', canaryWeight: 25, currentStepIndex: 1, conditions: [] };
    const { status, event } = applyFailedStatus(old, refused, 2, AT);
    expect(status).toMatchObject({ observedGeneration: 2, phase: 'Progressing', canaryWeight: 25, currentStepIndex: 1 });
    expect(by(status)).toEqual({ Ready: 'False ApplyFailed', Reconciling: 'True ApplyFailed' });
    expect(event?.message).toBe('applying the desired objects failed: Deployment.apps "iris-abc" is invalid: spec.selector: Invalid value: field is immutable');
  });

  test('a new object gets a status; the same failure again warns no more', () => {
    const first = applyFailedStatus({}, refused, 1, AT);
    expect(first.status.phase).toBe('Pending');
    expect(applyFailedStatus(first.status, refused, 1, LATER).event).toBeUndefined();
    expect(applyFailedStatus(first.status, new Error('connect ECONNREFUSED'), 1, LATER).event?.message).toContain('ECONNREFUSED');
  });
});

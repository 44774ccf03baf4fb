// plan() as a specification of the reconciler's decisions, without any API server.
import { describe, expect, test } from '@jest/globals';
import { modelDeploymentSpec, type ModelDeploymentStatus } from '../api/schema.ts';
import { revisionHash } from '../resources/revision.ts';
import { plan, type ObservedDeployment, type PlanInput } from './plan.ts';
import { ANNOTATION_COMMAND, ANNOTATION_PAUSED } from './reasons.ts';

const IMAGE = 'img:1';
const T0 = Date.parse('2026-11-23T12:00:00Z');
const specV = (v: string, over: Record<string, unknown> = {}): ReturnType<typeof modelDeploymentSpec.parse> =>
  modelDeploymentSpec.parse({ model: { uri: `file:///m/${v}.onnx`, version: v }, replicas: 4, rollout: { steps: [{ setWeight: 25 }, { pause: {} }] }, ...over });
const rev = (v: string): string => revisionHash(specV(v), IMAGE);
const dep = (v: string, specReplicas: number, ready = specReplicas): ObservedDeployment => ({
  name: `iris-${rev(v)}`,
  revision: rev(v),
  specReplicas,
  readyReplicas: ready,
  replicas: ready,
  upToDate: true,
});
const stableStatus = (v: string): ModelDeploymentStatus => ({ stable: { name: rev(v), version: v, uri: `file:///m/${v}.onnx` } });

function input(over: Partial<PlanInput>): PlanInput {
  return { owner: { name: 'iris', namespace: 'ml', uid: 'u1' }, generation: 1, annotations: {}, spec: specV('1'), status: {}, observed: [], now: T0, defaultImage: IMAGE, ...over };
}
const sizes = (p: ReturnType<typeof plan>): Record<string, number> =>
  Object.fromEntries([
    ...p.deployments.map((d): [string, number] => [d.metadata!.labels!['siskin.dev/revision']!, d.spec!.replicas!]),
    ...p.scales.map((s): [string, number] => [s.name.replace('iris-', ''), s.replicas]),
  ]);

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
    canary: { name: rev('2'), version: '2', uri: 'file:///m/2.onnx' },
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
    expect(done.deleteDeployments).toEqual([`iris-${rev('1')}`]);
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
});

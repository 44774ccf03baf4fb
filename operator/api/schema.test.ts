// The zod schema's defaults: what the operator reads from a minimal object must match what the
// API server fills in from the CRD generated from the same schema (tooling/crd.ts).
import { describe, expect, test } from '@jest/globals';
import { modelDeploymentSpec } from './schema.ts';

describe('modelDeploymentSpec', () => {
  test('parses a minimal object and fills the same defaults the API server applies', () => {
    const spec = modelDeploymentSpec.parse({ model: { uri: 'file:///models/iris.onnx', version: '1' } });
    expect(spec.replicas).toBe(1);
    expect(spec.rollout.schemaCheck).toBe('Strict');
    expect(spec.rollout.trafficRouting.type).toBe('ReplicaRatio');
    expect(spec.rollout.steps[0]).toEqual({ setWeight: 20 });
    expect(spec.serving.workers).toBe(1);
  });
});

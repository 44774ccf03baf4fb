// The model metadata answer across the process boundary: what the serving runtime answers to
// GET /v2/models/{name} for real ONNX models is what the operator's schema gate parses, and
// the signatures it yields compare as the models differ.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { modelMetadataPath } from '../../contract/http.ts';
import { compareSignatures, parseModelMetadata, type Signature } from '../../operator/analysis/schemaGate.ts';
import type { FixtureName } from '../fixtures/onnxModels.ts';
import { startServing, type TestServer } from '../fixtures/serving.ts';

/** The signature the operator reads from a server, by the path it requests (the versioned one with `version`). */
async function signatureOf(server: TestServer, version?: string): Promise<Signature> {
  const { modelName } = server.serving.ctx.config;
  const url = version === undefined ? modelMetadataPath(modelName) : `${modelMetadataPath(modelName)}/versions/${version}`;
  const res = await server.serving.app.inject({ method: 'GET', url });
  expect(res.statusCode).toBe(200);
  return parseModelMetadata(res.json());
}

describe('model metadata: serving answer → operator schema gate', () => {
  const fixtures: FixtureName[] = ['classifier.onnx', 'classifier-renamed.onnx', 'regressor.onnx', 'two-inputs.onnx'];
  const servers = new Map<FixtureName, TestServer>();
  beforeAll(async () => {
    for (const f of fixtures) servers.set(f, await startServing(f));
  });
  afterAll(async () => {
    for (const s of servers.values()) await s.close();
  });

  test.each(fixtures)('%s: the answer parses into a non-empty signature, dynamic batch dims as -1', async (fixture) => {
    const signature = await signatureOf(servers.get(fixture)!);
    expect(signature.inputs.length).toBeGreaterThan(0);
    expect(signature.outputs.length).toBeGreaterThan(0);
    for (const t of [...signature.inputs, ...signature.outputs]) expect(t.shape.every((d) => d === -1 || d > 0)).toBe(true);
  });

  test('the versioned path answers the same signature', async () => {
    const server = servers.get('classifier.onnx')!;
    expect(await signatureOf(server, server.serving.ctx.config.revision)).toEqual(await signatureOf(server));
  });

  test('the gate passes a model against itself and catches a renamed input', async () => {
    const stable = await signatureOf(servers.get('classifier.onnx')!);
    expect(compareSignatures(stable, await signatureOf(servers.get('classifier.onnx')!), 'Strict')).toEqual({ compatible: true });
    const verdict = compareSignatures(stable, await signatureOf(servers.get('classifier-renamed.onnx')!), 'Strict');
    expect(verdict.compatible).toBe(false);
  });
});

// Reference profile, drift and the data-quality breaker, end to end through the API.
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServing, tempDir } from '../../test/fixtures/serving.ts';
import type { TestServer } from '../../test/fixtures/serving.ts';
import { encodeInferRequest } from '../protocol/codec.ts';
import { parseProfile } from './profile.ts';

const edges = [-0.5, 0, 0.5];
const profile = {
  features: [0, 1, 2, 3].map((i) => ({ name: `f${i}`, input: 'input', index: i, edges, expected: [0.25, 0.25, 0.25, 0.25] })),
  prediction: { kind: 'classes', expected: [0.34, 0.33, 0.33] },
};

function binary(rows: number[][]): { payload: Buffer; headers: Record<string, string> } {
  const enc = encodeInferRequest([{ name: 'input', datatype: 'FP32', shape: [rows.length, 4], data: Float32Array.from(rows.flat()) }], { binary: true });
  return { payload: enc.body as Buffer, headers: { 'inference-header-content-length': String(enc.headerLength), 'content-type': 'application/octet-stream' } };
}

function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return Number(line?.split(' ').pop());
}

describe('parseProfile', () => {
  test.each([
    ['bins that do not match edges', { features: [{ name: 'a', input: 'x', edges: [0, 1], expected: [1] }] }, /one more entry than edges/],
    ['unsorted edges', { features: [{ name: 'a', input: 'x', edges: [1, 0], expected: [0.3, 0.3, 0.4] }] }, /strictly increasing/],
    ['no features array', {}, /features/],
  ])('rejects %s', (_what, raw, message) => {
    expect(() => parseProfile(raw)).toThrow(message);
  });
});

describe('data quality against a reference profile', () => {
  let server: TestServer;
  const tmp = tempDir();
  beforeAll(async () => {
    const path = join(tmp.dir, 'profile.json');
    writeFileSync(path, JSON.stringify(profile));
    server = await startServing('classifier.onnx', {
      SISKIN_REFERENCE_PROFILE: path,
      SISKIN_DRIFT_WINDOW: '100',
      SISKIN_BREAKER_ENABLED: 'true',
      SISKIN_BREAKER_MIN_REQUESTS: '4',
      SISKIN_BREAKER_THRESHOLD: '0.5',
    });
  });
  afterAll(async () => {
    await server?.close();
    tmp.remove();
  });
  const inject = (opts: { payload: Buffer; headers: Record<string, string> }) =>
    server.serving.app.inject({ method: 'POST', url: '/v2/models/tabular/infer', ...opts });

  test('PSI stays near 0 for inputs like the training data and rises when they shift', async () => {
    // One value per reference bin per feature: the window matches the profile exactly.
    const matching = [-1, -0.25, 0.25, 1].map((v) => [v, v, v, v]);
    for (let i = 0; i < 25; i++) expect((await inject(binary(matching))).statusCode).toBe(200);
    let text = (await server.serving.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metric(text, 'siskin_feature_psi', 'feature="f0"')).toBeCloseTo(0, 6);
    expect(text).toMatch(/siskin_prediction_psi\{model="tabular",revision="r1"\} [\d.e-]+/);
    // Feature f0 moves to the top bin; the others do not.
    for (let i = 0; i < 25; i++) await inject(binary(matching.map((r) => [5, ...r.slice(1)])));
    text = (await server.serving.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metric(text, 'siskin_feature_psi', 'feature="f0"')).toBeGreaterThan(1);
    expect(metric(text, 'siskin_feature_psi', 'feature="f1"')).toBeCloseTo(0, 6);
  });

  test('NaN and Inf are rejected with a 400 naming the feature, and the breaker opens then recovers', async () => {
    const nan = await inject(binary([[0, Number.NaN, 0, 0]]));
    expect(nan.statusCode).toBe(400);
    expect(nan.json<{ error: string }>().error).toMatch(/feature "f1" is NaN in row 0/);
    const inf = await inject(binary([[0, 0, Number.POSITIVE_INFINITY, 0]]));
    expect(inf.json<{ error: string }>().error).toMatch(/feature "f2" is Infinity/);
    await inject(binary([[Number.NaN, 0, 0, 0]]));
    await inject(binary([[Number.NaN, 0, 0, 0]]));
    // Four bad requests in a window of four: open. Good inputs are refused until the
    // bad share drops to half the threshold.
    const refused = await inject(binary([[0, 0, 0, 0]]));
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.json<{ error: string }>().error).toMatch(/data-quality breaker is open/);
    let text = (await server.serving.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metric(text, 'siskin_data_quality_breaker_open', 'model="tabular"')).toBe(1);
    expect((await inject(binary([[0, 0, 0, 0]]))).statusCode).toBe(503);
    expect((await inject(binary([[0, 0, 0, 0]]))).statusCode).toBe(200);
    text = (await server.serving.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metric(text, 'siskin_data_quality_breaker_open', 'model="tabular"')).toBe(0);
  });
});

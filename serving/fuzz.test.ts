// Fuzz: thousands of malformed or hostile requests, generated from a seeded PRNG so a
// failure reproduces. Every answer must be 4xx (or 503 when shedding) — never a 5xx from
// a crash — and the server must keep serving valid requests afterwards.
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { startServing } from '../test/fixtures/serving.ts';
import type { TestServer } from '../test/fixtures/serving.ts';
import { decodeInferResponse } from './protocol/codec.ts';
import { hostileRequest, prng, VALID_TWO_INPUTS_ANSWER, validTwoInputs } from '../test/fixtures/hostile.ts';

/** Requests sent by the fuzz test; recorded in the notes. */
const CASES = 4000;

describe('fuzzing the inference route', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServing('two-inputs.onnx', { SISKIN_BODY_LIMIT_BYTES: '262144', SISKIN_QUEUE_BOUND: '64' });
  });
  afterAll(async () => {
    await server?.close();
  });

  test(`${CASES} hostile requests get 4xx or 503, never a crash`, async () => {
    const rnd = prng(20261123);
    const statuses = new Map<number, number>();
    for (let i = 0; i < CASES; i++) {
      const c = hostileRequest(rnd);
      const res = await server.serving.app.inject({ method: 'POST', url: c.url, payload: c.payload, headers: c.headers });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode >= 500 && res.statusCode !== 503) {
        throw new Error(`case ${i} got ${res.statusCode}: ${res.body.slice(0, 300)}`);
      }
      if (res.statusCode >= 400) expect(res.json<{ error: string }>().error.length).toBeGreaterThan(0);
    }
    expect(statuses.get(400) ?? 0).toBeGreaterThan(CASES / 2);
    expect(statuses.get(404) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(413) ?? 0).toBeGreaterThan(0);

    const ok = await server.serving.app.inject({ method: 'POST', url: '/v2/models/tabular/infer', payload: validTwoInputs() });
    expect(ok.statusCode).toBe(200);
    expect(ok.json<{ outputs: { data: number[] }[] }>().outputs[0]!.data).toEqual(VALID_TWO_INPUTS_ANSWER);
    expect((await server.serving.app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(200);
  });
});

// Inputs that fit the signature but that the model refuses at run time, or on which it
// computes something JSON has no number for. Both are the client's data, never our fault.
describe('fuzzing what only the model can judge', () => {
  const ROUNDS = 300;
  type Answer = { statusCode: number; body: string; rawPayload: Buffer; headers: Record<string, unknown> };
  const post = (server: TestServer, payload: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Answer> =>
    server.serving.app.inject({ method: 'POST', url: '/v2/models/tabular/infer', payload, headers });
  const binaryRequest = (name: string, shape: number[], values: number[], binaryOutput: boolean): { payload: Buffer; headers: Record<string, string> } => {
    const data = Buffer.from(Float32Array.from(values).buffer);
    const head = Buffer.from(
      JSON.stringify({
        inputs: [{ name, datatype: 'FP32', shape, parameters: { binary_data_size: data.length } }],
        ...(binaryOutput ? { parameters: { binary_data_output: true } } : {}),
      }),
    );
    return { payload: Buffer.concat([head, data]), headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) } };
  };
  const metricValue = async (server: TestServer, pattern: RegExp): Promise<number> => {
    const text = (await server.serving.app.inject({ method: 'GET', url: '/metrics' })).body;
    return Number(pattern.exec(text)?.[1] ?? NaN);
  };

  describe('a reflect Pad on a dynamic sequence', () => {
    let server: TestServer;
    beforeAll(async () => {
      // Warm-up with every dynamic dimension at 1 is itself refused by this model.
      server = await startServing('reflect-pad-seq.onnx', { SISKIN_WARMUP: '0' });
    });
    afterAll(async () => {
      await server?.close();
    });

    test(`${ROUNDS} requests: a sequence too short for the padding is a 400 with onnxruntime's message, a long enough one is served`, async () => {
      const rnd = prng(16);
      const int = (n: number) => Math.floor(rnd() * n);
      let refused = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const batch = 1 + int(3);
        const seq = 1 + int(6);
        const values = Array.from({ length: batch * seq }, () => rnd() * 10 - 5);
        const binary = rnd() < 0.5;
        const res = binary
          ? await post(server, ...(Object.values(binaryRequest('input', [batch, seq], values, rnd() < 0.5)) as [Buffer, Record<string, string>]))
          : await post(server, JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [batch, seq], data: values }] }));
        if (seq <= 2) {
          refused++;
          expect([i, res.statusCode]).toEqual([i, 400]);
          const err = JSON.parse(res.body) as { error: string; code: string };
          expect(err.code).toBe('SISKIN_INPUT_REJECTED');
          expect(err.error).toMatch(/Pad reflect/);
        } else {
          expect([i, res.statusCode]).toEqual([i, 200]);
        }
      }
      expect(refused).toBeGreaterThan(ROUNDS / 6);
      expect(await metricValue(server, /siskin_rejected_inputs_total\{reason="model_rejected"[^}]*\} (\d+)/)).toBe(refused);
      expect(await metricValue(server, /siskin_requests_total\{[^}]*code="500"[^}]*\} (\d+)/)).toBe(0);
    });
  });

  describe('a regressor that overflows', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startServing('regressor-sum.onnx');
    });
    afterAll(async () => {
      await server?.close();
    });

    // One row of 4 features and the float32 sum the model must answer (MatMul with ones).
    const row = (rnd: () => number, binary: boolean): { values: number[]; expected: number } => {
      const kind = Math.floor(rnd() * (binary ? 5 : 4));
      const sign = rnd() < 0.5 ? -1 : 1;
      if (kind === 0) return { values: [3e38, 3e38, 3e38, 3e38].map((v) => v * sign), expected: sign * Infinity };
      if (kind === 1) return { values: [sign * Infinity, 1, 2, 3], expected: sign * Infinity }; // 1e400 in JSON
      if (kind === 2) return { values: [1e38, 1e38, 1e38, 1e38].map((v) => v * sign), expected: sign * Infinity }; // 4e38 > float32's max
      if (kind === 3) return { values: [0.5, 1.5, -2, 1], expected: 1 };
      return { values: [NaN, 0, 0, 0], expected: NaN };
    };
    const jsonNumber = (v: number): string => (v === Infinity ? '1e400' : v === -Infinity ? '-1e400' : String(v));

    test(`${ROUNDS} requests with non-finite results are answered 200: binary as is, JSON as "NaN"/"Infinity"/"-Infinity"`, async () => {
      const rnd = prng(400);
      for (let i = 0; i < ROUNDS; i++) {
        const binaryIn = rnd() < 0.4;
        const binaryOut = binaryIn && rnd() < 0.5;
        const rows = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => row(rnd, binaryIn));
        const values = rows.flatMap((r) => r.values);
        const res = binaryIn
          ? await post(server, ...(Object.values(binaryRequest('input', [rows.length, 4], values, binaryOut)) as [Buffer, Record<string, string>]))
          : await post(server, `{"id":"r${i}","inputs":[{"name":"input","datatype":"FP32","shape":[${rows.length},4],"data":[${values.map(jsonNumber).join(',')}]}]}`);
        expect([i, res.statusCode, res.body.slice(0, 200)]).toEqual([i, 200, expect.anything()]);
        const header = res.headers['inference-header-content-length'];
        const { outputs } = decodeInferResponse(Buffer.from(res.rawPayload), header === undefined ? undefined : Number(header));
        expect(Array.from(outputs[0]!.data as Float32Array)).toEqual(rows.map((r) => r.expected));
        if (header === undefined) {
          const data = (JSON.parse(res.body) as { outputs: { data: unknown[] }[] }).outputs[0]!.data;
          expect(data).toEqual(rows.map((r) => (Number.isFinite(r.expected) ? r.expected : String(r.expected))));
        }
      }
      // Labels for an overflowed prediction are scored, their infinite error skipped by the histogram.
      const overflow = await post(server, '{"id":"overflow","inputs":[{"name":"input","datatype":"FP32","shape":[1,4],"data":[1e400,0,0,0]}]}');
      expect(overflow.statusCode).toBe(200);
      const fb = await server.serving.app.inject({ method: 'POST', url: '/v2/models/tabular/feedback', payload: { labels: [{ id: overflow.headers['siskin-feedback-id'], label: 1 }] } });
      expect([fb.statusCode, fb.json<{ scored: number }>().scored]).toEqual([200, 1]);
      expect(await metricValue(server, /siskin_nonfinite_observations_total\{metric="siskin_prediction_value"[^}]*\} (\d+)/)).toBeGreaterThan(ROUNDS / 4);
      expect(await metricValue(server, /siskin_requests_total\{[^}]*code="500"[^}]*\} (\d+)/)).toBe(0);
    });
  });
});

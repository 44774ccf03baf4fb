// The OIP REST API through Fastify's inject(), on a real ONNX classifier in real workers.
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServing } from '../test/fixtures/serving.ts';
import type { TestServer } from '../test/fixtures/serving.ts';
import type { InjectOptions } from 'fastify';
import { decodeInferResponse, encodeInferRequest } from './protocol/codec.ts';

const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];

function jsonInfer(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: ROWS }], ...extra });
}

describe('OIP v2 REST API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServing('classifier.onnx', { SISKIN_BODY_LIMIT_BYTES: '65536' });
  });
  afterAll(async () => {
    await server?.close();
  });
  const inject = (opts: InjectOptions) => server.serving.app.inject(opts);

  test('health: live and ready once the model has loaded', async () => {
    expect((await inject({ method: 'GET', url: '/v2/health/live' })).json()).toEqual({ live: true });
    const ready = await inject({ method: 'GET', url: '/v2/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true });
    const modelReady = await inject({ method: 'GET', url: '/v2/models/tabular/ready' });
    expect(modelReady.json()).toEqual({ name: 'tabular', ready: true });
  });

  test('server metadata names the binary tensor extension', async () => {
    const res = await inject({ method: 'GET', url: '/v2' });
    expect(res.json()).toMatchObject({ name: 'siskin', extensions: expect.arrayContaining(['binary_tensor_data']) as unknown });
  });

  test('model metadata comes from the ONNX graph', async () => {
    const res = await inject({ method: 'GET', url: '/v2/models/tabular' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      name: 'tabular',
      versions: ['r1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
      // Generated inputs with one row ran: nothing longer was needed.
      warmup: { source: 'generated', ok: true, dynamicSize: 1 },
    });
  });

  test('JSON inference returns every output, with the id echoed', async () => {
    const res = await inject({ method: 'POST', url: '/v2/models/tabular/infer', headers: { 'content-type': 'application/json' }, payload: jsonInfer({ id: 'my-id' }) });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ id: string; model_name: string; outputs: { name: string; shape: number[]; data: number[] }[] }>();
    expect(body.id).toBe('my-id');
    expect(body.model_name).toBe('tabular');
    const probs = body.outputs.find((o) => o.name === 'probabilities')!;
    expect(probs.shape).toEqual([2, 3]);
    expect(probs.data.slice(0, 3).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const label = body.outputs.find((o) => o.name === 'label')!;
    expect(label.data).toHaveLength(2);
    label.data.forEach((l, i) => {
      const row = probs.data.slice(i * 3, i * 3 + 3);
      expect(l).toBe(row.indexOf(Math.max(...row)));
    });
  });

  test('requested outputs are honoured, and binary outputs carry binary_data_size', async () => {
    const res = await inject({
      method: 'POST',
      url: '/v2/models/tabular/infer',
      payload: jsonInfer({ outputs: [{ name: 'label', parameters: { binary_data: true } }] }),
    });
    expect(res.statusCode).toBe(200);
    const len = Number(res.headers['inference-header-content-length']);
    const header = JSON.parse(res.rawPayload.subarray(0, len).toString()) as { outputs: unknown[] };
    expect(header.outputs).toEqual([{ name: 'label', datatype: 'INT64', shape: [2], parameters: { binary_data_size: 16 } }]);
    expect(res.rawPayload.length).toBe(len + 16);
  });

  test('binary tensors in and out give the same answer as JSON', async () => {
    const viaJson = (await inject({ method: 'POST', url: '/v2/models/tabular/infer', payload: jsonInfer() })).json<{
      outputs: { name: string; data: number[] }[];
    }>();
    const enc = encodeInferRequest([{ name: 'input', datatype: 'FP32', shape: [2, 4], data: Float32Array.from(ROWS.flat()) }], { binary: true, id: 'b1' });
    const res = await inject({
      method: 'POST',
      url: '/v2/models/tabular/infer',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(enc.headerLength) },
      payload: enc.body,
    });
    expect(res.statusCode).toBe(200);
    // No binary outputs requested: the answer is plain JSON.
    const plain = res.json<{ id: string; outputs: { name: string; data: number[] }[] }>();
    expect(plain.id).toBe('b1');
    expect(plain.outputs).toEqual(viaJson.outputs);
    const allBinary = await inject({
      method: 'POST',
      url: '/v2/models/tabular/infer',
      payload: jsonInfer({ parameters: { binary_data_output: true } }),
    });
    const decoded = decodeInferResponse(allBinary.rawPayload, Number(allBinary.headers['inference-header-content-length']));
    expect(Array.from(decoded.outputs[0]!.data as Float32Array)).toEqual(viaJson.outputs[0]!.data.map((v) => Math.fround(v)));
  });

  test('a generated request id is echoed when the request has none, and in x-request-id', async () => {
    const res = await inject({ method: 'POST', url: '/v2/models/tabular/infer', payload: jsonInfer(), headers: { 'x-request-id': 'trace-42' } });
    expect(res.headers['x-request-id']).toBe('trace-42');
    expect(res.json<{ id: string }>().id).toBe('trace-42');
  });

  test.each([
    ['an unknown model', '/v2/models/other/infer', jsonInfer(), {}, 404, /model "other" is not served here/],
    ['malformed JSON', '/v2/models/tabular/infer', '{"inputs": [', {}, 400, /not valid JSON/],
    ['a wrong input name', '/v2/models/tabular/infer', jsonInfer().replace('"input"', '"inputz"'), {}, 400, /unknown input "inputz"/],
    ['a wrong datatype', '/v2/models/tabular/infer', jsonInfer().replace('FP32', 'FP64'), {}, 400, /datatype FP64 does not match the model's FP32/],
    ['a wrong shape', '/v2/models/tabular/infer', jsonInfer().replace('[2,4]', '[4,2]'), {}, 400, /does not match the model's \[-1,4\]/],
    ['a wrong element count', '/v2/models/tabular/infer', jsonInfer().replace('[2,4]', '[3,4]'), {}, 400, /has 8 elements but shape \[3,4\] needs 12/],
    ['an unknown requested output', '/v2/models/tabular/infer', jsonInfer({ outputs: [{ name: 'x' }] }), {}, 400, /requested output "x"/],
    ['a bad binary header', '/v2/models/tabular/infer', jsonInfer(), { 'inference-header-content-length': '99999' }, 400, /outside the body/],
    ['a body over the limit', '/v2/models/tabular/infer', 'x'.repeat(70_000), {}, 413, /exceeds the limit of 65536 bytes/],
  ])('%s gets %d naming the problem', async (_what, url, payload, headers, status, message) => {
    const res = await inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json', ...headers } });
    expect(res.statusCode).toBe(status);
    expect(res.json<{ error: string }>().error).toMatch(message);
  });

  test('metadata of an unknown model is a 404', async () => {
    expect((await inject({ method: 'GET', url: '/v2/models/nope' })).statusCode).toBe(404);
  });

  test('versioned routes answer for the served revision only', async () => {
    expect((await inject({ method: 'GET', url: '/v2/models/tabular/versions/r1' })).json()).toMatchObject({ name: 'tabular', versions: ['r1'] });
    expect((await inject({ method: 'GET', url: '/v2/models/tabular/versions/r1/ready' })).statusCode).toBe(200);
    expect((await inject({ method: 'POST', url: '/v2/models/tabular/versions/r1/infer', payload: jsonInfer() })).statusCode).toBe(200);
    const other = await inject({ method: 'POST', url: '/v2/models/tabular/versions/r0/infer', payload: jsonInfer() });
    expect(other.statusCode).toBe(404);
    expect(other.json<{ error: string }>().error).toBe('model "tabular" has no version "r0"');
  });

  test('/metrics exposes request, batch and queue series labelled with model and revision', async () => {
    await inject({ method: 'POST', url: '/v2/models/tabular/infer', payload: jsonInfer() });
    const text = (await inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/siskin_requests_total\{route="\/v2\/models\/:name\/infer",code="200",model="tabular",revision="r1"\} \d+/);
    expect(text).toMatch(/siskin_requests_total\{route="\/v2\/models\/:name\/infer",code="400",model="tabular",revision="r1"\} \d+/);
    expect(text).toContain('siskin_request_duration_seconds_bucket{le="0.0001",model="tabular",revision="r1",route="/v2/models/:name/infer"}');
    // No reference profile: no drift series that would read as "no drift".
    expect(text).not.toContain('siskin_prediction_psi{');
    expect(text).toMatch(/siskin_batch_size_rows_count\{model="tabular",revision="r1"\} [1-9]/);
    expect(text).toMatch(/siskin_queue_duration_seconds_count\{model="tabular",revision="r1"\} [1-9]/);
    expect(text).toMatch(/siskin_predictions_total\{class="\d",model="tabular",revision="r1"\} [1-9]/);
    expect(text).toMatch(/siskin_model_ready\{model="tabular",revision="r1"\} 1/);
    expect(text).toMatch(/siskin_rejected_inputs_total\{reason="invalid_tensor",model="tabular",revision="r1"\} [1-9]/);
  });

  test('feedback scores labels against remembered predictions and reports unknown ids', async () => {
    const res = await inject({ method: 'POST', url: '/v2/models/tabular/infer', payload: jsonInfer({ id: 'fb-1' }) });
    const answer = res.json<{ id: string; parameters: { feedback_id: string }; outputs: { name: string; data: number[] }[] }>();
    const labels = answer.outputs.find((o) => o.name === 'label')!.data;
    // The client's id is echoed; the id to post labels with is the server's.
    expect(answer.id).toBe('fb-1');
    const id = answer.parameters.feedback_id;
    expect(res.headers['siskin-feedback-id']).toBe(id);
    const fb = await inject({
      method: 'POST',
      url: '/v2/models/tabular/feedback',
      payload: { labels: [{ id, label: [labels[0]!, labels[1]! + 1] }, { id: 'never-seen', label: 1 }] },
    });
    expect(fb.statusCode).toBe(200);
    expect(fb.json()).toEqual({ scored: 2, correct: 1, unknown: 1, unknown_ids: ['never-seen'], mismatched_ids: [] });
    const text = (await inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/siskin_feedback_correct_total\{model="tabular",revision="r1"\} 1/);
    expect(text).toMatch(/siskin_feedback_labels_total\{outcome="unknown",model="tabular",revision="r1"\} 1/);
    const bad = await inject({ method: 'POST', url: '/v2/models/tabular/feedback', payload: { labels: [{ id: 'x' }] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: string }>().error).toMatch(/label/);
  });

  test('two clients sending the same request id keep their own predictions', async () => {
    const rowsOf = (first: number[]): number[] => [...first, ...[0.1, 0.2, 0.3, 0.4]];
    const answers = [];
    for (const first of [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]) {
      const res = await inject({ method: 'POST', url: '/v2/models/tabular/infer', payload: { id: 'same', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: rowsOf(first) }] } });
      answers.push(res.json<{ parameters: { feedback_id: string }; outputs: { name: string; data: number[] }[] }>());
    }
    const [a, b] = answers as [(typeof answers)[0], (typeof answers)[0]];
    expect(a.parameters.feedback_id).not.toBe(b.parameters.feedback_id);
    const label = (x: typeof a): number[] => x.outputs.find((o) => o.name === 'label')!.data;
    const fb = await inject({
      method: 'POST',
      url: '/v2/models/tabular/feedback',
      payload: { labels: [{ id: a.parameters.feedback_id, label: label(a) }, { id: b.parameters.feedback_id, label: label(b) }, { id: 'same', label: label(a) }] },
    });
    // Both predictions are there and right; the client-chosen id names neither.
    expect(fb.json()).toEqual({ scored: 4, correct: 4, unknown: 1, unknown_ids: ['same'], mismatched_ids: [] });
  });
});

describe('bearer-token auth', () => {
  let server: TestServer;
  let removeTokens: (() => void) | undefined;
  beforeAll(async () => {
    const { tempDir } = await import('../test/fixtures/serving.ts');
    const t = tempDir();
    removeTokens = t.remove;
    const tokens = join(t.dir, 'tokens');
    writeFileSync(tokens, '# mounted from a Secret\ns3cret-token\n');
    server = await startServing('classifier.onnx', { SISKIN_AUTH_TOKEN_FILE: tokens });
  });
  afterAll(async () => {
    await server?.close();
    removeTokens?.();
  });

  test.each([
    ['no token', {}, 401],
    ['a wrong token', { authorization: 'Bearer nope' }, 401],
    ['the right token', { authorization: 'Bearer s3cret-token' }, 200],
  ])('inference with %s → %d', async (_what, headers, status) => {
    const res = await server.serving.app.inject({ method: 'POST', url: '/v2/models/tabular/infer', payload: jsonInfer(), headers });
    expect(res.statusCode).toBe(status);
  });

  test('sampled payload logs carry the request id and never the token', async () => {
    const { tempDir } = await import('../test/fixtures/serving.ts');
    const t = tempDir();
    const tokens = join(t.dir, 'tokens');
    writeFileSync(tokens, 'very-secret\n');
    const lines: string[] = [];
    const logged = await startServing(
      'classifier.onnx',
      { SISKIN_AUTH_TOKEN_FILE: tokens, SISKIN_LOG_LEVEL: 'info', SISKIN_PAYLOAD_LOG_SAMPLE_RATE: '1' },
      { logStream: { write: (l: string) => void lines.push(l) } },
    );
    try {
      const res = await logged.serving.app.inject({
        method: 'POST',
        url: '/v2/models/tabular/infer',
        payload: jsonInfer(),
        headers: { authorization: 'Bearer very-secret', 'x-request-id': 'log-me' },
      });
      expect(res.statusCode).toBe(200);
      await logged.serving.app.inject({ method: 'POST', url: '/v2/models/tabular/infer', payload: '{', headers: { authorization: 'Bearer very-secret' } });
    } finally {
      await logged.close();
      t.remove();
    }
    const payloadLine = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'sampled inference payload');
    expect(payloadLine).toMatchObject({ reqId: 'log-me', payload: { inputs: [{ name: 'input', shape: [2, 4] }] } });
    expect(lines.some((l) => l.includes('"code":400'))).toBe(true);
    expect(lines.join('')).not.toContain('very-secret');
  });

  test('health and metrics stay open', async () => {
    expect((await server.serving.app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(200);
    expect((await server.serving.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });
});

describe('a regressor', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServing('regressor.onnx');
  });
  afterAll(async () => {
    await server?.close();
  });

  test('feedback turns into absolute errors, and predictions into the value histogram', async () => {
    const res = await server.serving.app.inject({
      method: 'POST',
      url: '/v2/models/tabular/infer',
      payload: { id: 'r-1', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: ROWS }] },
    });
    const values = res.json<{ outputs: { data: number[] }[] }>().outputs[0]!.data;
    const fb = await server.serving.app.inject({
      method: 'POST',
      url: '/v2/models/tabular/feedback',
      payload: { labels: [{ id: res.headers['siskin-feedback-id'], label: [values[0]! + 0.5, values[1]! - 2] }] },
    });
    // Regressors have no "correct" count.
    expect(fb.json()).toEqual({ scored: 2, unknown: 0, unknown_ids: [], mismatched_ids: [] });
    const text = (await server.serving.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/siskin_feedback_absolute_error_sum\{model="tabular",revision="r1"\} 2\.5/);
    expect(text).toMatch(/siskin_feedback_absolute_error_count\{model="tabular",revision="r1"\} 2/);
    expect(text).toMatch(/siskin_prediction_value_count\{model="tabular",revision="r1"\} 2/);
  });
});

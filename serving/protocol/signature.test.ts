import { describe, test, expect } from '@jest/globals';
import { hasBatchDimension, validateRequest } from './signature.ts';
import type { Signature } from './signature.ts';
import type { Tensor } from './tensor.ts';

const sig: Signature = {
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [-1, 2] },
    { name: 'k', datatype: 'INT64', shape: [-1, 1] },
  ],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
};

const x = (rows: number, cols = 2, datatype: 'FP32' | 'FP64' = 'FP32'): Tensor => ({
  name: 'x',
  datatype,
  shape: [rows, cols],
  data: datatype === 'FP32' ? new Float32Array(rows * cols) : new Float64Array(rows * cols),
});
const k = (rows: number): Tensor => ({ name: 'k', datatype: 'INT64', shape: [rows, 1], data: new BigInt64Array(rows) });

describe('validateRequest', () => {
  test('returns the rows along the batch dimension', () => {
    expect(validateRequest(sig, [x(3), k(3)], undefined)).toBe(3);
  });

  test.each([
    ['an unknown input', [x(1), k(1), { ...k(1), name: 'z' }], undefined, /unknown input "z"; the model takes "x", "k"/],
    ['a missing input', [x(1)], undefined, /missing input "k"/],
    ['a wrong datatype', [x(1, 2, 'FP64'), k(1)], undefined, /input "x": datatype FP64 does not match the model's FP32/],
    ['a wrong rank', [{ ...x(1), shape: [2] }, k(1)], undefined, /has rank 1, the model expects \[-1,2\]/],
    ['a wrong fixed dimension', [x(1, 3), k(1)], undefined, /does not match the model's \[-1,2\] at dimension 1/],
    ['inputs with different batch sizes', [x(2), k(3)], undefined, /disagree on the batch dimension/],
    ['an empty batch', [x(0), k(0)], undefined, /batch dimension is 0/],
    ['an unknown requested output', [x(1), k(1)], [{ name: 'nope', binary: false }], /requested output "nope" is not an output/],
  ])('rejects %s', (_what, inputs, requested, message) => {
    expect(() => validateRequest(sig, inputs, requested)).toThrow(message);
  });
});

describe('hasBatchDimension', () => {
  test.each([
    ['symbolic leading dims everywhere', sig, true],
    ['a fixed leading dim', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], outputs: sig.outputs }, false],
    ['a scalar output', { inputs: sig.inputs, outputs: [{ name: 'y', datatype: 'FP32', shape: [] }] }, false],
  ])('%s → %s', (_what, s, expected) => {
    expect(hasBatchDimension(s)).toBe(expected);
  });
});

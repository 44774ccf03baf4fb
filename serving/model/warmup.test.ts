// Warm-up inputs as data: which shapes generated inputs take, in which order sizes are
// tried, and which user-given samples are refused before any run.
import { describe, expect, test } from '@jest/globals';
import { ModelLoadError } from '../errors.ts';
import type { Signature } from '../protocol/signature.ts';
import { MAX_GENERATED_ELEMENTS, filledTensor, generatedCandidates, generatedInputs, generatedShape, sampleInputs } from './warmup.ts';

// Laid out like a published streaming audio model.
const audio: Signature = {
  inputs: [
    { name: 'audio', datatype: 'FP32', shape: [-1, -1] },
    { name: 'sr', datatype: 'INT64', shape: [] },
    { name: 'state', datatype: 'FP32', shape: [2, -1, 4] },
  ],
  outputs: [{ name: 'padded', datatype: 'FP32', shape: [-1, -1] }],
};

describe('generated warm-up inputs', () => {
  test.each([
    ['a fixed shape stays as it is', [3, 4], { batch: 16, other: 64 }, [3, 4]],
    ['a scalar stays a scalar', [], { batch: 16, other: 64 }, []],
    ['a leading dynamic dimension is the batch', [-1, 4], { batch: 1, other: 64 }, [1, 4]],
    ['the dimensions after the batch take the other size', [-1, -1], { batch: 1, other: 16 }, [1, 16]],
    ['a state tensor says the same batch, though not first', [2, -1, 4], { batch: 1, other: 16 }, [2, 1, 4]],
    ['a second dynamic dimension of a state tensor is not its batch', [2, -1, -1], { batch: 1, other: 16 }, [2, 1, 16]],
    ['a lone sequence dimension reads as the batch', [-1], { batch: 64, other: 64 }, [64]],
  ])('%s', (_why, shape, sizes, expected) => {
    expect(generatedShape(shape, sizes)).toEqual(expected);
  });

  test('one row first, then longer dimensions, then every dynamic dimension longer', () => {
    expect(generatedCandidates()).toEqual([
      { batch: 1, other: 1 },
      { batch: 1, other: 16 },
      { batch: 1, other: 64 },
      { batch: 1, other: 256 },
      { batch: 16, other: 16 },
      { batch: 64, other: 64 },
      { batch: 256, other: 256 },
    ]);
  });

  test('every input of the signature, batch dimensions agreeing, scalars as scalars', () => {
    const inputs = generatedInputs(audio, { batch: 1, other: 16 })!;
    expect(inputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([
      ['audio', 'FP32', [1, 16]],
      ['sr', 'INT64', []],
      ['state', 'FP32', [2, 1, 4]],
    ]);
    expect(inputs[1]!.data).toEqual(new BigInt64Array([0n]));
  });

  test('a size that would make an input too large is skipped', () => {
    const wide: Signature = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, -1, -1] }], outputs: [] };
    expect(generatedInputs(wide, { batch: 1, other: 256 })).toBeDefined();
    expect(256 ** 3).toBeGreaterThan(MAX_GENERATED_ELEMENTS);
    expect(generatedInputs(wide, { batch: 256, other: 256 })).toBeUndefined();
  });

  test('an input type the server cannot carry refuses the model', () => {
    const strings: Signature = { inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }], outputs: [] };
    expect(() => generatedInputs(strings, { batch: 1, other: 1 })).toThrow(ModelLoadError);
  });
});

describe('a user-given warm-up sample', () => {
  test('becomes one tensor per input, with its fill value where given', () => {
    const inputs = sampleInputs(audio, [
      { name: 'state', shape: [2, 3, 4] },
      { name: 'audio', shape: [3, 512] },
      { name: 'sr', shape: [], fill: 16000 },
    ]);
    expect(inputs.map((t) => [t.name, t.shape])).toEqual([
      ['state', [2, 3, 4]],
      ['audio', [3, 512]],
      ['sr', []],
    ]);
    expect(inputs[2]!.data).toEqual(new BigInt64Array([16000n]));
  });

  test.each([
    ['an input the model does not have', [{ name: 'volume', shape: [1] }], /"volume", which is not an input/],
    ['an input named twice', [{ name: 'sr', shape: [] }, { name: 'sr', shape: [] }], /"sr" twice/],
    ['an input too large to allocate', [{ name: 'audio', shape: [65536, 65536] }], /more than 16777216 elements/],
    ['a missing input', [{ name: 'audio', shape: [1, 16] }, { name: 'sr', shape: [] }], /missing input "state"/],
    ['a wrong rank', [{ name: 'audio', shape: [16] }, { name: 'sr', shape: [] }, { name: 'state', shape: [2, 1, 4] }], /rank 1/],
    ['a wrong fixed dimension', [{ name: 'audio', shape: [1, 16] }, { name: 'sr', shape: [] }, { name: 'state', shape: [3, 1, 4] }], /dimension 0/],
  ])('is refused for %s', (_why, sample, message) => {
    expect(() => sampleInputs(audio, sample)).toThrow(message);
    expect(() => sampleInputs(audio, sample)).toThrow(ModelLoadError);
  });
});

describe('filled tensors', () => {
  test('floats get small deterministic values, integers zeros, unless a value is given', () => {
    expect(Array.from(filledTensor('x', 'FP32', [3], undefined).data as Float32Array)).toEqual([0, 1 / 7, 2 / 7].map(Math.fround));
    expect(Array.from(filledTensor('x', 'INT32', [2], undefined).data as Int32Array)).toEqual([0, 0]);
    expect(Array.from(filledTensor('x', 'FP64', [2], 0.5).data as Float64Array)).toEqual([0.5, 0.5]);
  });
});

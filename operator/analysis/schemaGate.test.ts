// The schema gate: what a canary may change about its inputs and outputs, per schemaCheck mode.
import { describe, expect, test } from '@jest/globals';
import { ModelMetadataError, compareSignatures, describeSignature, parseModelMetadata } from './schemaGate.ts';
import type { SchemaCheckMode, Signature, SignatureLike, Tensor } from './schemaGate.ts';

const t = (name: string, datatype: string, shape: number[]): Tensor => ({ name, datatype, shape });

/** The iris classifier: the usual stable model. */
const stable: Signature = {
  inputs: [t('input', 'FP32', [-1, 4])],
  outputs: [t('label', 'INT64', [-1]), t('probabilities', 'FP32', [-1, 3])],
};

/** Stable with some tensors replaced or added. */
function canary(change: { inputs?: Tensor[]; outputs?: Tensor[] }): Signature {
  return { inputs: change.inputs ?? stable.inputs, outputs: change.outputs ?? stable.outputs };
}

describe('parseModelMetadata', () => {
  test.each([
    ['a warm-up that ran says nothing', { source: 'generated', ok: true, dynamicSize: 16 }, undefined],
    ['a failed generated warm-up gives its reason', { source: 'generated', ok: false, message: 'Pad reflect' }, 'Pad reflect'],
    ['a failed warm-up without a reason still says so', { source: 'generated', ok: false }, 'no generated warm-up input ran'],
  ])('%s', (_why, warmup, failure) => {
    const body = { name: 'iris', platform: 'onnxruntime_onnx', inputs: [], outputs: [], warmup };
    expect(parseModelMetadata(body).warmupFailure).toBe(failure);
  });

  test('reads the signature from what serving/ answers on GET /v2/models/{name}', () => {
    const body = {
      name: 'iris',
      versions: ['7f3a9c'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
      ],
    };
    expect(parseModelMetadata(body)).toEqual(stable);
  });

  test('ignores fields it does not need (other servers add parameters)', () => {
    const body = {
      name: 'iris',
      platform: 'onnxruntime_onnx',
      parameters: { x: 1 },
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4], parameters: { y: 2 } }],
      outputs: [],
    };
    expect(parseModelMetadata(body)).toEqual({ inputs: [t('input', 'FP32', [-1, 4])], outputs: [] });
  });

  test.each<[string, unknown, string]>([
    // what, body → the error names the field
    ['not an object', 'Not Found', 'invalid model metadata: body:'],
    ['no inputs', { name: 'iris', platform: 'onnxruntime_onnx', outputs: [] }, 'inputs:'],
    ['no outputs', { name: 'iris', platform: 'onnxruntime_onnx', inputs: [] }, 'outputs:'],
    ['a shape that is not a list', { name: 'm', platform: 'p', inputs: [{ name: 'x', datatype: 'FP32', shape: '-1,4' }], outputs: [] }, 'inputs.0.shape:'],
    ['a fractional dimension', { name: 'm', platform: 'p', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4.5] }], outputs: [] }, 'inputs.0.shape.1:'],
    ['a dimension below -1', { name: 'm', platform: 'p', inputs: [{ name: 'x', datatype: 'FP32', shape: [-2] }], outputs: [] }, 'inputs.0.shape.0: dimensions are sizes, or -1 where dynamic'],
    ['a tensor without a datatype', { name: 'm', platform: 'p', inputs: [], outputs: [{ name: 'y', shape: [1] }] }, 'outputs.0.datatype:'],
    ['a nameless tensor', { name: 'm', platform: 'p', inputs: [{ name: '', datatype: 'FP32', shape: [1] }], outputs: [] }, 'inputs.0.name:'],
    [
      'two tensors with one name',
      { name: 'm', platform: 'p', inputs: [t('x', 'FP32', [1]), t('x', 'FP64', [1])], outputs: [] },
      'inputs.1.name: duplicate tensor name "x"',
    ],
  ])('rejects %s with a ModelMetadataError naming the field', (_what, body, message) => {
    expect(() => parseModelMetadata(body)).toThrow(ModelMetadataError);
    expect(() => parseModelMetadata(body)).toThrow(message);
  });
});

describe('compareSignatures', () => {
  test.each<[string, SignatureLike, SchemaCheckMode, string[]]>([
    // what, canary, mode → differences ([] = compatible)
    ['the same signature', stable, 'Strict', []],
    ['the same tensors in another order', canary({ outputs: [t('probabilities', 'FP32', [-1, 3]), t('label', 'INT64', [-1])] }), 'Strict', []],
    ['a changed input datatype', canary({ inputs: [t('input', 'FP64', [-1, 4])] }), 'Strict', ['input "input": datatype FP32 -> FP64']],
    ['a changed input shape', canary({ inputs: [t('input', 'FP32', [-1, 5])] }), 'Strict', ['input "input": shape [-1,4] -> [-1,5]']],
    ['a fixed dim where stable had a dynamic one', canary({ inputs: [t('input', 'FP32', [1, 4])] }), 'Strict', ['input "input": shape [-1,4] -> [1,4]']],
    ['a dynamic dim where stable had a fixed one', canary({ outputs: [t('label', 'INT64', [-1]), t('probabilities', 'FP32', [-1, -1])] }), 'Strict', ['output "probabilities": shape [-1,3] -> [-1,-1]']],
    ['another rank', canary({ inputs: [t('input', 'FP32', [-1, 4, 1])] }), 'Strict', ['input "input": shape [-1,4] -> [-1,4,1]']],
    ['datatype and shape both changed', canary({ inputs: [t('input', 'FP16', [4])] }), 'Strict', ['input "input": datatype FP32 -> FP16', 'input "input": shape [-1,4] -> [4]']],
    ['a removed output', canary({ outputs: [t('label', 'INT64', [-1])] }), 'Strict', ['output "probabilities": removed']],
    ['an added input', canary({ inputs: [t('input', 'FP32', [-1, 4]), t('mask', 'BOOL', [-1, 4])] }), 'Strict', ['input "mask": added (the stable model has no such input)']],
    ['an added output', canary({ outputs: [...stable.outputs, t('embedding', 'FP32', [-1, 16])] }), 'Strict', ['output "embedding": added (the stable model has no such output)']],
    [
      'a renamed input: removed and added',
      canary({ inputs: [t('features', 'FP32', [-1, 4])] }),
      'Strict',
      ['input "input": removed', 'input "features": added (the stable model has no such input)'],
    ],
    [
      'inputs are listed before outputs',
      { inputs: [], outputs: [t('label', 'INT32', [-1]), t('probabilities', 'FP32', [-1, 3])] },
      'Strict',
      ['input "input": removed', 'output "label": datatype INT64 -> INT32'],
    ],

    ['AllowAdditive: the same signature', stable, 'AllowAdditive', []],
    ['AllowAdditive: a new output is allowed', canary({ outputs: [...stable.outputs, t('embedding', 'FP32', [-1, 16])] }), 'AllowAdditive', []],
    ['AllowAdditive: a new input is not (no client sends it)', canary({ inputs: [...stable.inputs, t('mask', 'BOOL', [-1, 4])] }), 'AllowAdditive', ['input "mask": added (the stable model has no such input)']],
    ['AllowAdditive: existing outputs must stay identical', canary({ outputs: [t('label', 'INT64', [-1]), t('probabilities', 'FP64', [-1, 3]), t('embedding', 'FP32', [-1, 16])] }), 'AllowAdditive', ['output "probabilities": datatype FP32 -> FP64']],
    ['AllowAdditive: a removed output is not additive', canary({ outputs: [t('probabilities', 'FP32', [-1, 3])] }), 'AllowAdditive', ['output "label": removed']],
    ['AllowAdditive: a changed input shape', canary({ inputs: [t('input', 'FP32', [-1, 5])] }), 'AllowAdditive', ['input "input": shape [-1,4] -> [-1,5]']],

    ['Off: anything goes', { inputs: [t('image', 'UINT8', [1, 224, 224, 3])], outputs: [] }, 'Off', []],
    [
      'a list missing from a recorded signature counts as empty',
      { inputs: stable.inputs },
      'Strict',
      ['output "label": removed', 'output "probabilities": removed'],
    ],
  ])('%s', (_what, can, mode, differences) => {
    const verdict = compareSignatures(stable, can, mode);
    expect(verdict).toEqual(differences.length === 0 ? { compatible: true } : { compatible: false, differences });
  });
});

describe('describeSignature', () => {
  test.each<[SignatureLike, string]>([
    [stable, 'inputs: input FP32[-1,4] → outputs: label INT64[-1], probabilities FP32[-1,3]'],
    [{ inputs: [t('x', 'FP32', [])], outputs: [] }, 'inputs: x FP32[] → outputs: (none)'],
    [{}, 'inputs: (none) → outputs: (none)'],
  ])('%#: one line for a condition or an Event', (sig, line) => {
    expect(describeSignature(sig)).toBe(line);
  });
});

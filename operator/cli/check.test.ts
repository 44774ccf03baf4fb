// `kubectl siskin check`'s report: per tensor what changed and whether the operator's gate
// (compareSignatures, the same function) lets it through under each mode.
import { describe, expect, test } from '@jest/globals';
import { compareSignatures, type SchemaCheckMode, type Signature, type Tensor } from '../analysis/schemaGate.ts';
import { checkSignatures, renderCheck, type TensorCheck } from './check.ts';

const t = (name: string, datatype: string, shape: number[]): Tensor => ({ name, datatype, shape });
const stable: Signature = { inputs: [t('input', 'FP32', [-1, 4])], outputs: [t('label', 'INT64', [-1]), t('probabilities', 'FP32', [-1, 3])] };
const embedding = t('embedding', 'FP32', [-1, 16]);

/** The rows that changed: [kind name, changes, breaking]. */
const changed = (rows: TensorCheck[]): [string, string[], boolean][] => rows.filter((r) => r.changes.length > 0).map((r) => [`${r.kind} ${r.name}`, r.changes, r.breaking]);

describe('checkSignatures', () => {
  test.each<[string, Signature, SchemaCheckMode, boolean, [string, string[], boolean][]]>([
    // what, new model, mode → compatible, changed rows
    ['the same signature', stable, 'Strict', true, []],
    ['an added output under Strict', { ...stable, outputs: [...stable.outputs, embedding] }, 'Strict', false, [['output embedding', ['added'], true]]],
    ['an added output under AllowAdditive', { ...stable, outputs: [...stable.outputs, embedding] }, 'AllowAdditive', true, [['output embedding', ['added'], false]]],
    ['an added input under AllowAdditive', { ...stable, inputs: [...stable.inputs, t('mask', 'BOOL', [-1])] }, 'AllowAdditive', false, [['input mask', ['added'], true]]],
    ['a changed dtype', { ...stable, inputs: [t('input', 'FP64', [-1, 4])] }, 'AllowAdditive', false, [['input input', ['datatype FP32 -> FP64'], true]]],
    ['dtype and shape both', { ...stable, inputs: [t('input', 'FP16', [1, 4])] }, 'Strict', false, [['input input', ['datatype FP32 -> FP16', 'shape [-1,4] -> [1,4]'], true]]],
    ['a removed output', { ...stable, outputs: [stable.outputs[0]!] }, 'AllowAdditive', false, [['output probabilities', ['removed'], true]]],
    ['anything under Off', { inputs: [t('image', 'UINT8', [1, 3])], outputs: [] }, 'Off', true, [
      ['input input', ['removed'], false],
      ['input image', ['added'], false],
      ['output label', ['removed'], false],
      ['output probabilities', ['removed'], false],
    ]],
  ])('%s', (_what, candidate, mode, compatible, rows) => {
    const report = checkSignatures(stable, candidate, mode);
    expect(report.compatible).toBe(compatible);
    expect(changed(report.tensors)).toEqual(rows);
    // The verdict and its differences are the operator's own, word for word.
    const verdict = compareSignatures(stable, candidate, mode);
    expect(report.differences).toEqual(verdict.compatible ? [] : verdict.differences);
  });

  test('lists every tensor, stable order first, then the additions', () => {
    const report = checkSignatures(stable, { inputs: [t('features', 'FP32', [-1, 4])], outputs: [embedding, ...stable.outputs] }, 'Strict');
    expect(report.tensors.map((r) => `${r.kind} ${r.name}`)).toEqual(['input input', 'input features', 'output label', 'output probabilities', 'output embedding']);
  });
});

describe('renderCheck', () => {
  test('a breaking change: a row per tensor and the gate\'s differences', () => {
    const text = renderCheck(checkSignatures(stable, { ...stable, inputs: [t('input', 'FP32', [-1, 5])], outputs: [...stable.outputs, embedding] }, 'AllowAdditive'), {
      candidate: 'iris-3.onnx',
      stable: 'md/iris in namespace ml: stable version 2 (revision 6f9c2b1d0a)',
    });
    expect(text).toBe(
      [
        'Schema check (AllowAdditive): iris-3.onnx against md/iris in namespace ml: stable version 2 (revision 6f9c2b1d0a)',
        '',
        'KIND     NAME            STABLE       NEW           CHANGE                   VERDICT',
        'input    input           FP32[-1,4]   FP32[-1,5]    shape [-1,4] -> [-1,5]   BREAKING',
        'output   label           INT64[-1]    INT64[-1]     unchanged                ok',
        'output   probabilities   FP32[-1,3]   FP32[-1,3]    unchanged                ok',
        'output   embedding       -            FP32[-1,16]   added                    allowed (AllowAdditive)',
        '',
        'Breaking: the schema gate (AllowAdditive) would roll iris-3.onnx back (SchemaIncompatible): input "input": shape [-1,4] -> [-1,5]',
        '',
      ].join('\n'),
    );
  });

  test('a compatible model says so', () => {
    expect(renderCheck(checkSignatures(stable, stable, 'Strict'), { candidate: 'n.onnx', stable: 's.onnx' })).toMatch(/\nCompatible: the schema gate \(Strict\) admits n\.onnx\.\n$/);
  });
});

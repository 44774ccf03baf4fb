import { describe, test, expect } from '@jest/globals';
import { runFailed } from './errors.ts';

describe('an onnxruntime run error is answered by whose fault it is', () => {
  test.each([
    ['a kernel refusing a too-short sequence is the input', "Non-zero status code returned while running Pad node. Name:'pad' Status Message: Pad reflect requires axis length >= 2 after slicing. Input shape:{1,1}", 400],
    ['a wrong rank is the input', 'Invalid rank for input: input Got: 3 Expected: 2 Please fix either the inputs/outputs or the model.', 400],
    ['a wrong dimension is the input', 'Got invalid dimensions for input: input for the following indices\n index: 1 Got: 5 Expected: 4', 400],
    ['a wrong type is the input', 'Unexpected input data type. Actual: (tensor(double)) , expected: (tensor(float))', 400],
    ['a kernel out of memory is ours', "Non-zero status code returned while running MatMul node. Name:'m' Status Message: Failed to allocate memory for requested buffer of size 8589934592", 500],
    ['an unsupported output type is ours', 'output "x" has unsupported type string', 500],
    ['a dead worker is ours', 'worker exited with code 1', 500],
  ])('%s', (_what, message, status) => {
    const err = runFailed(message);
    expect(err.statusCode).toBe(status);
    expect(err.message).toContain(message);
  });
});

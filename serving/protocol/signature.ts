// The schema gate at request time: decoded tensors against the model's ONNX signature.
// Pure, so every rule has a table-driven test.
import { invalidTensor } from '../errors.ts';
import type { RequestedOutput } from './codec.ts';
import type { Tensor, TensorSpec } from './tensor.ts';

/** A model's signature as read from its ONNX graph. */
export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** True when every input and output has a symbolic leading dimension that requests can be stacked on. */
export function hasBatchDimension(sig: Signature): boolean {
  const all = [...sig.inputs, ...sig.outputs];
  return all.length > 0 && all.every((t) => t.shape.length >= 1 && t.shape[0] === -1);
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * Checks tensors against the signature and returns the number of rows along the batch
 * dimension (1 for models without one).
 */
export function validateRequest(sig: Signature, inputs: Tensor[], requested: RequestedOutput[] | undefined): number {
  const specs = new Map(sig.inputs.map((s) => [s.name, s]));
  for (const t of inputs) {
    const spec = specs.get(t.name);
    if (spec === undefined) {
      throw invalidTensor(`unknown input "${t.name}"; the model takes ${sig.inputs.map((s) => `"${s.name}"`).join(', ')}`);
    }
    if (spec.datatype !== t.datatype) {
      throw invalidTensor(`input "${t.name}": datatype ${t.datatype} does not match the model's ${spec.datatype}`);
    }
    if (spec.shape.length !== t.shape.length) {
      throw invalidTensor(`input "${t.name}": shape ${fmt(t.shape)} has rank ${t.shape.length}, the model expects ${fmt(spec.shape)}`);
    }
    spec.shape.forEach((d, i) => {
      if (d >= 0 && t.shape[i] !== d) {
        throw invalidTensor(`input "${t.name}": shape ${fmt(t.shape)} does not match the model's ${fmt(spec.shape)} at dimension ${i}`);
      }
    });
  }
  for (const s of sig.inputs) {
    if (!inputs.some((t) => t.name === s.name)) throw invalidTensor(`missing input "${s.name}"`);
  }
  if (requested !== undefined) {
    for (const r of requested) {
      if (!sig.outputs.some((o) => o.name === r.name)) {
        throw invalidTensor(`requested output "${r.name}" is not an output of the model; it has ${sig.outputs.map((o) => `"${o.name}"`).join(', ')}`);
      }
    }
  }
  if (!hasBatchDimension(sig)) return 1;
  const rows = inputs[0]?.shape[0] ?? 0;
  for (const t of inputs) {
    if (t.shape[0] !== rows) throw invalidTensor(`inputs disagree on the batch dimension: "${t.name}" has ${t.shape[0]}, expected ${rows}`);
  }
  if (rows === 0) throw invalidTensor('the batch dimension is 0: send at least one row');
  return rows;
}

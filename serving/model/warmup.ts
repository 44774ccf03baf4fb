// Warm-up inputs: a user-given sample, or generated ones. Generated inputs try growing sizes
// for the dynamic dimensions, because a valid graph may need more than one step (a reflect
// Pad, a convolution over a sequence). Pure, so the rules have a table-driven test.
import { WARMUP_SAMPLE_LIMITS } from '../../contract/servingEnv.ts';
import type { WarmupSample } from '../../contract/servingEnv.ts';
import { ModelLoadError } from '../errors.ts';
import { validateRequest } from '../protocol/signature.ts';
import type { Signature } from '../protocol/signature.ts';
import { allocate, elementCount, isSupportedDatatype } from '../protocol/tensor.ts';
import type { Datatype, Tensor } from '../protocol/tensor.ts';

/** Sizes of the dynamic dimensions of generated inputs: one row first, then longer sequences. */
export interface DynamicSizes {
  /** The batch dimension: the first dynamic one of each input. */
  batch: number;
  /** Every other dynamic dimension. */
  other: number;
}

/** Sizes tried for the non-batch dynamic dimensions, in order. */
export const GENERATED_SIZES = [1, 16, 64, 256] as const;

/** Largest generated input, in elements: a size that would exceed it is skipped. */
export const MAX_GENERATED_ELEMENTS = 1 << 22;

/**
 * The candidates in the order they are tried: one row with growing other dimensions, then,
 * for a model whose only dynamic dimension is a sequence (which the batch rule reads as a
 * batch), every dynamic dimension the same size.
 */
export function generatedCandidates(): DynamicSizes[] {
  const oneRow = GENERATED_SIZES.map((other) => ({ batch: 1, other }));
  const square = GENERATED_SIZES.filter((n) => n > 1).map((n) => ({ batch: n, other: n }));
  return [...oneRow, ...square];
}

/**
 * One input's generated shape. The batch dimension is the first dynamic one, not always the
 * leading one: state tensors are often laid out [layers, batch, units] beside inputs laid out
 * [batch, sequence], and both must say the same batch. Scalars stay scalars.
 */
export function generatedShape(shape: readonly number[], sizes: DynamicSizes): number[] {
  const first = shape.findIndex((d) => d < 0);
  return shape.map((d, i) => (d >= 0 ? d : i === first ? sizes.batch : sizes.other));
}

/** Small deterministic values (or `value` everywhere) in a tensor of the given type and shape. */
export function filledTensor(name: string, datatype: Datatype, shape: number[], value?: number): Tensor {
  const data = allocate(datatype, elementCount(shape));
  for (let i = 0; i < data.length; i++) {
    const v = value ?? (data instanceof Float32Array || data instanceof Float64Array ? (i % 7) / 7 : 0);
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(Math.trunc(v));
    else data[i] = v;
  }
  return { name, datatype, shape, data };
}

function supported(sig: Signature): void {
  for (const spec of sig.inputs) {
    if (!isSupportedDatatype(spec.datatype)) throw new ModelLoadError(`input "${spec.name}" has unsupported type ${spec.datatype}`);
  }
}

/**
 * Generated inputs for one candidate, or undefined when an input would exceed
 * MAX_GENERATED_ELEMENTS. Throws ModelLoadError for an input type the server cannot carry.
 */
export function generatedInputs(sig: Signature, sizes: DynamicSizes): Tensor[] | undefined {
  supported(sig);
  const shapes = sig.inputs.map((spec) => generatedShape(spec.shape, sizes));
  if (shapes.some((s) => elementCount(s) > MAX_GENERATED_ELEMENTS)) return undefined;
  return sig.inputs.map((spec, i) => filledTensor(spec.name, spec.datatype as Datatype, shapes[i]!));
}

/**
 * The tensors of a user-given sample, checked as a request would be: every input named, no
 * other, ranks and fixed dimensions as the graph declares. Throws ModelLoadError otherwise.
 */
export function sampleInputs(sig: Signature, sample: WarmupSample): Tensor[] {
  supported(sig);
  const specs = new Map(sig.inputs.map((s) => [s.name, s]));
  const named = new Set<string>();
  const tensors = sample.map((t) => {
    const spec = specs.get(t.name);
    if (spec === undefined) throw new ModelLoadError(`the warm-up sample names "${t.name}", which is not an input of the model`);
    if (named.has(t.name)) throw new ModelLoadError(`the warm-up sample names "${t.name}" twice`);
    named.add(t.name);
    if (elementCount(t.shape) > WARMUP_SAMPLE_LIMITS.elements) throw new ModelLoadError(`the warm-up sample's "${t.name}" has more than ${WARMUP_SAMPLE_LIMITS.elements} elements`);
    return filledTensor(t.name, spec.datatype as Datatype, [...t.shape], t.fill);
  });
  try {
    validateRequest(sig, tensors, undefined);
  } catch (err) {
    throw new ModelLoadError(`the warm-up sample does not fit the model: ${(err as Error).message}`);
  }
  return tensors;
}

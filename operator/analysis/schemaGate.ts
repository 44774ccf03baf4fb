// The schema gate between revisions: the canary's input/output signature, read from its own
// pod's model metadata (GET /v2/models/{name}), against the stable one's. A model that
// expects other inputs or returns other outputs breaks every client at once, so it must not
// take traffic however good its metrics would look. Pure.
import { modelMetadataSchema } from '../../contract/modelMetadata.ts';

/** One tensor of a signature, as the Open Inference Protocol reports it; -1 is a dynamic dim. */
export interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
}

/** A model's inputs and outputs. */
export interface Signature {
  inputs: Tensor[];
  outputs: Tensor[];
}

/** spec.rollout.schemaCheck */
export type SchemaCheckMode = 'Strict' | 'AllowAdditive' | 'Off';

/**
 * A signature as callers may hold it: status.*.signature leaves the lists optional. A
 * missing list counts as empty, which the gate then reports tensor by tensor.
 */
export interface SignatureLike {
  inputs?: readonly Tensor[];
  outputs?: readonly Tensor[];
}

/** The gate's verdict; differences read as sentences for a condition message. */
export type SchemaVerdict = { compatible: true } | { compatible: false; differences: string[] };

/** The model metadata was not valid OIP v2 metadata. */
export class ModelMetadataError extends Error {
  override name = 'ModelMetadataError';
}

/** A signature as read from a pod, with why its generated warm-up failed when it did (the pod serves anyway). */
export type SignatureWithWarmup = Signature & { warmupFailure?: string };

/** Validates a GET /v2/models/{name} response body (contract/modelMetadata.ts) and returns its signature; throws ModelMetadataError. */
export function parseModelMetadata(body: unknown): SignatureWithWarmup {
  const r = modelMetadataSchema.safeParse(body);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    throw new ModelMetadataError(`invalid model metadata: ${issues}`);
  }
  const copy = (t: Tensor): Tensor => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] });
  const warmup = r.data.warmup;
  const warmupFailure = warmup?.ok === false ? (warmup.message ?? 'no generated warm-up input ran') : undefined;
  return { inputs: r.data.inputs.map(copy), outputs: r.data.outputs.map(copy), ...(warmupFailure === undefined ? {} : { warmupFailure }) };
}

/**
 * Compares the canary's signature with stable's. Strict: the same tensors by name (in any
 * order) with the same datatype and shape, where -1 only matches -1 — a fixed dimension
 * where stable had a dynamic one breaks callers that send other sizes. AllowAdditive: the
 * same, except that the canary may add outputs (clients ignore what they do not ask for);
 * a new input never passes, since no client sends it. Off: always compatible.
 */
export function compareSignatures(stable: SignatureLike, canary: SignatureLike, mode: SchemaCheckMode): SchemaVerdict {
  if (mode === 'Off') return { compatible: true };
  const differences = [
    ...compareTensors('input', stable.inputs ?? [], canary.inputs ?? [], false),
    ...compareTensors('output', stable.outputs ?? [], canary.outputs ?? [], mode === 'AllowAdditive'),
  ];
  return differences.length === 0 ? { compatible: true } : { compatible: false, differences };
}

/** One line, e.g. `inputs: input FP32[-1,4] → outputs: label INT64[-1], probabilities FP32[-1,3]`. */
export function describeSignature(s: SignatureLike): string {
  const list = (ts: readonly Tensor[]): string => (ts.length === 0 ? '(none)' : ts.map((t) => `${t.name} ${t.datatype}${shape(t.shape)}`).join(', '));
  return `inputs: ${list(s.inputs ?? [])} → outputs: ${list(s.outputs ?? [])}`;
}

function shape(dims: readonly number[]): string {
  return `[${dims.join(',')}]`;
}

/** Differences in stable's order, then additions in the canary's, so messages are stable. */
function compareTensors(kind: 'input' | 'output', stable: readonly Tensor[], canary: readonly Tensor[], allowAdded: boolean): string[] {
  const out: string[] = [];
  const byName = new Map(canary.map((t) => [t.name, t]));
  for (const s of stable) {
    const c = byName.get(s.name);
    if (c === undefined) {
      out.push(`${kind} "${s.name}": removed`);
      continue;
    }
    if (c.datatype !== s.datatype) out.push(`${kind} "${s.name}": datatype ${s.datatype} -> ${c.datatype}`);
    if (shape(c.shape) !== shape(s.shape)) out.push(`${kind} "${s.name}": shape ${shape(s.shape)} -> ${shape(c.shape)}`);
  }
  if (!allowAdded) {
    const known = new Set(stable.map((t) => t.name));
    for (const c of canary) if (!known.has(c.name)) out.push(`${kind} "${c.name}": added (the stable model has no such ${kind})`);
  }
  return out;
}

// Pure tensor plumbing for dynamic batching: requests are stacked along the leading
// (batch) dimension, run once, and the outputs are cut back into per-request slices.
import { allocate, elementCount } from '../protocol/tensor.ts';
import type { Tensor } from '../protocol/tensor.ts';

/** Requests can share a batch only when everything but their leading dimension agrees. */
export function batchKey(inputs: readonly Tensor[]): string {
  return inputs
    .map((t) => `${t.name}:${t.datatype}:${t.shape.slice(1).join('x')}`)
    .sort()
    .join('|');
}

/** Stacks the inputs of several requests (same batch key) along dimension 0. */
export function mergeBatch(requests: readonly (readonly Tensor[])[]): Tensor[] {
  const first = requests[0];
  if (first === undefined) throw new Error('mergeBatch needs at least one request');
  if (requests.length === 1) return [...first];
  return first.map((proto) => {
    const parts = requests.map((r) => {
      const t = r.find((x) => x.name === proto.name);
      if (t === undefined) throw new Error(`request lacks input "${proto.name}"`);
      return t;
    });
    const rows = parts.reduce((n, t) => n + (t.shape[0] ?? 0), 0);
    const shape = [rows, ...proto.shape.slice(1)];
    const data = allocate(proto.datatype, elementCount(shape));
    let offset = 0;
    for (const t of parts) {
      // Same datatype by construction of the batch key, so the set() cannot mix kinds.
      (data as Float32Array).set(t.data as Float32Array, offset);
      offset += t.data.length;
    }
    return { name: proto.name, datatype: proto.datatype, shape, data };
  });
}

/** Cuts batched outputs back into one list of tensors per request, by row counts. */
export function splitBatch(outputs: readonly Tensor[], rows: readonly number[]): Tensor[][] {
  if (rows.length === 1) return [[...outputs]];
  const total = rows.reduce((a, b) => a + b, 0);
  const result: Tensor[][] = rows.map(() => []);
  for (const out of outputs) {
    if (out.shape[0] !== total) {
      throw new Error(`output "${out.name}" has ${out.shape[0]} rows, the batch had ${total}`);
    }
    const rowSize = total === 0 ? 0 : out.data.length / total;
    let start = 0;
    rows.forEach((r, i) => {
      const data = out.data.subarray(start * rowSize, (start + r) * rowSize);
      result[i]!.push({ name: out.name, datatype: out.datatype, shape: [r, ...out.shape.slice(1)], data });
      start += r;
    });
  }
  return result;
}

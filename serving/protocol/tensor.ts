// Tensor types shared by the codec, the batcher and the workers. Only typed arrays cross
// the worker boundary so that their buffers can be transferred instead of copied.

/** Open Inference Protocol datatypes the server can carry. */
export const DATATYPES = {
  BOOL: { ort: 'bool', bytes: 1 },
  UINT8: { ort: 'uint8', bytes: 1 },
  UINT16: { ort: 'uint16', bytes: 2 },
  UINT32: { ort: 'uint32', bytes: 4 },
  UINT64: { ort: 'uint64', bytes: 8 },
  INT8: { ort: 'int8', bytes: 1 },
  INT16: { ort: 'int16', bytes: 2 },
  INT32: { ort: 'int32', bytes: 4 },
  INT64: { ort: 'int64', bytes: 8 },
  FP32: { ort: 'float32', bytes: 4 },
  FP64: { ort: 'float64', bytes: 8 },
} as const;

/** A datatype the server can decode and run. */
export type Datatype = keyof typeof DATATYPES;

/** Typed array backing a tensor of any supported datatype. */
export type TensorData =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/** A decoded tensor: row-major data with its shape. */
export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

/** A model input or output as declared by the ONNX graph; symbolic dims are -1. */
export interface TensorSpec {
  name: string;
  /** OIP datatype, or the ONNX type name when the server cannot carry it (e.g. "string"). */
  datatype: string;
  shape: number[];
}

/** Maps onnxruntime's tensor type names to OIP datatypes. */
export function datatypeFromOrt(ortType: string): string {
  for (const [dt, info] of Object.entries(DATATYPES)) {
    if (info.ort === ortType) return dt;
  }
  if (ortType === 'string') return 'BYTES';
  if (ortType === 'float16') return 'FP16';
  return ortType.toUpperCase();
}

/** True when `dt` is a datatype the server can decode. */
export function isSupportedDatatype(dt: string): dt is Datatype {
  return Object.hasOwn(DATATYPES, dt);
}

/** Allocates the typed array for `count` elements of `dt`. */
export function allocate(dt: Datatype, count: number): TensorData {
  switch (dt) {
    case 'BOOL':
    case 'UINT8':
      return new Uint8Array(count);
    case 'UINT16':
      return new Uint16Array(count);
    case 'UINT32':
      return new Uint32Array(count);
    case 'UINT64':
      return new BigUint64Array(count);
    case 'INT8':
      return new Int8Array(count);
    case 'INT16':
      return new Int16Array(count);
    case 'INT32':
      return new Int32Array(count);
    case 'INT64':
      return new BigInt64Array(count);
    case 'FP32':
      return new Float32Array(count);
    case 'FP64':
      return new Float64Array(count);
  }
}

/** A typed array of `count` elements of `dt` over existing memory (no copy); the offset
 * must be a multiple of the element size. */
export function viewOf(dt: Datatype, buffer: ArrayBufferLike, byteOffset: number, count: number): TensorData {
  switch (dt) {
    case 'BOOL':
    case 'UINT8':
      return new Uint8Array(buffer, byteOffset, count);
    case 'UINT16':
      return new Uint16Array(buffer, byteOffset, count);
    case 'UINT32':
      return new Uint32Array(buffer, byteOffset, count);
    case 'UINT64':
      return new BigUint64Array(buffer, byteOffset, count);
    case 'INT8':
      return new Int8Array(buffer, byteOffset, count);
    case 'INT16':
      return new Int16Array(buffer, byteOffset, count);
    case 'INT32':
      return new Int32Array(buffer, byteOffset, count);
    case 'INT64':
      return new BigInt64Array(buffer, byteOffset, count);
    case 'FP32':
      return new Float32Array(buffer, byteOffset, count);
    case 'FP64':
      return new Float64Array(buffer, byteOffset, count);
  }
}

/** Number of elements of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Reads element `i` as a JS number (BigInts are converted; fine for labels and statistics). */
export function numberAt(data: TensorData, i: number): number {
  return Number(data[i] ?? Number.NaN);
}

/** True for 64-bit integer data; by tag, since arrays from a worker may come from another realm. */
export function isBigIntData(data: TensorData): data is BigInt64Array | BigUint64Array {
  // The element type answers without the (slow) tag lookup whenever there is an element.
  if (data.length > 0) return typeof data[0] === 'bigint';
  const tag = Object.prototype.toString.call(data);
  return tag === '[object BigInt64Array]' || tag === '[object BigUint64Array]';
}

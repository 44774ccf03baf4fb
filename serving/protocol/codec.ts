// Open Inference Protocol v2 codec: JSON tensors and the binary tensor extension
// (a JSON header of Inference-Header-Content-Length bytes followed by raw tensor bytes,
// each tensor's slice sized by parameters.binary_data_size). Pure: bytes in, tensors out.
// Input is hostile until proven otherwise: every size is checked before anything is allocated.
import { invalidTensor, malformedRequest } from '../errors.ts';
import { DATATYPES, allocate, elementCount, isBigIntData, isSupportedDatatype, viewOf } from './tensor.ts';
import type { Datatype, Tensor, TensorData } from './tensor.ts';

/** An output the client asked for, and whether it wants it as binary. */
export interface RequestedOutput {
  name: string;
  binary: boolean;
}

/** A decoded inference request. */
export interface InferRequest {
  id: string | undefined;
  inputs: Tensor[];
  /** Undefined: all outputs. */
  outputs: RequestedOutput[] | undefined;
  /** parameters.binary_data_output: outputs not listed explicitly come back binary. */
  binaryOutput: boolean;
}

/** Bounds that keep a hostile request from allocating or recursing without limit. */
export interface DecodeLimits {
  maxElements: number;
  maxRank: number;
  maxInputs: number;
}

/** Limits used when the caller has no reason to choose others. */
export const DEFAULT_LIMITS: DecodeLimits = { maxElements: 16 * 1024 * 1024, maxRank: 8, maxInputs: 64 };

const MAX_NAME = 256;
const MAX_ID = 1024;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses the Inference-Header-Content-Length header value; undefined when absent. */
export function parseHeaderLength(value: string | string[] | undefined, bodyLength: number): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\d{1,12}$/.test(text.trim())) {
    throw malformedRequest(`Inference-Header-Content-Length must be a non-negative integer, got "${String(text)}"`);
  }
  const n = Number(text.trim());
  if (n === 0 || n > bodyLength) {
    throw malformedRequest(`Inference-Header-Content-Length ${n} is outside the body of ${bodyLength} bytes`);
  }
  return n;
}

/** Decodes a request body (JSON, or JSON header + binary tensors) into tensors. */
export function decodeInferRequest(
  body: Buffer,
  headerLength: number | undefined,
  limits: DecodeLimits = DEFAULT_LIMITS,
  /** The body's whole ArrayBuffer belongs to this request (a pooled body): view into it. */
  exclusive = false,
): InferRequest {
  if (body.length === 0) throw malformedRequest('request body is empty; expected an inference request');
  const headerBytes = headerLength === undefined ? body : body.subarray(0, headerLength);
  let parsed: unknown;
  try {
    parsed = JSON.parse(headerBytes.toString('utf8'));
  } catch (err) {
    throw malformedRequest(`request header is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) throw malformedRequest('request must be a JSON object');

  const id = parsed.id;
  if (id !== undefined && (typeof id !== 'string' || id.length > MAX_ID)) {
    throw malformedRequest(`"id" must be a string of at most ${MAX_ID} characters`);
  }

  const rawInputs = parsed.inputs;
  if (!Array.isArray(rawInputs) || rawInputs.length === 0) {
    throw malformedRequest('"inputs" must be a non-empty array');
  }
  if (rawInputs.length > limits.maxInputs) {
    throw malformedRequest(`"inputs" has ${rawInputs.length} entries, more than the limit of ${limits.maxInputs}`);
  }

  let offset = headerLength ?? body.length;
  const seen = new Set<string>();
  const inputs: Tensor[] = [];
  for (let i = 0; i < rawInputs.length; i++) {
    const raw: unknown = rawInputs[i];
    if (!isObject(raw)) throw malformedRequest(`inputs[${i}] must be an object`);
    const name = raw.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME) {
      throw malformedRequest(`inputs[${i}].name must be a non-empty string of at most ${MAX_NAME} characters`);
    }
    if (seen.has(name)) throw invalidTensor(`input "${name}" appears more than once`);
    seen.add(name);
    const datatype = raw.datatype;
    if (typeof datatype !== 'string') throw malformedRequest(`input "${name}": "datatype" must be a string`);
    if (!isSupportedDatatype(datatype)) {
      throw invalidTensor(`input "${name}": datatype "${datatype.slice(0, 32)}" is not supported`);
    }
    const shape = decodeShape(name, raw.shape, limits);
    const count = elementCount(shape);

    const params = raw.parameters;
    if (params !== undefined && !isObject(params)) throw malformedRequest(`input "${name}": "parameters" must be an object`);
    const binarySize = params?.binary_data_size;
    if (binarySize !== undefined) {
      if (headerLength === undefined) {
        throw malformedRequest(`input "${name}" has binary_data_size but the Inference-Header-Content-Length header is missing`);
      }
      if (typeof binarySize !== 'number' || !Number.isSafeInteger(binarySize) || binarySize < 0) {
        throw malformedRequest(`input "${name}": binary_data_size must be a non-negative integer`);
      }
      if (raw.data !== undefined) throw malformedRequest(`input "${name}" has both "data" and binary_data_size`);
      const expected = count * DATATYPES[datatype].bytes;
      if (binarySize !== expected) {
        throw invalidTensor(
          `input "${name}": binary_data_size is ${binarySize} bytes but shape [${shape.join(',')}] of ${datatype} needs ${expected}`,
        );
      }
      if (offset + binarySize > body.length) {
        throw malformedRequest(
          `input "${name}": binary data is truncated (needs ${binarySize} bytes, ${body.length - offset} left)`,
        );
      }
      const data = binaryTensor(datatype, count, body, offset, binarySize, exclusive);
      offset += binarySize;
      if (datatype === 'BOOL') checkBool(name, data);
      inputs.push({ name, datatype, shape, data });
    } else {
      if (!Array.isArray(raw.data)) throw malformedRequest(`input "${name}": "data" must be an array`);
      inputs.push({ name, datatype, shape, data: decodeJsonData(name, datatype, shape, count, raw.data) });
    }
  }
  if (offset !== body.length) {
    throw malformedRequest(`binary section has ${body.length - offset} bytes that no input claims`);
  }

  const outputs = decodeRequestedOutputs(parsed.outputs);
  const reqParams = parsed.parameters;
  if (reqParams !== undefined && !isObject(reqParams)) throw malformedRequest('"parameters" must be an object');
  const binaryOutput = reqParams?.binary_data_output;
  if (binaryOutput !== undefined && typeof binaryOutput !== 'boolean') {
    throw malformedRequest('parameters.binary_data_output must be a boolean');
  }
  return { id, inputs, outputs, binaryOutput: binaryOutput === true };
}

/**
 * The tensor's bytes as a typed array: a view into the body when the body owns its whole
 * ArrayBuffer (or the caller says it is exclusive to this request) and the slice is aligned
 * (no copy; the buffer may then move to the worker with the tensor), else a copy. Node's
 * shared small-buffer pool and socket chunks are always copied: moving them would detach
 * memory other requests use.
 */
function binaryTensor(datatype: Datatype, count: number, body: Buffer, offset: number, size: number, exclusive: boolean): TensorData {
  const start = body.byteOffset + offset;
  // By tag, not instanceof: the body may come from another realm (tests run in a VM).
  const plain = Object.prototype.toString.call(body.buffer) === '[object ArrayBuffer]';
  const owned = plain && (exclusive || (body.byteOffset === 0 && body.buffer.byteLength === body.length));
  if (owned && size > 0 && start % DATATYPES[datatype].bytes === 0) return viewOf(datatype, body.buffer, start, count);
  const data = allocate(datatype, count);
  new Uint8Array(data.buffer).set(body.subarray(offset, offset + size));
  return data;
}

function decodeShape(name: string, shape: unknown, limits: DecodeLimits): number[] {
  if (!Array.isArray(shape)) throw malformedRequest(`input "${name}": "shape" must be an array of integers`);
  if (shape.length > limits.maxRank) {
    throw invalidTensor(`input "${name}": rank ${shape.length} exceeds the limit of ${limits.maxRank}`);
  }
  let count = 1;
  const out: number[] = [];
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw invalidTensor(`input "${name}": shape [${shape.map(String).join(',').slice(0, 80)}] must hold non-negative integers`);
    }
    count *= d;
    if (count > limits.maxElements) {
      throw invalidTensor(`input "${name}": shape has more than the limit of ${limits.maxElements} elements`);
    }
    out.push(d);
  }
  return out;
}

function checkBool(name: string, data: TensorData): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v !== 0 && v !== 1) throw invalidTensor(`input "${name}": BOOL element ${i} is ${v}, expected 0 or 1`);
  }
}

const INT_RANGES: Partial<Record<Datatype, [number, number]>> = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
};

/** The strings JSON carries non-finite floats as, both ways (see toJsonArray). */
const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

/** Flattens flat or nested JSON data into a typed array, checking count, types and ranges. */
function decodeJsonData(name: string, datatype: Datatype, shape: number[], count: number, data: unknown[]): TensorData {
  // Nesting deeper than the shape's rank is an error; walking iteratively means hostile
  // nesting cannot overflow the stack.
  const out = allocate(datatype, count);
  const range = INT_RANGES[datatype];
  const isFloat = datatype === 'FP32' || datatype === 'FP64';
  const big = datatype === 'INT64' || datatype === 'UINT64';
  let n = 0;
  const stack: { arr: unknown[]; i: number }[] = [{ arr: data, i: 0 }];
  const maxDepth = Math.max(1, shape.length);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.i >= top.arr.length) {
      stack.pop();
      continue;
    }
    const v = top.arr[top.i++];
    if (Array.isArray(v)) {
      if (stack.length >= maxDepth) throw invalidTensor(`input "${name}": "data" is nested deeper than its shape's rank ${shape.length}`);
      stack.push({ arr: v, i: 0 });
      continue;
    }
    if (n >= count) throw invalidTensor(`input "${name}": "data" has more than the ${count} elements its shape [${shape.join(',')}] holds`);
    if (datatype === 'BOOL') {
      if (typeof v !== 'boolean') throw invalidTensor(`input "${name}": element ${n} must be a boolean for BOOL`);
      (out as Uint8Array)[n++] = v ? 1 : 0;
      continue;
    }
    if (isFloat && typeof v === 'string' && NON_FINITE.has(v)) {
      (out as Float64Array)[n++] = Number(v);
      continue;
    }
    if (typeof v !== 'number') throw invalidTensor(`input "${name}": element ${n} must be a number for ${datatype}, got ${typeof v}`);
    if (!isFloat) {
      if (!Number.isInteger(v) || range === undefined || v < range[0] || v > range[1]) {
        throw invalidTensor(`input "${name}": element ${n} (${v}) is not a valid ${datatype}`);
      }
    }
    if (big) (out as BigInt64Array)[n++] = BigInt(v);
    else (out as Float64Array)[n++] = v;
  }
  if (n !== count) {
    throw invalidTensor(`input "${name}": "data" has ${n} elements but shape [${shape.join(',')}] needs ${count}`);
  }
  return out;
}

function decodeRequestedOutputs(raw: unknown): RequestedOutput[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) throw malformedRequest('"outputs" must be an array');
  if (raw.length > 256) throw malformedRequest('"outputs" has too many entries');
  return raw.map((o: unknown, i) => {
    if (!isObject(o) || typeof o.name !== 'string') throw malformedRequest(`outputs[${i}] must be an object with a "name"`);
    const p = o.parameters;
    if (p !== undefined && !isObject(p)) throw malformedRequest(`outputs[${i}].parameters must be an object`);
    const binary = p?.binary_data;
    if (binary !== undefined && typeof binary !== 'boolean') {
      throw malformedRequest(`outputs[${i}].parameters.binary_data must be a boolean`);
    }
    return { name: o.name, binary: binary === true };
  });
}

/** An encoded response: a JSON string, or bytes with the JSON header length for binary outputs. */
export interface EncodedResponse {
  body: string | Buffer;
  /** Set when the body carries binary tensors after the JSON header. */
  headerLength: number | undefined;
}

/** What a response is built from. */
export interface ResponseParts {
  modelName: string;
  modelVersion: string;
  id: string | undefined;
  /** The answer's top-level parameters (OIP allows any). */
  parameters?: Record<string, string | number | boolean>;
  outputs: Tensor[];
  requested: RequestedOutput[] | undefined;
  binaryOutput: boolean;
}

// A plain loop: Array.from goes through the iterator protocol, several times slower on
// the few elements of a typical response. JSON has no NaN or ±Infinity (JSON.stringify
// would write null, which cannot tell them apart); they travel as the strings "NaN",
// "Infinity" and "-Infinity" of proto3's JSON mapping (the KServe v2 protocol's gRPC form).
function toJsonArray(data: TensorData): (number | string)[] {
  const out = new Array<number | string>(data.length);
  if (isBigIntData(data)) for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  else {
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number;
      out[i] = v - v === 0 ? v : String(v);
    }
  }
  return out;
}

/** Encodes outputs as OIP JSON, or as a JSON header plus binary tensors where requested. */
export function encodeInferResponse(parts: ResponseParts): EncodedResponse {
  const selection = parts.requested ?? parts.outputs.map((t) => ({ name: t.name, binary: parts.binaryOutput }));
  const jsonOutputs: unknown[] = [];
  const chunks: Buffer[] = [];
  for (const sel of selection) {
    // Models have a handful of outputs: a scan beats building a Map per response.
    const t = parts.outputs.find((o) => o.name === sel.name);
    if (t === undefined) continue;
    if (sel.binary || parts.binaryOutput) {
      const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      chunks.push(bytes);
      jsonOutputs.push({ name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: bytes.length } });
    } else {
      jsonOutputs.push({ name: t.name, datatype: t.datatype, shape: t.shape, data: toJsonArray(t.data) });
    }
  }
  const header: Record<string, unknown> = { model_name: parts.modelName, model_version: parts.modelVersion };
  if (parts.id !== undefined) header.id = parts.id;
  if (parts.parameters !== undefined) header.parameters = parts.parameters;
  header.outputs = jsonOutputs;
  const json = JSON.stringify(header);
  if (chunks.length === 0) return { body: json, headerLength: undefined };
  const head = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([head, ...chunks]), headerLength: head.length };
}

/** Encodes a request (used by the shadow mirror and the benchmark client). */
export function encodeInferRequest(
  inputs: Tensor[],
  opts: { id?: string; binary?: boolean; outputs?: RequestedOutput[] } = {},
): EncodedResponse {
  const chunks: Buffer[] = [];
  const jsonInputs = inputs.map((t) => {
    if (opts.binary === true) {
      const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      chunks.push(bytes);
      return { name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: bytes.length } };
    }
    return { name: t.name, datatype: t.datatype, shape: t.shape, data: toJsonArray(t.data) };
  });
  const header: Record<string, unknown> = {};
  if (opts.id !== undefined) header.id = opts.id;
  header.inputs = jsonInputs;
  if (opts.outputs !== undefined) {
    header.outputs = opts.outputs.map((o) => ({ name: o.name, parameters: { binary_data: o.binary } }));
  }
  const json = JSON.stringify(header);
  if (chunks.length === 0) return { body: json, headerLength: undefined };
  const head = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([head, ...chunks]), headerLength: head.length };
}

/** Decodes a response body (JSON or binary) back into tensors; used by clients of the server. */
export function decodeInferResponse(body: Buffer, headerLength: number | undefined): { id?: string; outputs: Tensor[] } {
  const head = JSON.parse(body.subarray(0, headerLength ?? body.length).toString('utf8')) as {
    id?: string;
    outputs: { name: string; datatype: Datatype; shape: number[]; data?: (number | string)[]; parameters?: { binary_data_size?: number } }[];
  };
  let offset = headerLength ?? body.length;
  const outputs = head.outputs.map((o) => {
    const data = allocate(o.datatype, elementCount(o.shape));
    const size = o.parameters?.binary_data_size;
    if (size !== undefined) {
      new Uint8Array(data.buffer).set(body.subarray(offset, offset + size));
      offset += size;
    } else if (isBigIntData(data)) {
      (o.data ?? []).forEach((v, i) => (data[i] = BigInt(v)));
    } else {
      data.set((o.data ?? []).map(Number)); // "NaN", "Infinity" and "-Infinity" included
    }
    return { name: o.name, datatype: o.datatype, shape: o.shape, data };
  });
  return head.id === undefined ? { outputs } : { id: head.id, outputs };
}

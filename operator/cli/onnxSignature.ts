// An ONNX model's input/output signature read offline, straight from the protobuf, as the
// serving runtime reports it on GET /v2/models/{name}: the same datatype strings and -1 for
// every dimension that is not a fixed size. `kubectl siskin check` compares it with the
// stable revision's without loading the model (the plugin is one executable with no native
// addon, so onnxruntime is not there). test/contract/onnxSignature.test.ts proves it equal to
// what onnxruntime reports for the fixtures and a published model.
//
// Only the bytes of field headers and of the small messages it needs are read: a model's
// weights (initializers, often gigabytes) are skipped by their length, never loaded.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Signature, Tensor } from '../analysis/schemaGate.ts';

/** The bytes were not an ONNX model (or one this reader cannot make sense of); the message says where. */
export class OnnxFormatError extends Error {
  override name = 'OnnxFormatError';
}

/** Random access to a model's bytes: a file read piecewise, or a buffer in tests. */
export interface ByteSource {
  readonly size: number;
  /** `length` bytes at `offset`; the caller stays within `size`. */
  read(offset: number, length: number): Uint8Array;
}

/** A ByteSource over bytes already in memory. */
export function bufferSource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

/**
 * The largest message read whole: a ValueInfoProto (a name, a type, a few dims) or an
 * initializer's header fields. Anything bigger in such a place is not a model we understand.
 */
export const MAX_MESSAGE_BYTES = 1 << 20;

/**
 * ONNX TensorProto.DataType → the Open Inference Protocol datatype the serving runtime reports
 * (onnxruntime's type name mapped by serving/protocol/tensor.ts's datatypeFromOrt).
 */
export const ONNX_DATATYPES: Readonly<Record<number, string>> = {
  1: 'FP32',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'BYTES',
  9: 'BOOL',
  10: 'FP16',
  11: 'FP64',
  12: 'UINT32',
  13: 'UINT64',
};

/** What the runtime reports for an input or output that is not a tensor (a sequence, a map, an optional). */
export const NON_TENSOR = 'NON_TENSOR';

// Protobuf wire types.
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** One field of a message: its number, wire type, and its value (a varint) or byte range. */
interface Field {
  number: number;
  wire: number;
  varint: bigint;
  start: number;
  end: number;
}

/** Reads varints and field headers from a ByteSource within [pos, end). */
class Cursor {
  private readonly src: ByteSource;
  private readonly end: number;
  private readonly where: string;
  pos: number;

  constructor(src: ByteSource, pos: number, end: number, where: string) {
    this.src = src;
    this.pos = pos;
    this.end = end;
    this.where = where;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  private fail(why: string): never {
    throw new OnnxFormatError(`not an ONNX model: ${why} in ${this.where} at byte ${this.pos}`);
  }

  varint(): bigint {
    const bytes = this.src.read(this.pos, Math.min(10, this.end - this.pos));
    let value = 0n;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      value |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) {
        this.pos += i + 1;
        return BigInt.asUintN(64, value);
      }
    }
    return this.fail('a truncated or overlong varint');
  }

  next(): Field {
    const key = this.varint();
    const number = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (number < 1 || number > 536_870_911) this.fail(`field number ${number}`);
    const start = this.pos;
    switch (wire) {
      case VARINT:
        return { number, wire, varint: this.varint(), start, end: this.pos };
      case I64:
      case I32: {
        const size = wire === I64 ? 8 : 4;
        if (this.end - this.pos < size) this.fail(`a truncated ${size}-byte field ${number}`);
        this.pos += size;
        return { number, wire, varint: 0n, start, end: this.pos };
      }
      case LEN: {
        const length = this.varint();
        const from = this.pos;
        if (length > BigInt(this.end - from)) this.fail(`field ${number} of ${length} bytes runs past its end`);
        this.pos = from + Number(length);
        return { number, wire, varint: 0n, start: from, end: this.pos };
      }
      default:
        return this.fail(`wire type ${wire} (field ${number})`);
    }
  }
}

/** The fields of the message in [start, end), read lazily. */
function* fields(src: ByteSource, start: number, end: number, where: string): Generator<Field> {
  const c = new Cursor(src, start, end, where);
  while (!c.done) yield c.next();
}

function expectWire(f: Field, wire: number, where: string): void {
  if (f.wire !== wire) throw new OnnxFormatError(`not an ONNX model: field ${f.number} of ${where} has wire type ${f.wire}, expected ${wire}`);
}

/** A small message's bytes as a buffer of its own (so its fields are read from memory). */
function small(src: ByteSource, f: Field, what: string): ByteSource {
  const size = f.end - f.start;
  if (size > MAX_MESSAGE_BYTES) throw new OnnxFormatError(`not an ONNX model: ${what} of ${size} bytes (at most ${MAX_MESSAGE_BYTES} expected)`);
  return bufferSource(src.read(f.start, size).slice());
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
function text(src: ByteSource, f: Field, where: string): string {
  expectWire(f, LEN, where);
  return utf8.decode(src.read(f.start, f.end - f.start));
}

/** TensorShapeProto.Dimension → a size, or -1 (dim_param, or neither set), as the runtime maps onnxruntime's shape. */
function dimension(src: ByteSource, f: Field): number {
  expectWire(f, LEN, 'a dimension');
  let size = -1;
  for (const d of fields(src, f.start, f.end, 'a dimension')) {
    if (d.number === 1) {
      expectWire(d, VARINT, 'a dimension');
      // An int64: a negative size is no size, as the runtime treats one.
      const v = BigInt.asIntN(64, d.varint);
      size = v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : -1;
    } else if (d.number === 2) {
      // oneof: the last one set wins.
      size = -1;
    }
  }
  return size;
}

/** TypeProto → datatype and shape; a non-tensor type is NON_TENSOR with no shape, as the runtime reports it. */
function tensorType(src: ByteSource, f: Field, name: string): { datatype: string; shape: number[] } {
  let tensor: { datatype: string; shape: number[] } | undefined;
  let other = false;
  for (const t of fields(src, f.start, f.end, `the type of "${name}"`)) {
    if (t.number === 1) {
      expectWire(t, LEN, `the type of "${name}"`);
      let elemType = 0;
      const shape: number[] = [];
      for (const tt of fields(src, t.start, t.end, `the tensor type of "${name}"`)) {
        if (tt.number === 1) {
          expectWire(tt, VARINT, `the tensor type of "${name}"`);
          elemType = Number(BigInt.asIntN(32, tt.varint));
        } else if (tt.number === 2) {
          expectWire(tt, LEN, `the shape of "${name}"`);
          shape.length = 0;
          for (const d of fields(src, tt.start, tt.end, `the shape of "${name}"`)) if (d.number === 1) shape.push(dimension(src, d));
        }
      }
      const datatype = ONNX_DATATYPES[elemType];
      if (datatype === undefined) throw new OnnxFormatError(`"${name}" has ONNX element type ${elemType}, which the serving runtime cannot report`);
      tensor = { datatype, shape };
      other = false;
    } else if (t.number === 4 || t.number === 5 || t.number === 8 || t.number === 9) {
      // sequence, map, sparse tensor, optional
      other = true;
      tensor = undefined;
    }
  }
  if (other) return { datatype: NON_TENSOR, shape: [] };
  if (tensor === undefined) throw new OnnxFormatError(`"${name}" has no type`);
  return tensor;
}

/** ValueInfoProto → a tensor of the signature. */
function valueInfo(src: ByteSource, f: Field, kind: string): Tensor {
  expectWire(f, LEN, `a graph ${kind}`);
  const msg = small(src, f, `a graph ${kind}`);
  let name: string | undefined;
  let type: Field | undefined;
  for (const v of fields(msg, 0, msg.size, `a graph ${kind}`)) {
    if (v.number === 1) name = text(msg, v, `a graph ${kind}`);
    else if (v.number === 2) {
      expectWire(v, LEN, `a graph ${kind}`);
      type = v;
    }
  }
  if (name === undefined || name === '') throw new OnnxFormatError(`a graph ${kind} has no name`);
  if (type === undefined) throw new OnnxFormatError(`${kind} "${name}" has no type`);
  return { name, ...tensorType(msg, type, name) };
}

/** The name of a TensorProto (field 8), reading only its small fields. */
function tensorName(src: ByteSource, f: Field, where: string): string | undefined {
  expectWire(f, LEN, where);
  let name: string | undefined;
  for (const t of fields(src, f.start, f.end, where)) {
    if (t.number === 8) {
      if (t.end - t.start > MAX_MESSAGE_BYTES) throw new OnnxFormatError(`not an ONNX model: a name of ${t.end - t.start} bytes in ${where}`);
      name = text(src, t, where);
    }
  }
  return name;
}

/** The graph's inputs (without those an initializer feeds), outputs, and initializer names. */
function readGraph(src: ByteSource, f: Field, into: { inputs: Tensor[]; outputs: Tensor[]; initializers: Set<string> }): void {
  expectWire(f, LEN, 'the model');
  for (const g of fields(src, f.start, f.end, 'the graph')) {
    switch (g.number) {
      case 11:
        into.inputs.push(valueInfo(src, g, 'input'));
        break;
      case 12:
        into.outputs.push(valueInfo(src, g, 'output'));
        break;
      case 5: {
        const name = tensorName(src, g, 'an initializer');
        if (name !== undefined) into.initializers.add(name);
        break;
      }
      case 15: {
        // SparseTensorProto: its values tensor (field 1) carries the name.
        expectWire(g, LEN, 'the graph');
        for (const s of fields(src, g.start, g.end, 'a sparse initializer')) {
          if (s.number !== 1) continue;
          const name = tensorName(src, s, 'a sparse initializer');
          if (name !== undefined) into.initializers.add(name);
        }
        break;
      }
      default:
        // nodes, value_info, doc strings: not part of the signature.
        break;
    }
  }
}

/**
 * Reads the signature of the ONNX model in `src`: graph inputs minus initializers (as
 * onnxruntime lists them), and outputs, in graph order. Throws OnnxFormatError naming what is wrong.
 */
export function readOnnxSignature(src: ByteSource): Signature {
  if (src.size === 0) throw new OnnxFormatError('not an ONNX model: the file is empty');
  const graph = { inputs: [] as Tensor[], outputs: [] as Tensor[], initializers: new Set<string>() };
  let irVersion: bigint | undefined;
  let graphs = 0;
  for (const f of fields(src, 0, src.size, 'the model')) {
    if (f.number === 1) {
      expectWire(f, VARINT, 'the model');
      irVersion = f.varint;
    } else if (f.number === 7) {
      readGraph(src, f, graph);
      graphs++;
    } else if (f.number >= 2 && f.number <= 6) {
      // producer_name, producer_version, domain, doc_string are strings, model_version a varint.
      expectWire(f, f.number === 5 ? VARINT : LEN, 'the model');
    }
  }
  if (irVersion === undefined) throw new OnnxFormatError('not an ONNX model: no ir_version (a ModelProto starts with one)');
  if (graphs === 0) throw new OnnxFormatError('not an ONNX model: it has no graph');
  const inputs = graph.inputs.filter((t) => !graph.initializers.has(t.name));
  const duplicate = (ts: Tensor[]): string | undefined => ts.find((t, i) => ts.findIndex((u) => u.name === t.name) !== i)?.name;
  const dupIn = duplicate(inputs);
  if (dupIn !== undefined) throw new OnnxFormatError(`the graph has two inputs named "${dupIn}"`);
  const dupOut = duplicate(graph.outputs);
  if (dupOut !== undefined) throw new OnnxFormatError(`the graph has two outputs named "${dupOut}"`);
  return { inputs, outputs: graph.outputs };
}

/** The window a file source reads at a time: field headers are read from it, not byte by byte from disk. */
const WINDOW_BYTES = 64 * 1024;

/** Reads the signature of the ONNX file at `path`; I/O errors and format errors are thrown as they come. */
export function readOnnxSignatureFile(path: string): Signature {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    let windowStart = 0;
    let window = new Uint8Array(0);
    const src: ByteSource = {
      size,
      read(offset, length) {
        if (offset >= windowStart && offset + length <= windowStart + window.length) return window.subarray(offset - windowStart, offset - windowStart + length);
        const buf = new Uint8Array(Math.min(Math.max(length, WINDOW_BYTES), size - offset));
        let got = 0;
        while (got < buf.length) {
          const n = readSync(fd, buf, got, buf.length - got, offset + got);
          if (n === 0) throw new OnnxFormatError(`${path} shrank while being read`);
          got += n;
        }
        windowStart = offset;
        window = buf;
        return buf.subarray(0, length);
      },
    };
    return readOnnxSignature(src);
  } finally {
    closeSync(fd);
  }
}

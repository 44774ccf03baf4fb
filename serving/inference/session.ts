// One onnxruntime session and how a job runs on it, shared by the worker threads and the
// inline runner: the same options, the same feeds and the same output conversion wherever
// a session lives.
import * as ort from 'onnxruntime-node';
import { DATATYPES, datatypeFromOrt, isSupportedDatatype } from '../protocol/tensor.ts';
import type { Tensor, TensorData, TensorSpec } from '../protocol/tensor.ts';
import type { Signature } from '../protocol/signature.ts';
import type { JobResult } from './channel.ts';

/** How a session is made. */
export interface SessionSettings {
  model: Uint8Array;
  intraOpThreads: number;
  spinning: boolean;
}

/** Creates a session with the server's thread settings; rejects if the model does not load. */
export function createSession(settings: SessionSettings): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(settings.model, {
    intraOpNumThreads: settings.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Spinning threads burn a core while idle; off unless asked, the pool is the parallelism.
    extra: { session: { intra_op: { allow_spinning: settings.spinning ? '1' : '0' }, inter_op: { allow_spinning: '0' } } },
  });
}

function spec(meta: ort.InferenceSession.ValueMetadata): TensorSpec {
  if (!meta.isTensor) return { name: meta.name, datatype: 'NON_TENSOR', shape: [] };
  return {
    name: meta.name,
    datatype: datatypeFromOrt(meta.type),
    shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
  };
}

/** The session's inputs and outputs as read from the graph. */
export function signatureOf(session: ort.InferenceSession): Signature {
  return { inputs: session.inputMetadata.map(spec), outputs: session.outputMetadata.map(spec) };
}

// datatypeFromOrt scans a table; outputs have few distinct types, so remember them.
const datatypes = new Map<string, string>();
function datatypeOf(ortType: string): string {
  let dt = datatypes.get(ortType);
  if (dt === undefined) {
    dt = datatypeFromOrt(ortType);
    datatypes.set(ortType, dt);
  }
  return dt;
}

// A run the model refuses is answered 400 with onnxruntime's message and counted; its own log
// line would repeat it on stderr, uncolored-JSON-breaking and unbounded (one per bad request).
const RUN_OPTIONS: ort.InferenceSession.RunOptions = { logSeverityLevel: 4 };

/** Runs one job; an error becomes a result, never a rejection. computeSeconds is the caller's to fill. */
export async function runJob(session: ort.InferenceSession, inputs: readonly Tensor[]): Promise<JobResult> {
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) {
      feeds[t.name] = new ort.Tensor(DATATYPES[t.datatype].ort, t.data, t.shape);
    }
    const results = await session.run(feeds, RUN_OPTIONS);
    const outputs: Tensor[] = [];
    for (const name in results) {
      const value = results[name]!;
      const datatype = datatypeOf(value.type);
      if (!isSupportedDatatype(datatype)) throw new Error(`output "${name}" has unsupported type ${value.type}`);
      outputs.push({ name, datatype, shape: [...value.dims], data: value.data as TensorData });
    }
    return { outputs, computeSeconds: 0 };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

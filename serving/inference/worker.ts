// One onnxruntime session per worker thread: session.run blocks its thread, so it must
// never run on the event loop that answers health checks and metrics.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { DATATYPES, datatypeFromOrt, isSupportedDatatype } from '../protocol/tensor.ts';
import type { Tensor, TensorData, TensorSpec } from '../protocol/tensor.ts';
import type { FromWorker, ToWorker, WorkerInit } from './messages.ts';

const port = parentPort;
if (port === null) throw new Error('worker.ts must run as a worker thread');
const init = workerData as WorkerInit;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

function spec(meta: ort.InferenceSession.ValueMetadata): TensorSpec {
  if (!meta.isTensor) return { name: meta.name, datatype: 'NON_TENSOR', shape: [] };
  return {
    name: meta.name,
    datatype: datatypeFromOrt(meta.type),
    shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
  };
}

/** Gives the result its own ArrayBuffer so it can be transferred rather than copied. */
function owned(data: TensorData): TensorData {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) return data;
  return data.slice();
}

let session: ort.InferenceSession;
try {
  session = await ort.InferenceSession.create(init.model, {
    intraOpNumThreads: init.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Spinning threads burn a core while idle; off unless asked, the pool is the parallelism.
    extra: { session: { intra_op: { allow_spinning: init.spinning ? '1' : '0' }, inter_op: { allow_spinning: '0' } } },
  });
  post({ kind: 'ready', signature: { inputs: session.inputMetadata.map(spec), outputs: session.outputMetadata.map(spec) } });
} catch (err) {
  post({ kind: 'load-error', message: (err as Error).message });
  process.exit(0);
}

port.on('message', (msg: ToWorker) => {
  void run(msg);
});

async function run(msg: ToWorker): Promise<void> {
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of msg.inputs) {
      feeds[t.name] = new ort.Tensor(DATATYPES[t.datatype].ort, t.data, t.shape);
    }
    const started = performance.now();
    const results = await session.run(feeds);
    const computeSeconds = (performance.now() - started) / 1000;
    const outputs: Tensor[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const [name, value] of Object.entries(results)) {
      const datatype = datatypeFromOrt(value.type);
      if (!isSupportedDatatype(datatype)) throw new Error(`output "${name}" has unsupported type ${value.type}`);
      const data = owned(value.data as TensorData);
      transfer.push(data.buffer as ArrayBuffer);
      outputs.push({ name, datatype, shape: [...value.dims], data });
    }
    post({ kind: 'result', seq: msg.seq, outputs, computeSeconds }, transfer);
  } catch (err) {
    post({ kind: 'error', seq: msg.seq, message: (err as Error).message });
  }
}

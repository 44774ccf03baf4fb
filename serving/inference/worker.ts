// One onnxruntime session per worker thread: session.run blocks its thread, so it must
// never run on the event loop that answers health checks and metrics. Jobs arrive in
// groups (one wake-up for several requests under load) through the shared-memory channel,
// or by message when a group is too large for it; each job runs on its own.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { DATATYPES, datatypeFromOrt, isSupportedDatatype } from '../protocol/tensor.ts';
import type { Tensor, TensorData, TensorSpec } from '../protocol/tensor.ts';
import { Arena, JOB, JOB_VIA_MESSAGE, RESULT, VIA_MESSAGE } from './channel.ts';
import type { JobResult } from './channel.ts';
import type { FromWorker, ToWorker, WorkerInit } from './messages.ts';

const port = parentPort;
if (port === null) throw new Error('worker.ts must run as a worker thread');
const init = workerData as WorkerInit;
const control = new Int32Array(init.channel.control);
const input = new Arena(init.channel.input);
const output = new Arena(init.channel.output);

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

// The doorbell. This thread has nothing to do between groups, so it blocks in Atomics.wait:
// a futex wake-up costs half of an event-loop wake-up (Atomics.waitAsync or a message).
// Groups too large for the arena are rung for too and read from the port synchronously
// (no 'message' listener, so nothing else consumes them). The timeout hands the thread back
// to its event loop now and then, so terminate() never waits on a blocked thread.
async function serve(): Promise<void> {
  // Each worker gets fresh control words, so the first group is the one after 0 (reading
  // the word here instead could skip a group the pool wrote while this thread started).
  let seen = 0;
  for (;;) {
    if (Atomics.wait(control, JOB, seen, 50) === 'timed-out') {
      await new Promise((resolve) => setImmediate(resolve));
      continue;
    }
    seen = Atomics.load(control, JOB);
    let jobs: Tensor[][];
    if (Atomics.load(control, JOB_VIA_MESSAGE) === 1) {
      const msg = receiveMessageOnPort(port!)?.message as ToWorker | undefined;
      if (msg === undefined) throw new Error(`group ${seen} was rung for by message but none arrived`);
      jobs = msg.jobs;
    } else {
      // Views into the arena: the pool writes the next group only after this one is answered.
      jobs = input.readJobs(true);
    }
    await runGroup(seen, jobs);
  }
}
void serve();

async function runGroup(seq: number, jobs: Tensor[][]): Promise<void> {
  // All runs are started at once: onnxruntime-node defers each to a setImmediate, so they
  // execute back to back in one event-loop turn instead of one turn (and poll) per job.
  // Each job's compute time is then the time since the previous one finished.
  let last = performance.now();
  const results = await Promise.all(
    jobs.map((inputs) =>
      runOne(inputs).then((r) => {
        const now = performance.now();
        if (!('error' in r)) r.computeSeconds = (now - last) / 1000;
        last = now;
        return r;
      }),
    ),
  );
  if (output.writeResults(results)) {
    Atomics.store(control, VIA_MESSAGE, 0);
    ring(seq);
    return;
  }
  const transfer: ArrayBuffer[] = [];
  for (const r of results) {
    if ('error' in r) continue;
    for (const t of r.outputs) {
      t.data = owned(t.data);
      transfer.push(t.data.buffer as ArrayBuffer);
    }
  }
  // Ring first, then post: the pool must know the group is done before the message lets it
  // send the next one, or it could wait for this group's doorbell after it rang.
  Atomics.store(control, VIA_MESSAGE, 1);
  ring(seq);
  post({ kind: 'result', seq, results }, transfer);
}

function ring(seq: number): void {
  Atomics.store(control, RESULT, seq);
  Atomics.notify(control, RESULT);
}

async function runOne(inputs: Tensor[]): Promise<JobResult> {
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) {
      feeds[t.name] = new ort.Tensor(DATATYPES[t.datatype].ort, t.data, t.shape);
    }
    const results = await session.run(feeds);
    const outputs: Tensor[] = [];
    for (const name in results) {
      const value = results[name]!;
      const datatype = datatypeOf(value.type);
      if (!isSupportedDatatype(datatype)) throw new Error(`output "${name}" has unsupported type ${value.type}`);
      outputs.push({ name, datatype, shape: [...value.dims], data: value.data as TensorData });
    }
    // Timed by the caller, which sees when each run of the group finished.
    return { outputs, computeSeconds: 0 };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

// One onnxruntime session per worker thread: session.run blocks its thread, so it must not
// hold the event loop that answers health checks and metrics (the one exception is the
// idle fast path for models that run in microseconds, inline.ts). Jobs arrive in
// groups (one wake-up for several requests under load) through the shared-memory channel,
// or by message when a group is too large for it; each job runs on its own.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import type { Tensor, TensorData } from '../protocol/tensor.ts';
import { Arena, JOB, JOB_VIA_MESSAGE, RESULT, VIA_MESSAGE } from './channel.ts';
import type { FromWorker, ToWorker, WorkerInit } from './messages.ts';
import { createSession, runJob, signatureOf } from './session.ts';

const port = parentPort;
if (port === null) throw new Error('worker.ts must run as a worker thread');
const init = workerData as WorkerInit;
const control = new Int32Array(init.channel.control);
const input = new Arena(init.channel.input);
const output = new Arena(init.channel.output);

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

/** Gives the result its own ArrayBuffer so it can be transferred rather than copied. */
function owned(data: TensorData): TensorData {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) return data;
  return data.slice();
}

let session: InferenceSession;
try {
  session = await createSession(init);
  post({ kind: 'ready', signature: signatureOf(session) });
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
      runJob(session, inputs).then((r) => {
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

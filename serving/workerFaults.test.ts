// Worker faults through the whole server: a run wedged past the run timeout is answered 504
// and its worker replaced while the server keeps serving; a worker that dies and cannot be
// replaced leaves a dead pool whose queued requests get 503 and whose liveness fails.
// Real workers and a real slow model (~15 ms a row on one core), no fakes.
import { describe, test, expect, afterEach } from '@jest/globals';
import { corruptModel } from '../test/fixtures/onnxModels.ts';
import { startServing } from '../test/fixtures/serving.ts';
import type { TestServer } from '../test/fixtures/serving.ts';

function payload(rows: number): string {
  const data = Array.from({ length: rows * 4 }, (_, i) => (i % 5) / 5);
  return JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 4], data }] });
}

interface PoolInternals {
  slots: { worker: { terminate(): Promise<number> } }[];
  settings: { model: Uint8Array };
}

describe('worker faults', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  function infer(rows: number) {
    return server!.serving.app.inject({ method: 'POST', url: '/v2/models/tabular/infer', headers: { 'content-type': 'application/json' }, payload: payload(rows) });
  }

  test('a run past the run timeout is answered 504, and a replacement worker serves at once', async () => {
    server = await startServing('classifier-slow.onnx', { SISKIN_RUN_TIMEOUT_MS: '300', SISKIN_BATCH_MAX_SIZE: '1', SISKIN_INLINE_MAX_MICROS: '0' });
    // 400 rows: 3-6 s of compute on the one worker, ten times the timeout and more.
    const t0 = performance.now();
    const wedged = await infer(400);
    const waited = performance.now() - t0;
    expect(wedged.statusCode).toBe(504);
    expect(wedged.json()).toMatchObject({ code: 'SISKIN_RUN_TIMEOUT' });
    expect(waited).toBeGreaterThanOrEqual(300);
    expect(waited).toBeLessThan(1500);
    // The old thread is still busy in onnxruntime (for at least 3 s); the replacement answers meanwhile.
    const next = await infer(1);
    expect(next.statusCode).toBe(200);
    expect(performance.now() - t0).toBeLessThan(2500);
    expect((await server.serving.app.inject({ method: 'GET', url: '/v2/health/live' })).statusCode).toBe(200);
  });

  test('a wedged worker whose replacement cannot start: queued requests get 503, liveness and readiness fail', async () => {
    server = await startServing('classifier-slow.onnx', { SISKIN_RUN_TIMEOUT_MS: '300', SISKIN_BATCH_MAX_SIZE: '1', SISKIN_INLINE_MAX_MICROS: '0' });
    expect((await live()).statusCode).toBe(200);
    // From now on a replacement worker fails to load, as when the process is out of memory.
    internals().settings.model = corruptModel();
    const wedged = infer(200);
    const queued = [infer(1), infer(1), infer(1)];
    while (server.serving.ctx.model!.queueDepth() < 3) await new Promise((r) => setTimeout(r, 5));
    expect((await wedged).statusCode).toBe(504);
    const answers = await Promise.all(queued);
    expect(answers.map((a) => a.statusCode)).toEqual([503, 503, 503]);
    expect(answers[0]!.json()).toMatchObject({ code: 'SISKIN_WORKERS_DEAD' });
    expect(answers[0]!.json<{ error: string }>().error).toMatch(/replacement worker failed to start/);
    await expectDead();
  });

  test('more runs stuck past the timeout than workers: the pool is dead, liveness fails and the log says why', async () => {
    const lines: string[] = [];
    const env = { SISKIN_RUN_TIMEOUT_MS: '300', SISKIN_BATCH_MAX_SIZE: '1', SISKIN_INLINE_MAX_MICROS: '0', SISKIN_LOG_LEVEL: 'fatal' };
    server = await startServing('classifier-slow.onnx', env, { logStream: { write: (line) => lines.push(line) } });
    // One worker: the first stuck run is survivable (its replacement serves), the second is not.
    expect((await infer(400)).statusCode).toBe(504);
    expect((await live()).statusCode).toBe(200);
    const second = await infer(400);
    expect(second.statusCode).toBe(504);
    await expectDead();
    expect(lines.map((l) => JSON.parse(l) as { msg: string; err: { message: string } })).toEqual([
      expect.objectContaining({ msg: 'inference workers are dead; liveness fails', err: expect.objectContaining({ message: expect.stringMatching(/2 runs outlived the run timeout/) }) }),
    ]);
  });

  test('a worker killed while idle whose replacement cannot start: liveness fails, requests get 503', async () => {
    server = await startServing('classifier.onnx', { SISKIN_INLINE_MAX_MICROS: '0' });
    expect((await infer(1)).statusCode).toBe(200);
    internals().settings.model = corruptModel();
    // Idle: terminating a worker inside a run would abort the process (see pool.ts).
    await internals().slots[0]!.worker.terminate();
    for (let i = 0; i < 200 && (await live()).statusCode === 200; i++) await new Promise((r) => setTimeout(r, 10));
    await expectDead();
  });

  function live() {
    return server!.serving.app.inject({ method: 'GET', url: '/v2/health/live' });
  }

  function internals(): PoolInternals {
    return (server!.serving.ctx.model as unknown as { pool: PoolInternals }).pool;
  }

  async function expectDead(): Promise<void> {
    const afterwards = await live();
    expect(afterwards.statusCode).toBe(503);
    expect(afterwards.json()).toEqual({ live: false });
    expect((await server!.serving.app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(503);
    const refused = await infer(1);
    expect(refused.statusCode).toBe(503);
  }
});

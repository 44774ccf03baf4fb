// The reconcile contract on a manual clock: success, throw → backoff, requeueAfter, requeue, TerminalError,
// and a reconcile cut short by stop().
import { describe, expect, test } from '@jest/globals';
import { Writable } from 'node:stream';
import { ManualClock } from './clock.ts';
import { Controller } from './controller.ts';
import { createLogger } from './logger.ts';
import { OperatorMetrics } from './metrics.ts';
import { retryWithin, TerminalError, type ReconcileResult } from './reconcile.ts';

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function harness(reconcile: (key: string, call: number) => Promise<ReconcileResult | void>, backoff = { baseRetryDelayMs: 100, maxRetryDelayMs: 1000 }) {
  const clock = new ManualClock();
  const metrics = new OperatorMetrics();
  const calls: Array<{ key: string; at: number }> = [];
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const controller = new Controller({
    name: 'test',
    clock,
    metrics,
    ...backoff,
    logger: createLogger({ level: 'debug', destination: sink }),
    reconcile: (key, ctx) => {
      calls.push({ key, at: clock.now() });
      ctx.log.info('inside reconcile');
      return reconcile(key, calls.filter((c) => c.key === key).length);
    },
  });
  const running = controller.run();
  return { clock, metrics, calls, lines, controller, running };
}

async function counter(metrics: OperatorMetrics, result: string): Promise<number> {
  const m = await metrics.reconcileTotal.get();
  return m.values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('Controller', () => {
  test.each<[string, number | undefined, number[]]>([
    // what the failing reconcile had planned → when it runs again (backoff alone: 10 s, 20 s)
    ['no planned follow-up: backoff alone', undefined, [0, 10_000]],
    ['a planned round in 3 s: retried by then, however long the backoff', 3_000, [0, 3_000, 6_000, 9_000, 12_000]],
    ['a planned "right away": retried within a second, never in a hot loop', 1, [0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000, 10_000, 11_000, 12_000]],
  ])('a failed reconcile keeps the follow-up it had planned: %s', async (_, within, at) => {
    const h = harness(() => Promise.reject(retryWithin(new Error('the API server refused'), within)), { baseRetryDelayMs: 10_000, maxRetryDelayMs: 600_000 });
    h.controller.enqueue('ns/a');
    for (let t = 0; t < 12_500; t += 250) {
      await settle();
      h.clock.advance(250);
    }
    await settle();
    expect(h.calls.map((c) => c.at)).toEqual(at);
    await h.controller.stop();
    await h.running;
  });

  test('a successful reconcile runs once and is not requeued', async () => {
    const h = harness(() => Promise.resolve());
    h.controller.enqueue('ns/a');
    await settle();
    h.clock.advance(60_000);
    await settle();
    expect(h.calls).toEqual([{ key: 'ns/a', at: 0 }]);
    expect(await counter(h.metrics, 'success')).toBe(1);
    await h.controller.stop();
    await h.running;
  });

  test('a throwing reconcile is retried with growing backoff, which resets after success', async () => {
    const h = harness((_key, call) => (call <= 3 ? Promise.reject(new Error(`fail ${call}`)) : Promise.resolve()));
    h.controller.enqueue('ns/a');
    for (let i = 0; i < 10; i++) {
      await settle();
      h.clock.advance(50);
    }
    await settle();
    // Failures at t=0, then retries after 100, 200 and 400 ms.
    expect(h.calls.map((c) => c.at)).toEqual([0, 100, 300]);
    h.clock.advance(199); // t = 699
    await settle();
    expect(h.calls).toHaveLength(3);
    h.clock.advance(1);
    await settle();
    expect(h.calls.map((c) => c.at)).toEqual([0, 100, 300, 700]);
    expect(h.controller.queue.numRequeues('ns/a')).toBe(0);
    expect(await counter(h.metrics, 'error')).toBe(3);
    expect(await counter(h.metrics, 'success')).toBe(1);
    expect((await h.metrics.reconcileErrors.get()).values[0]?.value).toBe(3);
    expect(h.lines.filter((l) => l.msg === 'reconcile failed; retrying with backoff').map((l) => l.retryInMs)).toEqual([100, 200, 400]);
    await h.controller.stop();
  });

  test('requeueAfter reconciles again after exactly that wait', async () => {
    const h = harness((_key, call) => Promise.resolve(call === 1 ? { requeueAfter: 30_000 } : undefined));
    h.controller.enqueue('ns/a');
    await settle();
    h.clock.advance(29_999);
    await settle();
    expect(h.calls).toHaveLength(1);
    h.clock.advance(1);
    await settle();
    expect(h.calls.map((c) => c.at)).toEqual([0, 30_000]);
    expect(await counter(h.metrics, 'requeue_after')).toBe(1);
    await h.controller.stop();
  });

  test('requeue: true retries with backoff without counting an error', async () => {
    const h = harness((_key, call) => Promise.resolve(call === 1 ? { requeue: true } : undefined));
    h.controller.enqueue('ns/a');
    await settle();
    h.clock.advance(100);
    await settle();
    expect(h.calls.map((c) => c.at)).toEqual([0, 100]);
    expect(await counter(h.metrics, 'requeue')).toBe(1);
    expect(await counter(h.metrics, 'error')).toBe(0);
    await h.controller.stop();
  });

  test('a TerminalError is counted and logged but never retried', async () => {
    const h = harness(() => Promise.reject(new TerminalError('spec.model.uri is not a URL')));
    h.controller.enqueue('ns/a');
    await settle();
    h.clock.advance(3_600_000);
    await settle();
    expect(h.calls).toHaveLength(1);
    expect(await counter(h.metrics, 'error')).toBe(1);
    expect((await h.metrics.terminalReconcileErrors.get()).values[0]?.value).toBe(1);
    expect(h.lines.find((l) => l.msg === 'reconcile failed terminally; not retrying')).toMatchObject({ key: 'ns/a', err: { message: 'spec.model.uri is not a URL' } });
    await h.controller.stop();
  });

  test('every log line of a reconcile carries the key, namespace and name', async () => {
    const h = harness(() => Promise.reject(new Error('boom')));
    h.controller.enqueue('models/fraud');
    await settle();
    const own = h.lines.filter((l) => l.msg === 'inside reconcile' || String(l.msg).startsWith('reconcile failed'));
    expect(own).toHaveLength(2);
    for (const l of own) expect(l).toMatchObject({ key: 'models/fraud', namespace: 'models', name: 'fraud', controller: 'test' });
    await h.controller.stop();
  });

  test('stop aborts the signal of a running reconcile and waits for it', async () => {
    let seen: AbortSignal | undefined;
    let release!: () => void;
    const clock = new ManualClock();
    const controller = new Controller({
      name: 't',
      clock,
      reconcile: (_key, ctx) => {
        seen = ctx.signal;
        return new Promise<void>((r) => (release = r));
      },
    });
    const running = controller.run();
    controller.enqueue('ns/a');
    controller.enqueue('ns/b');
    await settle();
    let stopped = false;
    const stopping = controller.stop().then(() => (stopped = true));
    await settle();
    expect(seen?.aborted).toBe(true);
    expect(stopped).toBe(false);
    release();
    await stopping;
    await running;
    expect(controller.queue.stats()).toMatchObject({ depth: 0, processing: 0 });
  });

  test('a reconcile that rejects because stop aborted its signal is neither counted as an error nor retried', async () => {
    const h = harness(
      (_key, _call) =>
        new Promise<void>((_resolve, reject) => {
          // What a request does when its signal aborts: reject with the signal's reason.
          h.controller.signal.addEventListener('abort', () => reject(h.controller.signal.reason as Error), { once: true });
        }),
    );
    h.controller.enqueue('ns/a');
    await settle();
    await h.controller.stop();
    await h.running;
    expect(h.calls).toHaveLength(1);
    expect(await counter(h.metrics, 'error')).toBe(0);
    expect((await h.metrics.reconcileErrors.get()).values[0]?.value).toBe(0);
    expect(h.lines.some((l) => String(l.msg).startsWith('reconcile failed'))).toBe(false);
    expect(h.lines.find((l) => l.msg === 'reconcile interrupted: the controller is stopping')).toMatchObject({ key: 'ns/a', reason: 'Error: controller test stopped' });
  });
});

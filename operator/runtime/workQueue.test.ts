// The work queue as a specification: dedup, per-key serialization, backoff, delays, shutdown.
import { describe, expect, test } from '@jest/globals';
import { ManualClock } from './clock.ts';
import { WorkQueue } from './workQueue.ts';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets queued promise callbacks (workers waking up) run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('WorkQueue', () => {
  test('a key queued twice is processed once, in first-added order', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
    expect(q.len()).toBe(0);
    expect(q.stats().adds).toBe(2);
  });

  test('a key re-added while processing waits until done, then is queued once', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    q.add('ns/a');
    const key = await q.get();
    q.add('ns/a');
    q.add('ns/a');
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await settle();
    expect(second).toBeUndefined();
    q.done(key as string);
    await settle();
    expect(second).toBe('ns/a');
    expect(q.len()).toBe(0);
  });

  test('workers never run the same key concurrently, while different keys run in parallel', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    const running = new Map<string, number>();
    let maxSameKey = 0;
    let maxParallel = 0;
    const gates: Array<() => void> = [];
    const calls: string[] = [];
    const workers = q.process(4, async (key) => {
      calls.push(key);
      running.set(key, (running.get(key) ?? 0) + 1);
      maxSameKey = Math.max(maxSameKey, running.get(key) ?? 0);
      maxParallel = Math.max(maxParallel, [...running.values()].reduce((a, b) => a + b, 0));
      const gate = deferred();
      gates.push(gate.resolve);
      await gate.promise;
      running.set(key, (running.get(key) ?? 1) - 1);
    });
    q.add('ns/a');
    q.add('ns/b');
    await settle();
    q.add('ns/a'); // while ns/a is processing
    q.add('ns/c');
    await settle();
    expect(calls).toEqual(['ns/a', 'ns/b', 'ns/c']);
    gates.shift()?.(); // finish the first ns/a
    await settle();
    expect(calls).toEqual(['ns/a', 'ns/b', 'ns/c', 'ns/a']);
    for (const open of gates.splice(0)) open();
    await settle();
    gates.splice(0).forEach((open) => open());
    await q.shutDown();
    await workers;
    expect(maxSameKey).toBe(1);
    expect(maxParallel).toBe(3);
  });

  test('concurrency bounds the number of keys processed at once', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    let active = 0;
    let peak = 0;
    const gates: Array<() => void> = [];
    const workers = q.process(2, async () => {
      active++;
      peak = Math.max(peak, active);
      const gate = deferred();
      gates.push(gate.resolve);
      await gate.promise;
      active--;
    });
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(`ns/${k}`);
    await settle();
    expect(active).toBe(2);
    expect(q.len()).toBe(3);
    while (gates.length > 0 || q.len() > 0) {
      gates.splice(0).forEach((open) => open());
      await settle();
    }
    await q.shutDown();
    await workers;
    expect(peak).toBe(2);
  });

  test.each([
    { base: 10, max: 100, expected: [10, 20, 40, 80, 100, 100] },
    { base: 5, max: 5, expected: [5, 5, 5] },
    { base: 1000, max: 300_000, expected: [1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000] },
  ])('backoff from $base ms doubles per failure and caps at $max ms', ({ base, max, expected }) => {
    const q = new WorkQueue({ clock: new ManualClock(), baseDelayMs: base, maxDelayMs: max });
    const delays = expected.map(() => q.addRateLimited('ns/a'));
    expect(delays).toEqual(expected);
    expect(q.numRequeues('ns/a')).toBe(expected.length);
    expect(q.stats().retries).toBe(expected.length);
  });

  test('a retried key becomes ready only when its backoff elapsed', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 1000 });
    q.addRateLimited('ns/a');
    q.addRateLimited('ns/a'); // second failure: 200 ms, but the earlier 100 ms schedule wins
    clock.advance(99);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('ns/a');
  });

  test('forget resets backoff to the base delay and is per key', () => {
    const q = new WorkQueue({ clock: new ManualClock(), baseDelayMs: 10, maxDelayMs: 1000 });
    q.addRateLimited('ns/a');
    q.addRateLimited('ns/a');
    q.addRateLimited('ns/b');
    q.forget('ns/a');
    expect(q.numRequeues('ns/a')).toBe(0);
    expect(q.addRateLimited('ns/a')).toBe(10);
    expect(q.addRateLimited('ns/b')).toBe(20);
  });

  test('addAfter releases keys in due order, and the earliest schedule of a key wins', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    q.addAfter('ns/c', 300);
    q.addAfter('ns/a', 100);
    q.addAfter('ns/b', 200);
    q.addAfter('ns/a', 500); // later than the pending 100 ms: ignored
    q.addAfter('ns/d', 400);
    q.addAfter('ns/d', 50); // earlier: replaces the 400 ms schedule
    clock.advance(49);
    expect(q.len()).toBe(0);
    clock.advance(251);
    expect(q.stats()).toMatchObject({ depth: 4, delayed: 0 });
    const order = [await q.get(), await q.get(), await q.get(), await q.get()];
    expect(order).toEqual(['ns/d', 'ns/a', 'ns/b', 'ns/c']);
    clock.advance(1000);
    expect(q.len()).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  test('addAfter with no delay queues at once', () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    q.addAfter('ns/a', 0);
    expect(q.len()).toBe(1);
  });

  test('reports time spent queued and depth to its observer', async () => {
    const clock = new ManualClock();
    const waits: number[] = [];
    const depths: number[] = [];
    let adds = 0;
    let retries = 0;
    const q = new WorkQueue({
      clock,
      baseDelayMs: 10,
      observer: { onAdd: () => adds++, onRetry: () => retries++, onDequeue: (ms) => waits.push(ms), onDepth: (d) => depths.push(d) },
    });
    q.add('ns/a');
    q.add('ns/b');
    clock.advance(250);
    await q.get();
    q.addRateLimited('ns/a');
    clock.advance(10);
    // The retry re-adds ns/a while it is still processing: accepted, but not ready until done.
    expect(adds).toBe(3);
    expect(retries).toBe(1);
    expect(waits).toEqual([250]);
    expect(depths).toEqual([1, 2, 1]);
  });

  test('shutDown drops queued and delayed keys, releases idle workers, waits for in-flight work', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    const processed: string[] = [];
    const gate = deferred();
    const workers = q.process(1, async (key) => {
      processed.push(key);
      if (key === 'ns/a') await gate.promise;
    });
    q.add('ns/a');
    q.add('ns/b');
    q.addAfter('ns/c', 1000);
    await settle();
    let stopped = false;
    const stopping = q.shutDown().then(() => (stopped = true));
    q.add('ns/d');
    await settle();
    expect(stopped).toBe(false); // ns/a still running
    expect(clock.pending()).toBe(0);
    gate.resolve();
    await stopping;
    await workers;
    clock.advance(5000);
    expect(processed).toEqual(['ns/a']);
    expect(q.stats()).toMatchObject({ depth: 0, processing: 0, delayed: 0 });
    expect(await q.get()).toBeUndefined();
  });

  test('shutDown with drain processes every queued key before resolving', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    const processed: string[] = [];
    for (const k of ['a', 'b', 'c']) q.add(`ns/${k}`);
    const drained = q.shutDown({ drain: true });
    const workers = q.process(2, async (key) => {
      processed.push(key);
      await settle();
    });
    await drained;
    await workers;
    expect(processed.sort()).toEqual(['ns/a', 'ns/b', 'ns/c']);
  });

  test('a handler that throws gets its key retried with backoff', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock, baseDelayMs: 100 });
    let calls = 0;
    const workers = q.process(1, () => {
      calls++;
      return calls === 1 ? Promise.reject(new Error('boom')) : Promise.resolve();
    });
    q.add('ns/a');
    await settle();
    expect(calls).toBe(1);
    clock.advance(99);
    await settle();
    expect(calls).toBe(1);
    clock.advance(1);
    await settle();
    expect(calls).toBe(2);
    await q.shutDown();
    await workers;
  });

  test('rejects invalid tuning', async () => {
    expect(() => new WorkQueue({ baseDelayMs: 0 })).toThrow(/baseDelayMs/);
    expect(() => new WorkQueue({ baseDelayMs: 100, maxDelayMs: 10 })).toThrow(/maxDelayMs/);
    await expect(new WorkQueue().process(0, () => Promise.resolve())).rejects.toThrow(/concurrency/);
  });
});

// Shutdown: ordered steps, failures and timeouts reported without skipping later steps.
import { describe, expect, test } from '@jest/globals';
import { onTerminationSignal, runShutdown } from './shutdown.ts';

describe('graceful shutdown', () => {
  test('runs steps in order, reports a failing and a hanging step, and still runs the rest', async () => {
    const order: string[] = [];
    const outcomes = await runShutdown({
      stepTimeoutMs: 50,
      steps: [
        { name: 'stop controllers', run: () => void order.push('controllers') },
        {
          name: 'release lease',
          run: () => {
            order.push('lease');
            throw new Error('API down');
          },
        },
        { name: 'stop informers', run: () => new Promise<void>(() => order.push('informers')) },
        { name: 'close server', run: () => Promise.resolve(void order.push('server')) },
      ],
    });
    expect(order).toEqual(['controllers', 'lease', 'informers', 'server']);
    expect(outcomes).toEqual([
      { name: 'stop controllers', ok: true },
      { name: 'release lease', ok: false, error: 'API down' },
      { name: 'stop informers', ok: false, error: 'timed out after 50 ms' },
      { name: 'close server', ok: true },
    ]);
  });

  test('SIGTERM runs the shutdown once and exits 0 when every step succeeded', async () => {
    let runs = 0;
    const exited = new Promise<number>((resolve) => {
      const remove = onTerminationSignal({
        signals: ['SIGTERM'],
        steps: [{ name: 'count', run: () => void runs++ }],
        exit: (code) => {
          remove();
          resolve(code);
        },
      });
    });
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGTERM', 'SIGTERM');
    expect(await exited).toBe(0);
    expect(runs).toBe(1);
    expect(process.listenerCount('SIGTERM')).toBe(0);
  });

  test('exits 1 when a step failed', async () => {
    const exited = new Promise<number>((resolve) => {
      const remove = onTerminationSignal({
        signals: ['SIGINT'],
        steps: [{ name: 'fail', run: () => Promise.reject(new Error('x')) }],
        exit: (code) => {
          remove();
          resolve(code);
        },
      });
    });
    process.emit('SIGINT', 'SIGINT');
    expect(await exited).toBe(1);
  });
});

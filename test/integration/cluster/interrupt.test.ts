// A test run that is interrupted (SIGINT, SIGTERM) or killed outright must not leave the
// cluster's processes or its working dir behind.
import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pidAlive, sweepStaleTempDirs, waitFor } from '../../cluster/index.ts';

const script = fileURLToPath(new URL('./holdCluster.ts', import.meta.url));

interface Held {
  child: ChildProcess;
  pids: number[];
  dir: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let current: ChildProcess | undefined;
afterEach(() => {
  if (current?.exitCode === null) current.kill('SIGKILL');
});

async function holdCluster(): Promise<Held> {
  // process.execPath is the pinned Node 24, which runs the .ts script directly.
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  current = child;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let out = '';
  child.stdout.setEncoding('utf8');
  const info = await new Promise<{ pids: number[]; dir: string }>((resolve, reject) => {
    child.stdout.on('data', (c: string) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('READY '));
      if (line) resolve(JSON.parse(line.slice(6)) as { pids: number[]; dir: string });
    });
    void exit.then(() => reject(new Error(`holdCluster exited before it was ready: ${out}`)));
  });
  return { child, exit, ...info };
}

describe('teardown on interruption', () => {
  test.each(['SIGINT', 'SIGTERM'] as const)('%s stops every process and removes the working dir', async (signal) => {
    const held = await holdCluster();
    expect(held.pids.length).toBeGreaterThanOrEqual(2);
    expect(held.pids.every(pidAlive)).toBe(true);
    expect(existsSync(held.dir)).toBe(true);
    held.child.kill(signal);
    const { signal: died } = await held.exit;
    expect(died).toBe(signal);
    expect(held.pids.filter(pidAlive)).toEqual([]);
    expect(existsSync(held.dir)).toBe(false);
  });

  test('SIGKILL: the kernel kills the children, and the next run sweeps the orphaned dir', async () => {
    const held = await holdCluster();
    held.child.kill('SIGKILL');
    await held.exit;
    await waitFor('children to die with their parent', () => Promise.resolve(held.pids.some(pidAlive) ? undefined : true), {
      timeoutMs: 10_000,
    });
    expect(existsSync(held.dir)).toBe(true);
    expect(sweepStaleTempDirs()).toContain(held.dir);
    expect(existsSync(held.dir)).toBe(false);
  });
});

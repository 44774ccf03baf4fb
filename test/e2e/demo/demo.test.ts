// `npm run demo` for real, as a user runs it: the local cluster on the real node, the image
// from the Dockerfile, the Helm chart, traffic, a good version promoted and a slow one rolled
// back by the latency analysis — then everything torn down, with nothing left running.
import { afterAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDirOwner } from '../../cluster/process.ts';

const demo = fileURLToPath(new URL('../../../scripts/demo.ts', import.meta.url));
const LOCK = '/run/siskin-real-node.pid';

interface Ran {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let running: ChildProcess | undefined;

/** Runs the demo with process.execPath (the pinned Node 24, which runs .ts directly). */
function runDemo(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  const base = { ...process.env, ...env };
  // The local cluster, whatever the environment of the test run says.
  delete base.KUBECONFIG;
  const child = spawn(process.execPath, [demo, ...args], { env: base, stdio: ['ignore', 'pipe', 'pipe'] });
  running = child;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ pid: child.pid!, code, signal, stdout, stderr })));
}

function pgrep(pattern: string): string {
  try {
    return execFileSync('pgrep', ['-af', pattern], { encoding: 'utf8' }).trim();
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
}

// A demo still running when the suite ends (a timeout) gets Ctrl-C, so it tears its cluster down.
afterAll(async () => {
  const child = running;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 90_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}, 120_000);

describe('npm run demo', () => {
  test('--help, and an existing cluster without the flags it needs, answer at once', async () => {
    const help = await runDemo(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--prometheus-url');
    const missing = await runDemo(['--kubeconfig', '/nonexistent']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/on an existing cluster \(with --kubeconfig\/--context\) the demo needs:\n {2}--image REPO:TAG/);
    expect(missing.stdout).toBe('');
  });

  test('on the local cluster: version 2 promoted, the slow version 3 rolled back on latency, nothing left behind', async () => {
    const started = Date.now();
    const ran = await runDemo(['--fast']);
    const out = ran.stdout;
    // The transcript is the point of the demo: keep it in the test log.
    console.log(`demo exited ${ran.code ?? ran.signal} after ${((Date.now() - started) / 1000).toFixed(0)} s:\n${out}${ran.stderr ? `\nstderr:\n${ran.stderr.slice(-4000)}` : ''}`);
    expect(ran.code).toBe(0);
    // Every line is stamped with the time of day.
    expect(out.trim().split('\n').every((l) => /^\d\d:\d\d:\d\d {2}/.test(l))).toBe(true);
    expect(out).toMatch(/installing Siskin with its Helm chart/);
    expect(out).toMatch(/\[iris\] canary weight 0% -> 25%/);
    expect(out).toMatch(/\[iris\] canary weight 25% -> 50%/);
    expect(out).toMatch(/\[iris\] rollout of version 2 ended: Promoted/);
    // The deciding round: latency-p99 with its value, its bound and the verdict.
    expect(out).toMatch(/\[iris\] {3}latency-p99 = \d+(\.\d+)? \(bound <= 0\.25\): FAIL/);
    expect(out).toMatch(/\[iris\] rollout of version 3-slow ended: RolledBack/);
    expect(out).toMatch(/version 2: Promoted after/);
    expect(out).toMatch(/version 3-slow: RolledBack after/);
    expect(out).toMatch(/at weight 25%: +canary served +\d+\.\d% of \d+ answers/);
    expect(out).toMatch(/first canary answer -> rollback decided: \d+\.\d s/);
    expect(out).toMatch(/torn down: nothing the demo started is left running/);
    expect(pgrep('kube-apiserver')).toBe('');
    // No temporary directory of the demo's, nor of the image scripts it ran, is left.
    const leftovers = readdirSync(tmpdir())
      .filter((name) => name.startsWith('siskin-'))
      .map((name) => join(tmpdir(), name))
      .filter((dir) => tempDirOwner(dir) === ran.pid || (/siskin-(rootfs|baseimg)-/.test(dir) && statSync(dir).mtimeMs >= started));
    expect(leftovers).toEqual([]);
    expect(existsSync(LOCK)).toBe(false);
  }, 40 * 60_000);
});

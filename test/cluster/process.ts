// Supervises the processes and temp dirs the cluster library creates, so they go away
// with it: on stop(), on normal exit, on SIGINT/SIGTERM/SIGHUP, and (through the kernel's
// parent-death signal) even when the test process itself is SIGKILLed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onPath } from './hostTools.ts';

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
const asyncCleanups = new Set<() => Promise<void>>();
let hooksInstalled = false;


function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(s);
      // Bounded: an interrupted run must still end promptly.
      const deadline = new Promise<void>((r) => setTimeout(r, 20_000).unref());
      void Promise.race([runAsyncCleanups(), deadline]).finally(() => {
        killAllSync();
        process.kill(process.pid, sig);
      });
    };
    process.on(sig, onSignal);
  }
}

async function runAsyncCleanups(): Promise<void> {
  for (const fn of [...asyncCleanups].reverse()) {
    try {
      await fn();
    } catch (err) {
      console.error('siskin cluster cleanup failed:', err);
    }
  }
}

function killAllSync(): void {
  for (const child of live) {
    try {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Registers async cleanup run on SIGINT/SIGTERM before processes are killed; returns an unregister function. */
export function onInterrupt(fn: () => Promise<void>): () => void {
  installHooks();
  asyncCleanups.add(fn);
  return () => asyncCleanups.delete(fn);
}

const OWNER_FILE = '.siskin-owner-pid';

/** The pid of the process that made a temp dir with makeTempDir, or undefined if unknown (or the dir is gone). */
export function tempDirOwner(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
let swept = false;

/**
 * Removes temp dirs left by a run that was SIGKILLed (its processes died with it through
 * the parent-death signal, but nothing could delete its dirs): those whose owner is gone.
 */
export function sweepStaleTempDirs(): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('siskin-')) continue;
    const dir = join(tmpdir(), name);
    const owner = tempDirOwner(dir);
    if (owner !== undefined && !pidAlive(owner)) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // A killed real node leaves mounts (pod volumes, netns) under its dir.
        unmountUnder(dir);
        try {
          rmSync(dir, { recursive: true, force: true });
        } catch {
          continue; // still busy: the next sweep tries again
        }
      }
      removed.push(dir);
    }
  }
  return removed;
}

/** Unmounts everything mounted under dir, deepest first. */
export function unmountUnder(dir: string): void {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && (p === dir || p.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const p of points) {
    try {
      execFileSync('umount', ['-l', p], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

/** Creates a temp dir that is removed at the latest when the process exits. */
export function makeTempDir(prefix: string): { path: string; remove: () => void } {
  installHooks();
  if (!swept) {
    swept = true;
    sweepStaleTempDirs();
  }
  const path = mkdtempSync(join(tmpdir(), `siskin-${prefix}-`));
  writeFileSync(join(path, OWNER_FILE), String(process.pid));
  tempDirs.add(path);
  return {
    path,
    remove: () => {
      rmSync(path, { recursive: true, force: true });
      tempDirs.delete(path);
    },
  };
}

/** A started child process whose output goes to a log file. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True until the process has exited. */
  running(): boolean;
  /** The last lines of its log, for error messages. */
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after graceMs; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Options for startProcess. */
export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * The command line that runs `command` so the kernel kills it when this process dies (even by
 * SIGKILL): through setpriv --pdeathsig, which execs it (same pid, so signals reach it).
 */
export function diesWithParent(command: string, args: string[]): [string, string[]] {
  // Looked up per start, not at import: setup-host may install util-linux after this module loaded.
  const setpriv = onPath('setpriv');
  return setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];
}

/** Spawns a supervised process (killed by the kernel if this process dies). */
export function startProcess(opts: StartOptions): ManagedProcess {
  installHooks();
  const fd = openSync(opts.logFile, 'a');
  const [cmd, args] = diesWithParent(opts.command, opts.args);
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, {
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`${opts.name}: could not start ${opts.command}`);
  live.add(child);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      live.delete(child);
      resolve({ code, signal });
    });
    child.once('error', () => {
      done = true;
      live.delete(child);
      resolve({ code: null, signal: null });
    });
  });
  const logTail = (lines = 30): string => {
    try {
      return readFileSync(opts.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  return {
    name: opts.name,
    pid: child.pid,
    logFile: opts.logFile,
    exited,
    running: () => !done,
    logTail,
    stop: async (graceMs = 10_000) => {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** True while a pid names a live (non-zombie) process. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

// Runs the real kubectl and helm against a cluster, as a user would.
import { execFile } from 'node:child_process';
import { findBinary, isBinaryName, knownBinaries, type BinaryName } from './binaries.ts';
import { hostTool, hostToolSpecs, isHostTool, UnknownToolError } from './hostTools.ts';
import { onInterrupt } from './process.ts';

/** Outcome of a CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A binary of the cluster library or a host tool (host-tools.tsv) by name, or an absolute path. */
export type Command = BinaryName | (string & {});

/**
 * Where a command is, decided now (never at import: setup may install it later): an absolute
 * path as given, a cluster binary through findBinary, a host tool through hostTool; any other
 * name is an UnknownToolError.
 */
export function resolveCommand(name: Command): string {
  if (name.startsWith('/')) return name;
  if (isBinaryName(name)) return findBinary(name);
  if (isHostTool(name)) return hostTool(name);
  throw new UnknownToolError(name, [...knownBinaries(), ...hostToolSpecs().map((s) => s.tool)]);
}

/** Runs a binary with args, optional stdin and env; never rejects on a non-zero exit. */
export function runCli(
  name: Command,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  let command: string;
  try {
    command = resolveCommand(name);
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, cwd: opts.cwd },
      (err, stdout, stderr) => {
        stopOnInterrupt();
        const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
        if (e && typeof e.code === 'string') {
          reject(new Error(`${command}: ${e.message}`));
          return;
        }
        resolve({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr });
      },
    );
    // On Ctrl-C the command gets SIGTERM and is waited for, so a script's own cleanup (temp
    // trees, mounts) runs before this process ends.
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    const stopOnInterrupt = onInterrupt(async () => {
      child.kill('SIGTERM');
      await exited;
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Like runCli, but throws with stderr when the command fails. */
export async function runCliOk(name: Command, args: string[], opts: Parameters<typeof runCli>[2] = {}): Promise<string> {
  const r = await runCli(name, args, opts);
  if (r.code !== 0) throw new Error(`${name} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

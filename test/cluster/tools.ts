// Runs the real kubectl and helm against a cluster, as a user would.
import { execFile } from 'node:child_process';
import { findBinary, type BinaryName } from './binaries.ts';

/** Outcome of a CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A binary of the cluster library by name, or an absolute path to any executable. */
export type Command = BinaryName | `/${string}`;

/** Runs a binary with args, optional stdin and env; never rejects on a non-zero exit. */
export function runCli(
  name: Command,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  const command = name.startsWith('/') ? name : findBinary(name as BinaryName);
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, cwd: opts.cwd },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
        if (e && typeof e.code === 'string') {
          reject(new Error(`${command}: ${e.message}`));
          return;
        }
        resolve({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr });
      },
    );
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

// Images from the repository's Dockerfile, built by a local Docker engine (Debian's
// docker.io, started here when none runs, with host networking only: no bridge, no
// iptables), on a base image made locally, then loaded into the real node's containerd.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from './binaries.ts';
import { hostTool } from './hostTools.ts';
import { waitFor } from './net.ts';
import { pidAlive } from './process.ts';
import { runCli, runCliOk } from './tools.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function dockerAnswers(): boolean {
  try {
    execFileSync(hostTool('docker'), ['version', '--format', '{{.Server.Version}}'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** A Docker engine that answers; stop() stops it only if this call started it. */
export interface DockerEngine {
  readonly startedHere: boolean;
  stop(): Promise<void>;
}

/** Uses the running Docker engine, or starts Debian's dockerd with --bridge=none --iptables=false. */
export async function ensureDockerEngine(): Promise<DockerEngine> {
  hostTool('docker'); // missing: a MissingToolError naming docker.io, not a failed probe
  if (dockerAnswers()) return { startedHere: false, stop: () => Promise.resolve() };
  const dockerd = hostTool('dockerd');
  mkdirSync(cacheRoot(), { recursive: true });
  const log = join(cacheRoot(), 'dockerd.log');
  const fd = openSync(log, 'a');
  // Host networking only: Docker must never create a bridge in a private range.
  const child = spawn(dockerd, ['--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false'], {
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  const pid = child.pid!;
  child.unref();
  await waitFor('dockerd to answer', () => Promise.resolve(dockerAnswers() ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 500,
    abort: () => (pidAlive(pid) ? undefined : `dockerd exited; see ${log}`),
  });
  return {
    startedHere: true,
    stop: async () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        return;
      }
      await waitFor('dockerd to exit', () => Promise.resolve(pidAlive(pid) ? undefined : true), { timeoutMs: 30_000 }).catch(() => {
        process.kill(pid, 'SIGKILL');
      });
    },
  };
}

/** The locally made base image (Debian bookworm + Node 24 + npm), made once and cached. */
export async function ensureBaseImage(): Promise<string> {
  return (await runCliOk(join(repoRoot, 'scripts', 'make-base-image.sh'), [], { timeoutMs: 15 * 60_000 })).trim();
}

/** Builds the repository's Dockerfile (host network) with the given base image; returns the tag. */
export async function buildRepoImage(tag: string, baseImage: string, target?: string): Promise<string> {
  const r = await runCli('docker', [
    'build', '--network', 'host', '--build-arg', `BASE_IMAGE=${baseImage}`, ...(target ? ['--target', target] : []), '-t', tag, repoRoot,
  ], { timeoutMs: 20 * 60_000, env: { DOCKER_BUILDKIT: '0' } });
  if (r.code !== 0) throw new Error(`docker build failed:\n${(r.stdout + r.stderr).split('\n').slice(-30).join('\n')}`);
  return tag;
}

/** Writes `docker save` of an image to a file, for `ctr images import`. */
export function saveImage(tag: string, file: string): string {
  execFileSync('/bin/sh', ['-c', '"$0" save "$1" > "$2"', hostTool('docker'), tag, file]);
  return file;
}

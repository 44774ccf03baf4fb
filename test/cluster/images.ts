// Images made here without any registry: a static pause binary and small test images,
// packed as `docker save`-format archives and imported into the node's containerd.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** One file placed in an image. */
export interface ImageFile {
  /** Absolute path inside the image. */
  path: string;
  /** Host file to copy, or literal content. */
  from?: string;
  content?: string;
  mode?: number;
  /** Make a symlink pointing here instead of a file. */
  symlinkTo?: string;
}

/** A single-layer image FROM scratch. */
export interface ScratchImage {
  ref: string;
  files: ImageFile[];
  entrypoint: string[];
  cmd?: string[];
  env?: string[];
  user?: string;
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Writes a docker-archive tarball of a scratch image into workDir; returns its path. */
export function buildScratchImage(image: ScratchImage, workDir: string): string {
  const root = join(workDir, 'rootfs');
  mkdirSync(root, { recursive: true });
  for (const f of image.files) {
    const dst = join(root, f.path);
    mkdirSync(dirname(dst), { recursive: true });
    if (f.symlinkTo) symlinkSync(f.symlinkTo, dst);
    else if (f.from) copyFileSync(f.from, dst);
    else writeFileSync(dst, f.content ?? '');
    if (!f.symlinkTo) chmodSync(dst, f.mode ?? 0o644);
  }
  const layer = join(workDir, 'layer.tar');
  // Deterministic layer: fixed owner and mtime, sorted names.
  execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', root, '-cf', layer, '.']);
  const diffId = `sha256:${sha256File(layer)}`;
  const config = {
    architecture: 'amd64',
    os: 'linux',
    config: {
      Entrypoint: image.entrypoint,
      ...(image.cmd ? { Cmd: image.cmd } : {}),
      Env: image.env ?? ['PATH=/bin'],
      ...(image.user ? { User: image.user } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [diffId] },
  };
  writeFileSync(join(workDir, 'config.json'), JSON.stringify(config));
  writeFileSync(join(workDir, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: [image.ref], Layers: ['layer.tar'] }]));
  const archive = join(workDir, 'image.tar');
  execFileSync('tar', ['--owner=0', '--group=0', '--mtime=@0', '-C', workDir, '-cf', archive, 'manifest.json', 'config.json', 'layer.tar']);
  return archive;
}

const PAUSE_C = `
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
/* The pod sandbox's PID 1: holds the namespaces, reaps zombies, exits on TERM/INT. */
static void reap(int s) { (void)s; while (waitpid(-1, 0, WNOHANG) > 0) {} }
static void quit(int s) { (void)s; _exit(0); }
int main(void) {
  signal(SIGINT, quit);
  signal(SIGTERM, quit);
  signal(SIGCHLD, reap);
  for (;;) pause();
}
`;

/** The sandbox image's reference. */
export const PAUSE_IMAGE = 'siskin.local/pause:1';

/** Compiles the pause binary statically with gcc and packs it as an image archive. */
export function buildPauseImage(workDir: string): string {
  mkdirSync(workDir, { recursive: true });
  const src = join(workDir, 'pause.c');
  writeFileSync(src, PAUSE_C);
  const bin = join(workDir, 'pause');
  try {
    execFileSync('gcc', ['-static', '-O2', '-o', bin, src], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`building the pause image needs gcc and a static libc (apt-get install gcc libc6-dev): ${String(err)}`);
  }
  return buildScratchImage({ ref: PAUSE_IMAGE, files: [{ path: '/pause', from: bin, mode: 0o755 }], entrypoint: ['/pause'] }, join(workDir, 'image'));
}

/** A tiny HTTP test image: busybox httpd serving the given files from /www on a port. */
export function buildBusyboxHttpdImage(ref: string, workDir: string, www: Record<string, string>, port = 8080): string {
  const busybox = '/bin/busybox';
  try {
    execFileSync(busybox, ['true']);
  } catch {
    throw new Error('the test image needs a static busybox (apt-get install busybox-static)');
  }
  const files: ImageFile[] = [
    { path: '/bin/busybox', from: busybox, mode: 0o755 },
    { path: '/bin/sh', symlinkTo: 'busybox' },
    { path: '/bin/cat', symlinkTo: 'busybox' },
    { path: '/bin/hostname', symlinkTo: 'busybox' },
    ...Object.entries(www).map(([p, content]) => ({ path: `/www/${p}`, content })),
  ];
  return buildScratchImage(
    { ref, files, entrypoint: ['/bin/busybox', 'httpd', '-f', '-v', '-p', String(port), '-h', '/www'], user: '65532:65532' },
    workDir,
  );
}

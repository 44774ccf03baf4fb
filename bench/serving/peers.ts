// The servers users would otherwise pick, run on the same model file and core as Siskin:
// KServe's Python ModelServer and MLServer, each with the minimal custom ONNX model class
// their docs show (peers/*.py), calling PyPI onnxruntime with the same thread settings.
// Each gets its own virtualenv (their pins conflict), created on first use.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A peer server kind. */
export type PeerKind = 'kserve' | 'mlserver';

const PACKAGES: Record<PeerKind, string[]> = {
  kserve: ['kserve==0.21.0', 'onnxruntime==1.32.0'],
  mlserver: ['mlserver==1.7.1', 'onnxruntime==1.32.0'],
};

const PEERS_DIR = fileURLToPath(new URL('./peers/', import.meta.url));

function venvDir(kind: PeerKind): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'siskin', `bench-${kind}`);
}

/** Creates the peer's virtualenv unless it exists; returns its bin directory. */
export function ensureVenv(kind: PeerKind): string {
  const dir = venvDir(kind);
  const bin = join(dir, 'bin');
  if (!existsSync(join(bin, 'python'))) {
    process.stdout.write(`creating ${dir} (${PACKAGES[kind].join(', ')})\n`);
    const mk = spawnSync('python3', ['-m', 'venv', dir], { stdio: 'inherit' });
    if (mk.status !== 0) throw new Error(`python3 -m venv ${dir} failed`);
  }
  const pip = spawnSync(join(bin, 'pip'), ['install', '-q', ...PACKAGES[kind]], { stdio: 'inherit' });
  if (pip.status !== 0) throw new Error(`pip install ${PACKAGES[kind].join(' ')} failed`);
  return bin;
}

/** Starts a peer on `port` serving the model as "bench"; the caller waits for ready. */
export function startPeer(kind: PeerKind, modelPath: string, port: number, pin: (cmd: string, args: string[]) => [string, string[]]): ChildProcess {
  const bin = ensureVenv(kind);
  if (kind === 'kserve') {
    const [cmd, args] = pin(join(bin, 'python'), [
      join(PEERS_DIR, 'kserve_peer.py'),
      '--http_port',
      String(port),
      '--grpc_port',
      String(port + 1),
      '--enable_grpc',
      'false',
      '--workers',
      '1',
    ]);
    return spawn(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, SISKIN_BENCH_MODEL: modelPath } });
  }
  const dir = mkdtempSync(join(tmpdir(), 'siskin-mlserver-'));
  copyFileSync(join(PEERS_DIR, 'mlserver_peer.py'), join(dir, 'mlserver_peer.py'));
  // parallel_workers 0: inference in the server process, as the other two do; a separate
  // worker process would share the same pinned core.
  writeFileSync(
    join(dir, 'settings.json'),
    JSON.stringify({ debug: false, http_port: port, grpc_port: port + 1, metrics_port: port + 2, parallel_workers: 0 }),
  );
  writeFileSync(
    join(dir, 'model-settings.json'),
    JSON.stringify({ name: 'bench', implementation: 'mlserver_peer.OnnxRuntime', parameters: { uri: modelPath } }),
  );
  const [cmd, args] = pin(join(bin, 'mlserver'), ['start', dir]);
  const child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
  // The settings dir lives as long as the server does.
  child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return child;
}

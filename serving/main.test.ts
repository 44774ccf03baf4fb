// The real process: configuration errors and load failures exit non-zero with a clear
// message, and SIGTERM drains and exits 0.
import { describe, test, expect, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeFixture } from '../test/fixtures/onnxModels.ts';
import { tempDir } from '../test/fixtures/serving.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(env: Record<string, string>, onStdout?: (text: string, kill: () => void) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, () => child.kill('SIGTERM'));
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('serving/main.ts', () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());
  const base = { SISKIN_HOST: '127.0.0.1', SISKIN_PORT: '0', SISKIN_MODEL_NAME: 'tabular', SISKIN_WARMUP: '1' };

  test('an invalid configuration lists every problem and exits 2', async () => {
    const r = await run({ SISKIN_MODEL_NAME: 'no spaces allowed', SISKIN_MODEL_URI: 'https://127.0.0.1/m.onnx', SISKIN_WORKERS: '-1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('SISKIN_MODEL_NAME:');
    expect(r.stderr).toContain('SISKIN_WORKERS:');
    expect(r.stderr).toContain('SISKIN_MODEL_SHA256: is required when SISKIN_MODEL_URI is http(s)');
  });

  test('a corrupt model is a fatal log line and exit 1, never ready', async () => {
    const path = writeFixture(tmp.dir, 'corrupt.onnx');
    const r = await run({ ...base, SISKIN_MODEL_URI: pathToFileURL(path).href });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/"level":60.*protobuf parsing failed.*will not become ready/i);
    expect(r.stdout).not.toContain('model ready');
  });

  test('SIGTERM after ready shuts down cleanly with exit 0', async () => {
    const path = writeFixture(tmp.dir, 'classifier.onnx');
    let signalled = false;
    const r = await run({ ...base, SISKIN_MODEL_URI: pathToFileURL(path).href }, (out, kill) => {
      if (!signalled && out.includes('"msg":"model ready"')) {
        signalled = true;
        kill();
      }
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('shutdown complete');
  });
});

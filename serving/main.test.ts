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

  test('a model that needs longer inputs than one sample becomes ready; one that fails its given warm-up sample exits 1', async () => {
    const uri = pathToFileURL(writeFixture(tmp.dir, 'reflect-pad.onnx')).href;
    let ready = false;
    const served = await run({ ...base, SISKIN_MODEL_URI: uri }, (out, kill) => {
      if (!ready && out.includes('"msg":"model ready"')) {
        ready = true;
        kill();
      }
    });
    expect(served.code).toBe(0);
    expect(served.stdout).toMatch(/"warmup":\{"source":"generated","ok":true,"dynamicSize":16\}/);
    const sample = JSON.stringify([
      { name: 'audio', shape: [1, 1] },
      { name: 'sr', shape: [] },
      { name: 'state', shape: [2, 1, 4] },
    ]);
    const refused = await run({ ...base, SISKIN_MODEL_URI: uri, SISKIN_WARMUP_INPUTS: sample });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/"level":60.*warm-up inference failed with the given sample.*will not become ready/);
    expect(refused.stdout).not.toContain('model ready');
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

  test('inputs the model refuses at run time are answered 400 with its message, and nothing floods stderr', async () => {
    const path = writeFixture(tmp.dir, 'reflect-pad-seq.onnx');
    const answers: { status: number; error: string }[] = [];
    let started = false;
    const r = await run({ ...base, SISKIN_MODEL_URI: pathToFileURL(path).href, SISKIN_WARMUP: '0' }, (out, kill) => {
      if (started || !out.includes('"msg":"model ready"')) return;
      started = true;
      const url = `http://127.0.0.1:${/Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]}`;
      void (async () => {
        try {
          // Concurrent as well as lone: the inline runner and the workers alike.
          const send = async (): Promise<void> => {
            const res = await fetch(`${url}/v2/models/tabular/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }) });
            answers.push({ status: res.status, error: ((await res.json()) as { error: string }).error });
          };
          for (let i = 0; i < 5; i++) await send();
          await Promise.all(Array.from({ length: 20 }, send));
        } finally {
          kill();
        }
      })();
    });
    expect(r.code).toBe(0);
    expect(answers).toHaveLength(25);
    for (const a of answers) expect(a).toEqual({ status: 400, error: expect.stringMatching(/Pad/) });
    expect(r.stderr).not.toMatch(/onnxruntime/);
  });

  /** Starts the server, sends `n` requests one after another, returns its metrics text and log. */
  async function sequentialRequests(env: Record<string, string>, n: number): Promise<{ metrics: string; stdout: string }> {
    let metrics = '';
    let failure: Error | undefined;
    let started = false;
    const r = await run({ ...base, ...env }, (out, kill) => {
      if (started || !out.includes('"msg":"model ready"')) return;
      started = true;
      const port = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
      const url = `http://127.0.0.1:${port}`;
      void (async () => {
        try {
          for (let i = 0; i < n; i++) {
            const res = await fetch(`${url}/v2/models/tabular/infer`, {
              method: 'POST',
              body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [i, 1, 2, 3] }] }),
            });
            expect(res.status).toBe(200);
            const body = (await res.json()) as { outputs: { name: string; data: number[] }[] };
            expect(body.outputs.find((o) => o.name === 'probabilities')!.data).toHaveLength(3);
          }
          metrics = await (await fetch(`${url}/metrics`)).text();
        } catch (err) {
          failure = err as Error;
        } finally {
          kill();
        }
      })();
    });
    if (failure !== undefined) throw failure;
    expect(r.code).toBe(0);
    return { metrics, stdout: r.stdout };
  }

  const runs = (metrics: string, path: string) =>
    Number(new RegExp(`siskin_inference_duration_seconds_count\\{[^}]*path="${path}"[^}]*\\} (\\d+)`).exec(metrics)?.[1] ?? 0);

  test('lone requests run on the idle fast path when the model is within the bound', async () => {
    const path = writeFixture(tmp.dir, 'classifier.onnx');
    // A bound no machine misses, however busy (the default, 100 µs, is what the bench uses).
    const env = { SISKIN_MODEL_URI: pathToFileURL(path).href, SISKIN_INLINE_MAX_MICROS: '1000000' };
    const { metrics, stdout } = await sequentialRequests(env, 20);
    expect(stdout).toMatch(/"inline":"on \(one row takes \d+ µs ≤ 1000000 µs\)"/);
    // Sequential requests find the server idle: (nearly) all of them run inline.
    expect(runs(metrics, 'inline')).toBeGreaterThanOrEqual(18);
  });

  test('SISKIN_INLINE_MAX_MICROS=0 and a model slower than the bound keep every request on the workers', async () => {
    const tiny = writeFixture(tmp.dir, 'classifier.onnx');
    const off = await sequentialRequests({ SISKIN_MODEL_URI: pathToFileURL(tiny).href, SISKIN_INLINE_MAX_MICROS: '0' }, 5);
    expect(off.stdout).toContain('"inline":"off (SISKIN_INLINE_MAX_MICROS=0)"');
    expect(runs(off.metrics, 'inline')).toBe(0);
    expect(runs(off.metrics, 'worker')).toBe(5);
    // The tiny model measured against a 1 µs bound: no onnxruntime run is that fast.
    const tight = await sequentialRequests({ SISKIN_MODEL_URI: pathToFileURL(tiny).href, SISKIN_INLINE_MAX_MICROS: '1' }, 5);
    expect(tight.stdout).toMatch(/"inline":"off \(one row takes \d+ µs > 1 µs\)"/);
    expect(runs(tight.metrics, 'worker')).toBe(5);
  });
});

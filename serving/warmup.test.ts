// Warm-up of a valid model that one-sample inputs cannot run (a reflect Pad over a dynamic
// axis, a scalar input, a state tensor whose batch is not first), through the real server:
// real ONNX model, real worker threads, real Fastify.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SERVING_ENV } from '../contract/servingEnv.ts';
import { startServing } from '../test/fixtures/serving.ts';
import type { TestServer } from '../test/fixtures/serving.ts';
import { ModelLoadError } from './errors.ts';

const SAMPLE = SERVING_ENV.warmupInputs;

/** JSON of a warm-up sample of the reflect-pad model with `samples` audio samples. */
function sample(samples: number): string {
  return JSON.stringify([
    { name: 'audio', shape: [2, samples] },
    { name: 'sr', shape: [], fill: 16000 },
    { name: 'state', shape: [2, 2, 4] },
  ]);
}

/** Captured log lines of a server, parsed. */
function logSink(): { stream: { write(line: string): void }; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, stream: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

async function metadata(server: TestServer): Promise<unknown> {
  const res = await server.serving.app.inject({ method: 'GET', url: '/v2/models/tabular' });
  expect(res.statusCode).toBe(200);
  return res.json<{ warmup: unknown }>().warmup;
}

async function metric(server: TestServer, name: string): Promise<number> {
  const res = await server.serving.app.inject({ method: 'GET', url: '/metrics' });
  const line = res.body.split('\n').find((l) => l.startsWith(`${name}{`));
  return Number(line?.split(' ').at(-1));
}

async function ready(server: TestServer): Promise<number> {
  return (await server.serving.app.inject({ method: 'GET', url: '/v2/models/tabular/ready' })).statusCode;
}

describe('warm-up of a model that needs more than one sample', () => {
  let server: TestServer;
  const log = logSink();
  beforeAll(async () => {
    server = await startServing('reflect-pad.onnx', { SISKIN_LOG_LEVEL: 'info', SISKIN_WARMUP: '2' }, { logStream: log.stream });
  });
  afterAll(() => server.close());

  test('becomes ready with generated inputs, and says which size ran', async () => {
    expect(await ready(server)).toBe(200);
    expect(await metadata(server)).toEqual({ source: 'generated', ok: true, dynamicSize: 16 });
    expect(await metric(server, 'siskin_warmup_dynamic_size')).toBe(16);
    expect(await metric(server, 'siskin_warmup_failed')).toBe(0);
    expect(log.lines.find((l) => l.msg === 'model ready')).toMatchObject({ warmup: { source: 'generated', dynamicSize: 16 } });
  });

  test('answers requests as long as the model needs', async () => {
    const res = await server.serving.app.inject({
      method: 'POST',
      url: '/v2/models/tabular/infer',
      headers: { 'content-type': 'application/json' },
      payload: {
        inputs: [
          { name: 'audio', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] },
          { name: 'sr', datatype: 'INT64', shape: [], data: [8000] },
          { name: 'state', datatype: 'FP32', shape: [2, 1, 4], data: [0, 0, 0, 0, 0, 0, 0, 0] },
        ],
        outputs: [{ name: 'padded' }],
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ outputs: { data: number[] }[] }>().outputs[0]!.data).toEqual([3, 2, 1, 2, 3, 2, 1]);
  });
});

describe('a model no generated input runs', () => {
  let server: TestServer;
  const log = logSink();
  beforeAll(async () => {
    // Pads of 300 need more samples than any generated size.
    server = await startServing('reflect-pad-wide.onnx', { SISKIN_LOG_LEVEL: 'info' }, { logStream: log.stream });
  });
  afterAll(() => server.close());

  test('still becomes ready, with a warning, the failure gauge and the reason in its metadata', async () => {
    expect(await ready(server)).toBe(200);
    expect(await metadata(server)).toEqual({ source: 'generated', ok: false, message: expect.stringMatching(/Pad reflect/) as unknown });
    expect(await metric(server, 'siskin_warmup_failed')).toBe(1);
    expect(await metric(server, 'siskin_warmup_dynamic_size')).toBe(0);
    expect(log.lines.find((l) => l.level === 40)).toMatchObject({ msg: expect.stringMatching(/no generated warm-up input ran/) as unknown });
  });
});

describe('a user-given warm-up sample', () => {
  test('of a size the model runs warms it up', async () => {
    const server = await startServing('reflect-pad.onnx', { [SAMPLE]: sample(32) });
    try {
      expect(await ready(server)).toBe(200);
      expect(await metadata(server)).toEqual({ source: 'sample', ok: true });
      expect(await metric(server, 'siskin_warmup_failed')).toBe(0);
    } finally {
      await server.close();
    }
  });

  test('that the model fails refuses it, although generated inputs would have run', async () => {
    const load = startServing('reflect-pad.onnx', { [SAMPLE]: sample(2) });
    await expect(load).rejects.toThrow(ModelLoadError);
    await expect(load).rejects.toThrow(/warm-up inference failed with the given sample: .*Pad reflect/);
  });

  test('that does not fit the signature refuses the model before any run', async () => {
    const load = startServing('reflect-pad.onnx', { [SAMPLE]: JSON.stringify([{ name: 'audio', shape: [1, 16] }]) });
    await expect(load).rejects.toThrow(/^the warm-up sample does not fit the model: missing input "sr"$/);
  });
});

// The serving environment contract on its own: what is rendered loads back unchanged, unset
// settings load as the defaults, and the rendering is deterministic.
import { describe, expect, test } from '@jest/globals';
import { SERVING_DEFAULTS, SERVING_ENV, parseServingEnv, servingEnvVars, type ServingSettings } from './servingEnv.ts';

const minimal = { modelName: 'iris', modelUri: 'file:///models/iris.onnx' };

const asEnv = (vars: { name: string; value: string }[]): Record<string, string> => Object.fromEntries(vars.map((v) => [v.name, v.value]));

function load(env: Record<string, string | undefined>): ServingSettings {
  const r = parseServingEnv(env);
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.settings;
}

describe('servingEnv', () => {
  test('every setting has its own SISKIN_ variable', () => {
    const names = Object.values(SERVING_ENV);
    expect(new Set(names).size).toBe(names.length);
  });

  test('unset settings load as the published defaults, and settings without one as undefined', () => {
    expect(load(asEnv(servingEnvVars(minimal)))).toEqual({
      ...SERVING_DEFAULTS,
      ...minimal,
      modelSha256: undefined,
      routingFile: undefined,
      authTokenFile: undefined,
      referenceProfile: undefined,
      warmupInputs: undefined,
      podIp: undefined,
      peerKeyFile: undefined,
    });
  });

  test('every setting, rendered and loaded back, is unchanged', () => {
    const all: ServingSettings = {
      modelName: 'iris',
      revision: 'r9',
      modelUri: 'https://m.example/iris.onnx',
      modelSha256: 'c'.repeat(64),
      modelMaxBytes: 1024,
      task: 'regressor',
      workers: 3,
      intraOpThreads: 2,
      spinning: true,
      batchMaxSize: 8,
      batchMaxDelayMs: 1.5,
      warmup: 0,
      inlineMaxMicros: 0,
      queueBound: 9,
      bodyLimitBytes: 4096,
      host: '127.0.0.1',
      port: 9000,
      routingFile: '/r/routing.json',
      authTokenFile: '/a/tokens',
      referenceProfile: '/p/profile.json',
      driftWindow: 50,
      breakerEnabled: true,
      breakerThreshold: 0.25,
      breakerMinRequests: 7,
      feedbackCapacity: 0,
      feedbackTtlSeconds: 60,
      logLevel: 'debug',
      payloadLogSampleRate: 0.5,
      shutdownTimeoutMs: 100,
      headersTimeoutMs: 500,
      requestTimeoutMs: 900,
      keepAliveTimeoutMs: 700,
      maxConnections: 11,
      runTimeoutMs: 250,
      warmupInputs: [
        { name: 'input', shape: [1, 16] },
        { name: 'sr', shape: [], fill: 16000 },
      ],
      podIp: '198.51.100.7',
      peerKeyFile: '/k/key',
    };
    expect(servingEnvVars(all)).toHaveLength(Object.keys(SERVING_ENV).length);
    expect(load(asEnv(servingEnvVars(all)))).toEqual(all);
  });

  test('the order of variables is fixed, whatever the order of the settings given', () => {
    const a = servingEnvVars({ ...minimal, warmup: 2, workers: 4, revision: 'r' });
    const b = servingEnvVars({ revision: 'r', workers: 4, warmup: 2, ...minimal });
    expect(b).toEqual(a);
    expect(a.map((v) => v.name)).toEqual(['SISKIN_MODEL_NAME', 'SISKIN_MODEL_URI', 'SISKIN_MODEL_REVISION', 'SISKIN_WORKERS', 'SISKIN_WARMUP']);
  });

  test('a warm-up sample that is not JSON, or not a list of shapes, is refused by its variable', () => {
    const env = (value: string) => parseServingEnv({ ...asEnv(servingEnvVars(minimal)), [SERVING_ENV.warmupInputs]: value });
    for (const bad of ['{shape', '[]', '[{"name":"x","shape":[-1]}]', '[{"shape":[2]}]', '[{"name":"x","shape":[65536,65536]}]']) {
      const r = env(bad);
      expect(!r.ok && r.problems).toEqual([expect.stringMatching(/^SISKIN_WARMUP_INPUTS: /)]);
    }
  });

  test('problems name the variable, all at once', () => {
    const r = parseServingEnv({ [SERVING_ENV.modelName]: 'bad name!', [SERVING_ENV.modelUri]: 'https://m.example/x.onnx', [SERVING_ENV.workers]: '0' });
    expect(!r.ok && r.problems).toEqual([
      expect.stringMatching(/^SISKIN_MODEL_NAME: /),
      expect.stringMatching(/^SISKIN_WORKERS: /),
      'SISKIN_MODEL_SHA256: is required when SISKIN_MODEL_URI is http(s)',
    ]);
  });

  test('a headers timeout longer than the request timeout is refused', () => {
    const r = parseServingEnv({ ...asEnv(servingEnvVars(minimal)), [SERVING_ENV.headersTimeoutMs]: '2000', [SERVING_ENV.requestTimeoutMs]: '1000' });
    expect(!r.ok && r.problems).toEqual(['SISKIN_HEADERS_TIMEOUT_MS: must not exceed SISKIN_REQUEST_TIMEOUT_MS']);
  });
});

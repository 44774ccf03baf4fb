import { describe, test, expect } from '@jest/globals';
import { parseConfig } from './config.ts';

const minimal = { SISKIN_MODEL_NAME: 'iris', SISKIN_MODEL_URI: 'file:///models/iris.onnx' };

describe('parseConfig', () => {
  test('defaults fill everything optional', () => {
    const r = parseConfig(minimal);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config).toMatchObject({ modelName: 'iris', workers: 1, intraOpThreads: 1, spinning: false, batchMaxSize: 32, port: 8080, breakerEnabled: false });
  });

  test('values are coerced from strings and empty strings mean unset', () => {
    const r = parseConfig({ ...minimal, SISKIN_WORKERS: '4', SISKIN_SPINNING: 'true', SISKIN_BATCH_MAX_DELAY_MS: '0.5', SISKIN_ROUTING_FILE: '' });
    expect(r.ok && r.config).toMatchObject({ workers: 4, spinning: true, batchMaxDelayMs: 0.5, routingFile: undefined });
  });

  test('every problem is reported at once', () => {
    const r = parseConfig({
      SISKIN_MODEL_NAME: 'bad name!',
      SISKIN_MODEL_URI: 'https://example.invalid/m.onnx',
      SISKIN_WORKERS: '0',
      SISKIN_PORT: 'eighty',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^SISKIN_MODEL_NAME: /),
        expect.stringMatching(/^SISKIN_WORKERS: /),
        expect.stringMatching(/^SISKIN_PORT: /),
        'SISKIN_MODEL_SHA256: is required when SISKIN_MODEL_URI is http(s)',
      ]),
    );
  });

  test('an unknown URI scheme is refused', () => {
    const r = parseConfig({ ...minimal, SISKIN_MODEL_URI: 's3://bucket/m.onnx' });
    expect(!r.ok && r.problems).toEqual(['SISKIN_MODEL_URI: must be a file://, http:// or https:// URL']);
  });
});

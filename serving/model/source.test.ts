// Model sources over a real file system and a real HTTP server on loopback, and the rule
// that a model failing any step never turns ready.
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ModelLoadError } from '../errors.ts';
import { createServing } from '../server.ts';
import { corruptModel, tabularClassifier, unsupportedOpsetModel } from '../../test/fixtures/onnxModels.ts';
import { tempDir, testConfig } from '../../test/fixtures/serving.ts';
import { fetchModel, sha256Hex } from './source.ts';

const model = tabularClassifier();
const digest = sha256Hex(model);

describe('fetchModel', () => {
  let http: Server;
  let base = '';
  const tmp = tempDir();
  const file = join(tmp.dir, 'm.onnx');
  beforeAll(async () => {
    writeFileSync(file, model);
    http = createServer((req, res) => {
      if (req.url === '/model.onnx') res.end(Buffer.from(model));
      else if (req.url === '/slow.onnx') {
        // A large model on a slow link: headers now, the bytes later.
        res.writeHead(200, { 'content-length': String(model.length) });
        setTimeout(() => res.end(Buffer.from(model)), 300);
      }
      else if (req.url === '/no-length') {
        // Chunked, no Content-Length: the limit must be enforced while streaming.
        res.write(Buffer.from(model));
        res.end(Buffer.from(model));
      } else {
        res.statusCode = 404;
        res.end('not here');
      }
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => http.close(resolve));
    tmp.remove();
  });

  test('file:// with and without a digest', async () => {
    expect(await fetchModel({ uri: pathToFileURL(file).href, sha256: undefined, maxBytes: 1e6 })).toEqual(new Uint8Array(model));
    expect(await fetchModel({ uri: pathToFileURL(file).href, sha256: digest, maxBytes: 1e6 })).toHaveLength(model.length);
  });

  test('http:// with the right sha256', async () => {
    const bytes = await fetchModel({ uri: `${base}/model.onnx`, sha256: digest, maxBytes: 1e6 });
    expect(sha256Hex(bytes)).toBe(digest);
  });

  test('while a model downloads the server is live but not ready, then ready', async () => {
    const serving = await createServing(testConfig(`${base}/slow.onnx`, { SISKIN_MODEL_SHA256: digest }));
    try {
      const loading = serving.load();
      expect((await serving.app.inject({ method: 'GET', url: '/v2/health/live' })).statusCode).toBe(200);
      expect((await serving.app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(503);
      expect((await serving.app.inject({ method: 'GET', url: '/v2/models/tabular' })).statusCode).toBe(503);
      await loading;
      expect((await serving.app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(200);
    } finally {
      await serving.shutdown();
    }
  });

  test.each([
    ['a digest mismatch', () => ({ uri: `${base}/model.onnx`, sha256: '0'.repeat(64), maxBytes: 1e6 }), /sha256 mismatch .*expected 0{64}, got [0-9a-f]{64}/],
    ['an http URL without a digest', () => ({ uri: `${base}/model.onnx`, sha256: undefined, maxBytes: 1e6 }), /sha256 is required/],
    ['an HTTP error', () => ({ uri: `${base}/missing`, sha256: digest, maxBytes: 1e6 }), /failed with HTTP 404/],
    ['a declared size over the limit', () => ({ uri: `${base}/model.onnx`, sha256: digest, maxBytes: 100 }), /over the limit of 100/],
    ['a streamed size over the limit', () => ({ uri: `${base}/no-length`, sha256: digest, maxBytes: model.length + 10 }), /exceeds the limit/],
    ['a missing file', () => ({ uri: pathToFileURL(join(tmp.dir, 'nope.onnx')).href, sha256: undefined, maxBytes: 1e6 }), /cannot read model file/],
    ['a file over the limit', () => ({ uri: pathToFileURL(file).href, sha256: undefined, maxBytes: 10 }), /over the limit of 10/],
  ])('%s is a ModelLoadError', async (_what, source, message) => {
    const p = fetchModel(source());
    await expect(p).rejects.toBeInstanceOf(ModelLoadError);
    await expect(p).rejects.toThrow(message);
  });
});

describe('a model that fails to load never turns ready', () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  test.each([
    ['corrupt bytes', corruptModel(), undefined, /protobuf parsing failed/i],
    ['an unsupported opset', unsupportedOpsetModel(), undefined, /Opset 999/],
    ['a digest mismatch', tabularClassifier(), 'f'.repeat(64), /sha256 mismatch/],
  ])('%s', async (what, bytes, sha, message) => {
    const path = join(tmp.dir, `${what.replace(/\W/g, '_')}.onnx`);
    writeFileSync(path, bytes);
    const env: Record<string, string> = sha === undefined ? {} : { SISKIN_MODEL_SHA256: sha };
    const serving = await createServing(testConfig(pathToFileURL(path).href, env));
    try {
      await expect(serving.load()).rejects.toThrow(message);
      const ready = await serving.app.inject({ method: 'GET', url: '/v2/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect((await serving.app.inject({ method: 'GET', url: '/v2/health/live' })).statusCode).toBe(200);
      const infer = await serving.app.inject({ method: 'POST', url: '/v2/models/tabular/infer', payload: '{}' });
      expect(infer.statusCode).toBe(503);
    } finally {
      await serving.shutdown();
    }
  });
});

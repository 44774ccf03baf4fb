// Logs are JSON lines; a key-scoped logger stamps the object on every line.
import { describe, expect, test } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger, loggerForKey } from './logger.ts';

function capture(): { lines: () => Array<Record<string, unknown>>; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logger', () => {
  test('writes JSON lines with level, ISO time and message, filtered by level', () => {
    const out = capture();
    const log = createLogger({ level: 'info', destination: out.stream });
    log.debug('hidden');
    log.info({ replicas: 3 }, 'scaled');
    expect(out.lines()).toEqual([expect.objectContaining({ level: 30, msg: 'scaled', replicas: 3, component: 'siskin-operator' })]);
    expect(String(out.lines()[0]?.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('a key-scoped child stamps key, namespace and name on every line, errors keep their message', () => {
    const out = capture();
    const log = loggerForKey(createLogger({ destination: out.stream }), 'models/fraud');
    log.info('one');
    log.error({ err: new Error('apply failed') }, 'two');
    expect(out.lines()).toEqual([
      expect.objectContaining({ msg: 'one', key: 'models/fraud', namespace: 'models', name: 'fraud' }),
      expect.objectContaining({ msg: 'two', key: 'models/fraud', err: expect.objectContaining({ message: 'apply failed', type: 'Error' }) }),
    ]);
  });

  test('a cluster-scoped key has no namespace field', () => {
    const out = capture();
    loggerForKey(createLogger({ destination: out.stream }), 'node-1').info('x');
    expect(out.lines()[0]).toMatchObject({ key: 'node-1', name: 'node-1' });
    expect(out.lines()[0]).not.toHaveProperty('namespace');
  });
});

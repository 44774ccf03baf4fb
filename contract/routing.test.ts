// The routing file contract on its own: the operator's bytes are deterministic and valid,
// and an invalid document is refused with the field at fault.
import { describe, expect, test } from '@jest/globals';
import { ROUTING_FILE_PATH, SHADOW_DEFAULTS, parseRoutingDocument, serializeRouting } from './routing.ts';

const shadow = { url: 'http://iris-canary.ml.svc:80', sampleRate: 0.2, revision: 'b7c1d2e3f4' };

describe('routing file', () => {
  test('no shadow is an explicit null, read back as no mirroring', () => {
    expect(serializeRouting(undefined)).toBe('{"shadow":null}\n');
    expect(parseRoutingDocument(JSON.parse(serializeRouting(undefined)))).toBeUndefined();
  });

  test('a shadow reads back with the runtime defaults filled in', () => {
    expect(parseRoutingDocument(JSON.parse(serializeRouting(shadow)))).toEqual({ ...shadow, ...SHADOW_DEFAULTS });
  });

  test('the same shadow gives the same bytes, whatever its key order or extra fields', () => {
    const shuffled = { revision: shadow.revision, extra: 'ignored', sampleRate: shadow.sampleRate, url: shadow.url };
    expect(serializeRouting(shuffled)).toBe(serializeRouting(shadow));
  });

  test('an invalid document names the field at fault', () => {
    expect(() => parseRoutingDocument({ shadow: { ...shadow, sampleRate: 2 } })).toThrow(/shadow\.sampleRate/);
  });

  test('a URL the operator would never write is refused, naming the field', () => {
    expect(() => parseRoutingDocument({ shadow: { ...shadow, url: 'http://iris-canary.ml.svc:80/path' } })).toThrow(/shadow\.url/);
  });

  test('the file lives at an absolute path in the pod', () => {
    expect(ROUTING_FILE_PATH).toMatch(/^\/.+\/routing\.json$/);
  });
});

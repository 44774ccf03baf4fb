// The activator's port allocation: stable across restarts (status keeps it), deterministic,
// never shared, and a clear error when the range is full.
import { describe, expect, test } from '@jest/globals';
import { allocatePort, parsePortRange } from './ports.ts';

const RANGE = { first: 9400, last: 9403 };

describe('allocatePort', () => {
  test('the port status recorded is kept while it is free for the model', () => {
    expect(allocatePort('ml/iris', 9402, new Map(), RANGE)).toEqual({ port: 9402 });
    expect(allocatePort('ml/iris', 9402, new Map([[9402, 'ml/iris']]), RANGE)).toEqual({ port: 9402 });
  });

  test('a new model gets the same port whoever allocates it, and never one another model holds', () => {
    const a = allocatePort('ml/iris', undefined, new Map(), RANGE);
    expect(allocatePort('ml/iris', undefined, new Map(), RANGE)).toEqual(a);
    const port = (a as { port: number }).port;
    const other = allocatePort('ml/iris', undefined, new Map([[port, 'ml/other']]), RANGE);
    expect(other).not.toEqual(a);
    expect((other as { port: number }).port).toBeGreaterThanOrEqual(9400);
  });

  test('a recorded port now held by another model (or out of a narrowed range) is given up for a free one', () => {
    expect(allocatePort('ml/iris', 9402, new Map([[9402, 'ml/other']]), RANGE)).not.toEqual({ port: 9402 });
    const moved = allocatePort('ml/iris', 9500, new Map(), RANGE) as { port: number };
    expect(moved.port).toBeLessThanOrEqual(9403);
  });

  test('a full range is an error naming the range and the setting', () => {
    const taken = new Map([9400, 9401, 9402, 9403].map((p) => [p, `ml/m${p}`]));
    expect(allocatePort('ml/iris', undefined, taken, RANGE)).toEqual({ error: 'all 4 activator ports (9400-9403) are taken; raise the range (SISKIN_ACTIVATOR_PORTS)' });
  });
});

describe('parsePortRange', () => {
  test.each([
    ['9400-9499', { first: 9400, last: 9499 }],
    ['9400', { first: 9400, last: 9400 }],
  ])('%s', (text, want) => expect(parsePortRange(text)).toEqual(want));
  test.each(['9499-9400', '0-10', '9400-70000', 'x'])('%s is refused', (text) => expect(() => parsePortRange(text)).toThrow(/port range/));
});

import { describe, expect, test } from '@jest/globals';
import { pathToFileURL } from 'node:url';
import { placeOf, summarise, type CpuProfile } from './profile.ts';

const here = pathToFileURL(new URL('../serving/app.ts', import.meta.url).pathname).href;
const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

// root → main (app.ts) → { parse (fastify), (garbage collector) }; root → (idle)
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 5] },
    { id: 2, callFrame: frame('main', here, 9), children: [3, 4] },
    { id: 3, callFrame: frame('parse', 'file:///x/node_modules/fastify/lib/route.js', 41) },
    { id: 4, callFrame: frame('(garbage collector)') },
    { id: 5, callFrame: frame('(idle)') },
  ],
  // 1 ms per sample: main self 1, parse 5, gc 2, idle 2
  samples: [2, 3, 3, 3, 3, 3, 4, 4, 5, 5],
  timeDeltas: Array.from({ length: 10 }, () => 1000),
  startTime: 0,
  endTime: 10_000,
};

describe('CPU profile summary', () => {
  test('places: a package by name, a project file by its path, V8 pseudo-frames as themselves', () => {
    expect(placeOf(frame('x', 'file:///a/node_modules/@fastify/ajv-compiler/index.js'))).toBe('@fastify/ajv-compiler');
    expect(placeOf(frame('x', here))).toBe('serving/app.ts');
    expect(placeOf(frame('x', 'node:internal/http'))).toBe('node:internal/http');
    expect(placeOf(frame('(program)'))).toBe('(program)');
  });

  test('self time by place and function, total time along the paths', () => {
    const s = summarise(profile);
    expect(s.totalMs).toBe(10);
    expect(s.byPlace[0]).toEqual({ place: 'fastify', ms: 5, share: 0.5 });
    expect(s.byPlace.map((p) => p.place)).toEqual(['fastify', '(garbage collector)', '(idle)', 'serving/app.ts', '(root)']);
    expect(s.bySelf[0]!.frame).toBe('parse fastify:42');
    // main holds its own sample and its children's: 8 of 10; parse under it 5 of 10.
    expect(s.paths[0]).toBe('80.0% main serving/app.ts:10');
    expect(s.paths[1]).toBe('  50.0% parse fastify:42');
    expect(s.paths).toContain('20.0% (idle)');
  });
});

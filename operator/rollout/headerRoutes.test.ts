// Header routes as a function of the step index: which are in effect at each step, and when
// status says they are in place.
import { describe, expect, test } from '@jest/globals';
import { headerRoutesAt, headerRoutesInPlace } from './headerRoutes.ts';
import type { Step } from './steps.ts';

const testers = { setHeaderRoute: { name: 'testers', match: [{ header: 'x-siskin-canary', value: 'true' }] } };
const beta = { setHeaderRoute: { name: 'beta', match: [{ header: 'x-group', regex: '^beta-' }] } };
const STEPS: Step[] = [
  testers,
  { pause: {} },
  beta,
  { setWeight: 20 },
  { setHeaderRoute: { name: 'testers', match: [{ header: 'x-siskin-canary', value: 'yes' }] } },
  { setHeaderRoute: { name: 'testers' } },
  { setWeight: 50 },
];
const TESTERS = { name: 'testers', match: [{ header: 'x-siskin-canary', value: 'true' }] };
const BETA = { name: 'beta', match: [{ header: 'x-group', regex: '^beta-' }] };

describe('headerRoutesAt', () => {
  test.each<[string, number, unknown[]]>([
    ['a header route is in effect from its own step on', 0, [TESTERS]],
    ['it stays through later steps', 1, [TESTERS]],
    ['a second name adds a second route, in order of appearance', 3, [TESTERS, BETA]],
    ['a step with the same name and a new match replaces the route in place', 4, [{ name: 'testers', match: [{ header: 'x-siskin-canary', value: 'yes' }] }, BETA]],
    ['a step with the name and no match removes the route', 5, [BETA]],
    ['past the last step the routes stay until the rollout ends', 99, [BETA]],
    ['before the first step nothing is in effect', -1, []],
  ])('%s (step %i)', (_what, index, want) => {
    expect(headerRoutesAt(STEPS, index)).toEqual(want);
  });

  test('steps without header routes have none', () => {
    expect(headerRoutesAt([{ setWeight: 20 }, { pause: {} }], 1)).toEqual([]);
  });
});

describe('headerRoutesInPlace', () => {
  test.each<[string, string[] | undefined, unknown[], boolean]>([
    ['no routes wanted and none recorded', undefined, [], true],
    ['the wanted route is recorded', ['testers'], [TESTERS], true],
    ['nothing recorded yet', undefined, [TESTERS], false],
    ['a removed route still recorded', ['testers', 'beta'], [BETA], false],
    ['the same names in another order', ['beta', 'testers'], [TESTERS, BETA], false],
  ])('%s → %s', (_what, recorded, want, inPlace) => {
    expect(headerRoutesInPlace(recorded, want as never)).toBe(inPlace);
  });
});

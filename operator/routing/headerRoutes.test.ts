// Header routes on an HTTPRoute as a specification: the rule a header route becomes, and the
// patch that brings a route to the wanted header routes without touching the user's rules.
import { describe, expect, test } from '@jest/globals';
import { headerRuleName, headerRuleOps, headerRules, isHeaderRule } from './headerRoutes.ts';
import type { HttpRouteRule } from './httpRoute.ts';
import type { HeaderRoute, RouteTarget } from './route.ts';

const T: RouteTarget = { namespace: 'ml', name: 'iris', httpRoute: 'web', stableService: 'iris-stable', canaryService: 'iris-canary', port: 80 };
const CANARY = { group: '', kind: 'Service', name: 'iris-canary', port: 80, weight: 100 };
const PATH = { path: { type: 'PathPrefix', value: '/v2/models/iris' } };
const USER: HttpRouteRule = { matches: [PATH], backendRefs: [{ group: '', kind: 'Service', name: 'iris-stable', port: 80, weight: 100 }, { group: '', kind: 'Service', name: 'iris-canary', port: 80, weight: 0 }] };
const OTHER: HttpRouteRule = { matches: [{ path: { type: 'PathPrefix', value: '/other' } }], backendRefs: [{ group: '', kind: 'Service', name: 'other', port: 80 }] };
const TESTERS: HeaderRoute = { name: 'testers', match: [{ header: 'x-siskin-canary', value: 'true' }] };
const BETA: HeaderRoute = { name: 'beta', match: [{ header: 'x-group', regex: '^beta-' }] };
const testersRule: HttpRouteRule = { name: 'siskin-iris.testers', matches: [{ ...PATH, headers: [{ name: 'x-siskin-canary', type: 'Exact', value: 'true' }] }], backendRefs: [CANARY] };
const betaRule: HttpRouteRule = { name: 'siskin-iris.beta', matches: [{ ...PATH, headers: [{ name: 'x-group', type: 'RegularExpression', value: '^beta-' }] }], backendRefs: [CANARY] };

describe('headerRules', () => {
  test.each<[string, HttpRouteRule[], number[], HeaderRoute, HttpRouteRule[]]>([
    ['an exact header narrows the weighted rule to the canary', [USER], [0], TESTERS, [testersRule]],
    ['a regex header becomes a RegularExpression match', [USER], [0], BETA, [betaRule]],
    [
      "each of the weighted rule's matches gets the headers, next to its own",
      [{ ...USER, matches: [PATH, { path: { type: 'Exact', value: '/healthz' }, headers: [{ name: 'x-tenant', type: 'Exact', value: 'a' }], method: 'GET' }] }],
      [0],
      TESTERS,
      [
        {
          ...testersRule,
          matches: [
            { ...PATH, headers: [{ name: 'x-siskin-canary', type: 'Exact', value: 'true' }] },
            { path: { type: 'Exact', value: '/healthz' }, method: 'GET', headers: [{ name: 'x-tenant', type: 'Exact', value: 'a' }, { name: 'x-siskin-canary', type: 'Exact', value: 'true' }] },
          ],
        },
      ],
    ],
    ['a weighted rule without matches serves every path, and so does the header rule', [{ backendRefs: USER.backendRefs! }], [0], TESTERS, [{ ...testersRule, matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [{ name: 'x-siskin-canary', type: 'Exact', value: 'true' }] }] }]],
    [
      "the weighted rule's filters and timeouts come along, so the canary sees the same requests",
      [OTHER, { ...USER, filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'iris' } }], timeouts: { request: '10s' } }],
      [1],
      TESTERS,
      [{ ...testersRule, filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'iris' } }], timeouts: { request: '10s' } }],
    ],
    [
      'two weighted rules (with their own filters) give two header rules, numbered',
      [USER, OTHER, { ...USER, matches: [{ path: { type: 'Exact', value: '/v2/health/ready' } }], filters: [{ type: 'RequestHeaderModifier' }] }],
      [0, 2],
      TESTERS,
      [testersRule, { name: 'siskin-iris.testers.1', matches: [{ path: { type: 'Exact', value: '/v2/health/ready' }, headers: [{ name: 'x-siskin-canary', type: 'Exact', value: 'true' }] }], filters: [{ type: 'RequestHeaderModifier' }], backendRefs: [CANARY] }],
    ],
  ])('%s', (_what, rules, split, route, want) => {
    expect(headerRules(rules, split, T, route)).toEqual(want);
  });

  test('refuses a header the weighted rule already matches, naming it', () => {
    const rules = [{ ...USER, matches: [{ ...PATH, headers: [{ name: 'X-Siskin-Canary', value: 'no' }] }] }];
    expect(() => headerRules(rules, [0], T, TESTERS)).toThrow(/HTTPRoute ml\/web: rule 0 already matches the header X-Siskin-Canary, which header route testers of ModelDeployment ml\/iris matches too/);
  });
});

describe('headerRuleOps', () => {
  test.each<[string, HttpRouteRule[], HeaderRoute[], unknown[]]>([
    ['nothing wanted, nothing there: no write', [USER, OTHER], [], []],
    ['a new header route is appended', [USER, OTHER], [TESTERS], [{ op: 'add', path: '/spec/rules/-', value: testersRule }]],
    ['already in place: no write', [USER, testersRule], [TESTERS], []],
    ['a changed match replaces the rule where it stands', [USER, testersRule, OTHER], [{ name: 'testers', match: [{ header: 'x-siskin-canary', value: 'yes' }] }], [{ op: 'replace', path: '/spec/rules/1', value: { ...testersRule, matches: [{ ...PATH, headers: [{ name: 'x-siskin-canary', type: 'Exact', value: 'yes' }] }] } }]],
    ['an unwanted one is removed, leaving the rest', [USER, testersRule, OTHER, betaRule], [BETA], [{ op: 'remove', path: '/spec/rules/1' }]],
    ['every one goes when none is wanted, from the last index back', [USER, testersRule, OTHER, betaRule], [], [{ op: 'remove', path: '/spec/rules/3' }, { op: 'remove', path: '/spec/rules/1' }]],
    ['a second rule of the same name goes', [USER, testersRule, testersRule], [TESTERS], [{ op: 'remove', path: '/spec/rules/2' }]],
    [
      "another ModelDeployment's header rule in the same route is not touched",
      [USER, { ...testersRule, name: 'siskin-iris-v2.testers', backendRefs: [{ ...CANARY, name: 'iris-v2-canary' }] }],
      [],
      [],
    ],
    ["a user's own rule to the canary is not Siskin's", [USER, { name: 'canary-preview', matches: [PATH], backendRefs: [CANARY] }], [], []],
  ])('%s', (_what, rules, want, ops) => {
    expect(headerRuleOps(rules, [0], T, want)).toEqual(ops);
  });
});

describe('names', () => {
  test('a header rule is named after the ModelDeployment and the route; an over-long name is hashed', () => {
    expect(headerRuleName(T, 'testers')).toBe('siskin-iris.testers');
    expect(headerRuleName(T, 'testers', 2)).toBe('siskin-iris.testers.2');
    // Dots separate the parts, which hold none: ModelDeployment a-b's route c is not a's route b-c.
    expect(headerRuleName({ ...T, name: 'a-b' }, 'c')).not.toBe(headerRuleName({ ...T, name: 'a' }, 'b-c'));
    const long = headerRuleName({ ...T, name: 'm'.repeat(250) }, 'testers');
    expect(long).toMatch(/^siskin-[0-9a-f]{16}\.testers$/);
  });

  test('a rule is the target\'s header rule only with the prefix and the canary as its one backend', () => {
    expect(isHeaderRule(testersRule, T)).toBe(true);
    expect(isHeaderRule({ ...testersRule, name: 'testers' }, T)).toBe(false);
    expect(isHeaderRule({ ...testersRule, backendRefs: [CANARY, CANARY] }, T)).toBe(false);
  });
});

// Header routes on a Gateway API HTTPRoute, as pure functions: the rule each header route
// becomes, which rules of a route are Siskin's, and the JSON patch operations that bring the
// route to the wanted set and touch nothing else.
//
// A header route becomes rules appended to the user's route, one per user rule that routes to
// the stable Service, named `siskin-<md>.<route>` (then `.1`, `.2`, …; the rule `name` field of
// Gateway API v1.2+, standard channel) and routing only to the canary Service at weight 100.
// Each has that user rule's matches with the header conditions added, so the header route
// narrows what the route already serves and never widens it (same paths, methods, query
// parameters, hostnames), and that rule's filters and timeouts, so a rewrite still applies. Gateway API ranks a
// match with more header conditions above the same match without them, so the header rule wins
// over the weighted rule wherever the rules are in the list.
//
// A rule is Siskin's (for one ModelDeployment) when its name has the `siskin-` prefix and its
// only backendRef is that ModelDeployment's canary Service: removing these rules leaves every
// other rule exactly as its owner wrote it.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../resources/revision.ts';
import { refersTo, type HttpHeaderMatch, type HttpRouteMatch, type HttpRouteRule, type PatchOp } from './httpRoute.ts';
import type { HeaderRoute, RouteTarget } from './route.ts';

/** The prefix of every rule name Siskin writes. */
export const HEADER_RULE_PREFIX = 'siskin-';

/** The longest rule name Gateway API accepts. */
const RULE_NAME_MAX = 253;

/** The match the API server gives a rule that has none: every path. */
const MATCH_ALL: HttpRouteMatch = { path: { type: 'PathPrefix', value: '/' } };

/**
 * The name of a header route's rule for the k-th rule that routes to stable:
 * `siskin-<md>.<route>`, then `.1`, `.2`, …; neither name holds a dot, so no two
 * ModelDeployments sharing a route can collide (the ModelDeployment's name is hashed if too long).
 */
export function headerRuleName(t: RouteTarget, route: string, k = 0): string {
  const suffix = `.${route}${k > 0 ? `.${k}` : ''}`;
  const name = `${HEADER_RULE_PREFIX}${t.name}${suffix}`;
  if (name.length <= RULE_NAME_MAX) return name;
  return `${HEADER_RULE_PREFIX}${createHash('sha256').update(t.name).digest('hex').slice(0, 16)}${suffix}`;
}

/** Whether a rule is one of the target's header rules. */
export function isHeaderRule(rule: HttpRouteRule, t: RouteTarget): boolean {
  const refs = rule.backendRefs ?? [];
  return (rule.name ?? '').startsWith(HEADER_RULE_PREFIX) && refs.length === 1 && refersTo(refs[0]!, t.namespace, t.canaryService);
}

/** The rules of one header route: one per rule that routes to the stable Service (by index), narrowed by the headers. */
export function headerRules(rules: readonly HttpRouteRule[], splitIndexes: readonly number[], t: RouteTarget, route: HeaderRoute): HttpRouteRule[] {
  const headers: HttpHeaderMatch[] = route.match.map((m) =>
    m.regex !== undefined ? { name: m.header, type: 'RegularExpression', value: m.regex } : { name: m.header, type: 'Exact', value: m.value },
  );
  return splitIndexes.map((index, k) => {
    const rule = rules[index]!;
    const matches = (rule.matches && rule.matches.length > 0 ? rule.matches : [MATCH_ALL]).map((m) => {
      const clash = (m.headers ?? []).find((h) => headers.some((x) => x.name.toLowerCase() === h.name.toLowerCase()));
      if (clash) {
        throw new Error(
          `HTTPRoute ${t.namespace}/${t.httpRoute}: rule ${index} already matches the header ${clash.name}, which header route ${route.name} of ModelDeployment ${t.namespace}/${t.name} matches too; use another header`,
        );
      }
      return { ...m, headers: [...(m.headers ?? []), ...headers] };
    });
    // The canary must see requests exactly as the weighted rule would send them.
    return {
      name: headerRuleName(t, route.name, k),
      matches,
      ...(rule.filters && rule.filters.length > 0 ? { filters: rule.filters } : {}),
      ...(rule.timeouts !== undefined ? { timeouts: rule.timeouts } : {}),
      backendRefs: [{ group: '', kind: 'Service', name: t.canaryService, port: t.port, weight: 100 }],
    };
  });
}

/**
 * The operations that bring the target's header rules to the wanted routes: a changed rule is
 * replaced where it stands, an unwanted one removed (from the last index back, so the indexes
 * read stay valid), a new one appended. None when the route already has exactly these rules.
 */
export function headerRuleOps(rules: readonly HttpRouteRule[], splitIndexes: readonly number[], t: RouteTarget, want: readonly HeaderRoute[]): PatchOp[] {
  const desired = want.flatMap((r) => headerRules(rules, splitIndexes, t, r));
  const live = rules.flatMap((rule, index) => (isHeaderRule(rule, t) ? [{ rule, index }] : []));
  const replaces: PatchOp[] = [];
  const removes: number[] = [];
  live.forEach(({ rule, index }, k) => {
    const d = desired.find((x) => x.name === rule.name);
    // A second rule of the same name (written by hand, say) goes too.
    if (!d || live.findIndex((l) => l.rule.name === rule.name) !== k) removes.push(index);
    else if (canonicalJson(d) !== canonicalJson(rule)) replaces.push({ op: 'replace', path: `/spec/rules/${index}`, value: d });
  });
  const adds: PatchOp[] = desired.filter((d) => !live.some((l) => l.rule.name === d.name)).map((d) => ({ op: 'add', path: '/spec/rules/-', value: d }));
  return [...replaces, ...removes.sort((a, b) => b - a).map((i): PatchOp => ({ op: 'remove', path: `/spec/rules/${i}` })), ...adds];
}

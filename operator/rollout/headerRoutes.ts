// Header routes as a function of the step index, like weightAt(): the routes in effect at step
// i follow from steps[0..i] alone (Argo Rollouts' setHeaderRoute semantics: a step with match
// sets or replaces the route of its name, a step without match removes it). So the only state
// they need is the step index already kept in status, and an operator restart puts back
// exactly the routes the rollout had.
import type { HeaderRoute } from '../api/schema.ts';
import type { Step } from './steps.ts';

/** The header routes in effect at a step index, in the order their names first appeared. */
export function headerRoutesAt(steps: readonly Step[], index: number): HeaderRoute[] {
  const routes = new Map<string, HeaderRoute>();
  for (const s of steps.slice(0, Math.max(0, index + 1))) {
    const r = s.setHeaderRoute;
    if (!r) continue;
    if (r.match) routes.set(r.name, { name: r.name, match: r.match.map((m) => (m.regex !== undefined ? { header: m.header, regex: m.regex } : { header: m.header, value: m.value! })) });
    else routes.delete(r.name);
  }
  return [...routes.values()];
}

/** Whether the header routes recorded in status as in place are exactly the named ones. */
export function headerRoutesInPlace(inPlace: readonly string[] | undefined, want: readonly HeaderRoute[]): boolean {
  const have = inPlace ?? [];
  return have.length === want.length && want.every((r, i) => have[i] === r.name);
}

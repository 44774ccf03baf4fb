// The header routes the plan puts on a Gateway API route: those of the canary's step while an
// admitted canary rolls out, none otherwise — so promotion, a rollback and a new spec's canary
// (which starts again at step 0) all take away what the last rollout set. Their names go into
// status as the routes in place; apply puts the stored names back when routing fails.
import type { HeaderRoute, ModelDeploymentStatus } from '../../api/schema.ts';
import { headerRoutesAt } from '../../rollout/headerRoutes.ts';
import { admitted, rolling, type PlanContext } from './context.ts';

/** The header routes to put in place; undefined when the routing has no route (replica ratio). */
export function desiredHeaderRoutes(ctx: PlanContext, routeWeight: number | undefined): HeaderRoute[] | undefined {
  if (routeWeight === undefined) return undefined;
  return rolling(ctx) && admitted(ctx.spec, ctx.canary) ? headerRoutesAt(ctx.spec.rollout.steps, ctx.step.stepIndex) : [];
}

/** The status with the names of the header routes that will be in place (absent when none). */
export function withHeaderRoutes(status: ModelDeploymentStatus, routes: readonly HeaderRoute[] | undefined): ModelDeploymentStatus {
  const rest = { ...status };
  delete rest.headerRoutes;
  return routes && routes.length > 0 ? { ...rest, headerRoutes: routes.map((r) => r.name) } : rest;
}

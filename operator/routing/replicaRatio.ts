// The default router: the `<md>` Service selects every revision's pods, so the split follows
// the replica counts the planner already chose. There is nothing to route and nothing to read
// back; pretending otherwise (returning a split computed from replicas) would report a
// traffic share no component enforces.
import type { Router } from './router.ts';

/** The ReplicaRatio router: weights are replica counts, set by the planner, not here. */
export function replicaRatioRouter(): Router {
  return {
    setRoutes: () => Promise.resolve(),
    getRoutes: () => Promise.resolve(undefined),
  };
}

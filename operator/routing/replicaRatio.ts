// The default router: the `<md>` Service selects every revision's pods, so the split is the
// replica counts; there is no route to write. (Reading a split back from replica counts would
// report a share no component enforces, so this router offers none.)
import type { Router } from './route.ts';
import { trafficSplit } from './split.ts';

/** The ReplicaRatio router: weights become replica counts; no route to set. */
export function replicaRatioRouter(): Router {
  return { ...trafficSplit('ReplicaRatio'), setRoutes: () => Promise.resolve() };
}

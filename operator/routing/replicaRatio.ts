// The default router: the `<md>` Service selects every revision's pods, so the split is the
// replica counts; there is no route to write. (Reading a split back from replica counts would
// report a share no component enforces, so this router offers none.)
import type { Router } from './route.ts';
import { trafficSplit } from './split.ts';

/** The ReplicaRatio router: weights become replica counts; no route to set, and no header routes. */
export function replicaRatioRouter(): Router {
  return {
    ...trafficSplit('ReplicaRatio'),
    // Admission refuses setHeaderRoute steps without GatewayAPI routing; this is the second line.
    setRoutes: (t, _weight, _signal, headerRoutes = []) =>
      headerRoutes.length === 0 ? Promise.resolve() : Promise.reject(new Error(`ModelDeployment ${t.namespace}/${t.name}: header routes need spec.rollout.trafficRouting.type GatewayAPI`)),
  };
}

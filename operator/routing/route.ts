// One small interface between the rollout and whatever turns a canary weight into traffic
// (Flagger's router pattern): the router splits a weight into replica counts and a route
// weight (pure, used by the plan) and puts the route weight and any header routes in place
// (used by the reconciler).
import type { HeaderRoute } from '../api/schema.ts';
import type { TrafficSplit } from './split.ts';

export type { HeaderMatch, HeaderRoute } from '../api/schema.ts';

/** What a router splits traffic for: one ModelDeployment's stable and canary Services. */
export interface RouteTarget {
  namespace: string;
  /** The ModelDeployment's name (for error messages). */
  name: string;
  /** GatewayAPI: the HTTPRoute, in the same namespace, whose backend weights the operator owns. */
  httpRoute?: string;
  stableService: string;
  canaryService: string;
  /** The Services' port, as a backendRef names it. */
  port: number;
}

/** A traffic split in percent. */
export interface RouteWeights {
  stable: number;
  canary: number;
}

/** Splits a canary weight into replica counts and a route weight, and puts the route weight in place. */
export interface Router extends TrafficSplit {
  /**
   * Sends canaryWeight percent (an integer 0..100) to the canary and the rest to stable, and
   * requests matching one of headerRoutes (absent: none) to the canary alone, removing any
   * header route not named; writes nothing when already so; signal aborts its requests.
   */
  setRoutes(t: RouteTarget, canaryWeight: number, signal?: AbortSignal, headerRoutes?: readonly HeaderRoute[]): Promise<void>;
}

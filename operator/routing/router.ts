// One small interface between the rollout and whatever turns a canary weight into traffic
// (Flagger's router pattern): the router splits a weight into replica counts and a route
// weight (pure, used by the plan) and puts the route weight in place (used by the reconciler);
// a factory picks the implementation that spec.rollout.trafficRouting names.
import type { KubeConfig } from '@kubernetes/client-node';
import { serviceNames } from '../resources/labels.ts';
import { gatewayApiRouter } from './gatewayApi.ts';
import { replicaRatioRouter } from './replicaRatio.ts';
import type { TrafficRoutingType, TrafficSplit } from './split.ts';

export type { TrafficRoutingType } from './split.ts';

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
  /** Sends canaryWeight percent (an integer 0..100) to the canary and the rest to stable; writes nothing when already so. */
  setRoutes(t: RouteTarget, canaryWeight: number): Promise<void>;
}

/** What routers may need from the outside world. */
export interface RouterDeps {
  kubeConfig: KubeConfig;
}

/** The port every Service of servingServices() exposes. */
const SERVICE_PORT = 80;

/** The RouteTarget of a ModelDeployment, with the Service names the operator gives it. */
export function routeTarget(namespace: string, name: string, httpRoute?: string): RouteTarget {
  const names = serviceNames(name);
  return { namespace, name, ...(httpRoute ? { httpRoute } : {}), stableService: names.stable, canaryService: names.canary, port: SERVICE_PORT };
}

/** The router for a traffic routing type. */
export function routerFor(type: TrafficRoutingType, deps: RouterDeps): Router {
  switch (type) {
    case 'ReplicaRatio':
      return replicaRatioRouter();
    case 'GatewayAPI':
      return gatewayApiRouter(deps.kubeConfig);
  }
}

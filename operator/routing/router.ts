// The routers: the one that spec.rollout.trafficRouting names, and the route target of a
// ModelDeployment (the interface is in route.ts).
import type { KubeConfig } from '@kubernetes/client-node';
import { serviceNames } from '../resources/labels.ts';
import { gatewayApiRouter } from './gatewayApi.ts';
import { replicaRatioRouter } from './replicaRatio.ts';
import type { RouteTarget, Router } from './route.ts';
import type { TrafficRoutingType } from './split.ts';

export type { Router, RouteTarget, RouteWeights } from './route.ts';
export type { TrafficRoutingType } from './split.ts';

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

// The parts of a Gateway API HTTPRoute (gateway.networking.k8s.io/v1) the GatewayAPI router
// reads and writes, and the JSON patch operations it writes them with.

/** A backendRef as stored (group and kind defaulted by the API server). */
export interface BackendRef {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  port?: number;
  weight?: number;
}

/** One header condition of a match. */
export interface HttpHeaderMatch {
  name: string;
  type?: 'Exact' | 'RegularExpression';
  value: string;
}

/** One match of a rule: its conditions are ANDed. */
export interface HttpRouteMatch {
  path?: { type?: string; value?: string };
  headers?: HttpHeaderMatch[];
  queryParams?: unknown[];
  method?: string;
}

/** One rule of an HTTPRoute. */
export interface HttpRouteRule {
  name?: string;
  matches?: HttpRouteMatch[];
  filters?: unknown[];
  timeouts?: unknown;
  backendRefs?: BackendRef[];
}

/** An HTTPRoute, as far as the router looks. */
export interface HttpRoute {
  metadata: { resourceVersion?: string };
  spec?: { rules?: HttpRouteRule[] };
}

/** A JSON patch operation (RFC 6902) on an HTTPRoute. */
export type PatchOp = { op: 'test' | 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

/** A backendRef to the named Service in the route's own namespace (group and kind take the API defaults). */
export function refersTo(ref: BackendRef, namespace: string, service: string): boolean {
  return (ref.group ?? '') === '' && (ref.kind ?? 'Service') === 'Service' && (ref.namespace ?? namespace) === namespace && ref.name === service;
}

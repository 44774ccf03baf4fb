// The canary's side of mirroring: requests a stable server mirrored here are recorded under
// their own `route` label, apart from the live traffic the canary analysis judges.
import type { FastifyRequest } from 'fastify';
import { INFER_ROUTES } from '../../contract/http.ts';
import { MIRRORED_ROUTE } from '../../contract/metrics.ts';
import { MIRROR_HEADER } from '../../contract/routing.ts';

const inferRoutes: ReadonlySet<string> = new Set(INFER_ROUTES);

/** The `route` label of an answered request: MIRRORED_ROUTE for a mirrored inference request, else its route pattern. */
export function routeLabel(req: FastifyRequest): string {
  const route = req.routeOptions.url ?? 'unmatched';
  return req.headers[MIRROR_HEADER] !== undefined && inferRoutes.has(route) ? MIRRORED_ROUTE : route;
}

// GET /metrics in the Prometheus text format; open like health.
import type { FastifyInstance } from 'fastify';
import { METRICS_PATH } from '../../contract/http.ts';
import type { ServingContext } from '../context.ts';

/** Registers GET /metrics. */
export function metricsRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.get(METRICS_PATH, async (_req, reply) => {
    const registry = ctx.metrics.registry;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}

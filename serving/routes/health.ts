// OIP health and server metadata: always open (no auth), cheap, never touch a worker.
import type { FastifyInstance } from 'fastify';
import { HEALTH_LIVE_PATH, HEALTH_READY_PATH } from '../../contract/http.ts';
import type { ServingContext } from '../context.ts';

/** Server name and version reported by GET /v2. */
export const SERVER_INFO = {
  name: 'siskin',
  version: '0.1.0',
  // siskin_feedback: POST /v2/models/{name}/feedback, our addition beside OIP.
  extensions: ['binary_tensor_data', 'siskin_feedback'],
} as const;

/** Registers /v2/health/live, /v2/health/ready and /v2. */
export function healthRoutes(app: FastifyInstance, ctx: ServingContext): void {
  const liveSchema = { type: 'object', properties: { live: { type: 'boolean' } } };
  app.get(HEALTH_LIVE_PATH, { schema: { response: { 200: liveSchema, 503: liveSchema } } }, async (_req, reply) => {
    // Dead workers never come back in this process: only a restart by the kubelet helps.
    // While the model loads there are no workers yet, and that is alive.
    const live = ctx.model?.isLive() !== false;
    return reply.code(live ? 200 : 503).send({ live });
  });
  app.get(
    HEALTH_READY_PATH,
    { schema: { response: { '2xx': { type: 'object', properties: { ready: { type: 'boolean' } } }, 503: { type: 'object', properties: { ready: { type: 'boolean' } } } } } },
    async (_req, reply) => {
      const ready = ctx.model?.isReady() === true;
      return reply.code(ready ? 200 : 503).send({ ready });
    },
  );
  app.get(
    '/v2',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: { name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } },
          },
        },
      },
    },
    () => SERVER_INFO,
  );
}

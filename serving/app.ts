// build() assembles the Fastify app without listening, so tests drive it with inject()
// and main.ts decides where it listens.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController } from 'fastify';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { ServingContext } from './context.ts';
import { ServingError, payloadTooLarge } from './errors.ts';
import { feedbackRoutes } from './routes/feedback.ts';
import { healthRoutes } from './routes/health.ts';
import { inferRoutes } from './routes/infer.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { modelRoutes } from './routes/models.ts';
import { routeLabel } from './shadow/mirrored.ts';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Where JSON log lines go; stdout unless a test captures them. */
export interface BuildOptions {
  logStream?: { write(line: string): void };
}

/** Builds the server around a context; the caller listens (main.ts) or injects (tests). */
export function build(ctx: ServingContext, opts: BuildOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: {
      level: ctx.config.logLevel,
      ...(opts.logStream === undefined ? {} : { stream: opts.logStream }),
      // Tokens never reach the logs, whatever a serializer or a log call includes.
      redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    },
    bodyLimit: ctx.config.bodyLimitBytes,
    // Fastify turns Node's request timeout off (0); a client sending a byte a second would
    // then hold its socket and its partial body for ever. Node answers both timeouts 408
    // and closes the connection.
    requestTimeout: ctx.config.requestTimeoutMs,
    keepAliveTimeout: ctx.config.keepAliveTimeoutMs,
    http: {
      headersTimeout: ctx.config.headersTimeoutMs,
      // Node checks both timeouts on this interval (30 s by default), so a timeout fires up
      // to one interval late: a quarter of the shorter one keeps that lateness small.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(ctx.config.headersTimeoutMs / 4))),
    },
    // One log line per request would cost more than a tabular inference; responses are
    // logged in onResponse below, errors always.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
  });

  // Beyond this many open sockets, Node closes new connections as they are accepted.
  app.server.maxConnections = ctx.config.maxConnections;

  // Callback-style hooks: an async hook costs a promise per request on the hot path.
  app.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    done();
  });
  app.addHook('onSend', (_req, reply, payload, done) => {
    // While shutting down, keep-alive connections would hold close() open until their
    // idle timeout: each answer closes its connection instead.
    if (ctx.closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = routeLabel(req);
    const code = reply.statusCode;
    ctx.metrics.requestDuration.observe({ route }, reply.elapsedTime / 1000);
    ctx.metrics.requests.inc({ route, code: String(code) });
    if (code >= 400) req.log.info({ route, code, ms: reply.elapsedTime }, 'request answered with an error');
    else req.log.debug({ route, code, ms: reply.elapsedTime }, 'request answered');
    done();
  });

  app.setErrorHandler((err: FastifyError | ServingError, req, reply) => {
    if (err instanceof ServingError) {
      if (err.retryAfterSeconds !== undefined) void reply.header('retry-after', String(err.retryAfterSeconds));
      if (err.statusCode >= 500) req.log.error({ err }, 'request failed');
      return reply.code(err.statusCode).send({ error: err.message, code: err.code });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const e = payloadTooLarge(ctx.config.bodyLimitBytes);
      return reply.code(e.statusCode).send({ error: e.message, code: e.code });
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return reply.code(status).send({ error: 'internal server error', code: 'SISKIN_INTERNAL' });
    }
    return reply.code(status).send({ error: err.message, code: err.code ?? 'SISKIN_BAD_REQUEST' });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: `no route ${req.method} ${req.url.slice(0, 200)}`, code: 'SISKIN_ROUTE_NOT_FOUND' }),
  );

  healthRoutes(app, ctx);
  modelRoutes(app, ctx);
  metricsRoutes(app, ctx);
  // Scoped plugins: the infer route takes raw bodies, and both take auth when configured.
  void app.register((scope, _opts, done) => {
    inferRoutes(scope, ctx);
    done();
  });
  void app.register((scope, _opts, done) => {
    feedbackRoutes(scope, ctx);
    done();
  });
  return app;
}

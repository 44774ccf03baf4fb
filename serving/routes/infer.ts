// POST /v2/models/{name}/infer: decode → validate → data-quality gate → queue → encode.
// The body is taken raw (JSON or binary extension alike; body.ts reads it into a pooled,
// aligned buffer) and decoded by the codec, which checks every size before allocating;
// nothing in a body can crash the process. The body's buffer returns to the pool when the
// handler is done with the request, whatever the outcome.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FEEDBACK_ID_HEADER, INFER_ROUTES } from '../../contract/http.ts';
import { MIRROR_HEADER } from '../../contract/routing.ts';
import { REJECTED_INPUT_REASONS } from '../../contract/metrics.ts';
import { requireBearerToken } from '../auth.ts';
import type { ServingContext } from '../context.ts';
import { ServingError, breakerOpen, notReady } from '../errors.ts';
import { decodeInferRequest, encodeInferRequest, encodeInferResponse, parseHeaderLength } from '../protocol/codec.ts';
import type { DecodeLimits, EncodedResponse, InferRequest } from '../protocol/codec.ts';
import { validateRequest } from '../protocol/signature.ts';
import { predictionsOf } from '../quality/prediction.ts';
import { BodyPool, readBody } from './body.ts';
import type { Body } from './body.ts';
import { findModel, modelParamsSchema } from './models.ts';
import type { ModelParams } from './models.ts';

type InferReq = FastifyRequest<{ Params: ModelParams }>;

/** Registers the inference route in its own scope (raw-body parser, auth hook). */
export function inferRoutes(app: FastifyInstance, ctx: ServingContext): void {
  const limits: DecodeLimits = {
    // A JSON element takes at least two bytes and a binary one at least one, so the body
    // limit already bounds what a request can make us allocate.
    maxElements: ctx.config.bodyLimitBytes,
    maxRank: 8,
    maxInputs: 64,
  };
  const bodies = new BodyPool();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (req, payload, done) => {
    // Only to place the binary part aligned; infer() validates the header properly.
    const text = req.headers['inference-header-content-length'];
    const headerLength = typeof text === 'string' && /^\d{1,12}$/.test(text) ? Number(text) : undefined;
    readBody(payload, ctx.config.bodyLimitBytes, bodies, headerLength).then(
      (body) => done(null, body),
      (err: Error) => done(err),
    );
  });
  requireBearerToken(app, ctx.tokens);
  const opts = {
    schema: {
      params: modelParamsSchema,
      headers: { type: 'object', properties: { 'inference-header-content-length': { type: 'string', maxLength: 16 } } },
    },
  };
  const handler = async (req: InferReq, reply: FastifyReply) => {
    const body = req.body as Body | undefined;
    try {
      return await infer(ctx, limits, req, reply, body);
    } finally {
      if (body !== undefined) bodies.release(body.bytes);
    }
  };
  // The patterns are also the `route` label values the operator's analysis selects on.
  for (const route of INFER_ROUTES) app.post<{ Params: ModelParams }>(route, opts, handler);
}

async function infer(ctx: ServingContext, limits: DecodeLimits, req: InferReq, reply: FastifyReply, body: Body | undefined): Promise<FastifyReply> {
  const model = findModel(ctx, req.params);
  if (!model.isReady()) throw notReady(model.name);
  const bytes = body?.bytes ?? Buffer.alloc(0);
  let request: InferRequest;
  let rows: number;
  try {
    const headerLength = parseHeaderLength(req.headers['inference-header-content-length'], bytes.length);
    request = decodeInferRequest(bytes, headerLength, limits, body?.exclusive === true);
    rows = validateRequest(model.signature, request.inputs, request.outputs);
    ctx.monitor?.check(request.inputs);
  } catch (err) {
    if (err instanceof ServingError && err.statusCode === 400) {
      ctx.breaker?.record(true);
      ctx.metrics.rejectedInputs.inc({ reason: err.code === 'SISKIN_MALFORMED_REQUEST' ? REJECTED_INPUT_REASONS.malformed : REJECTED_INPUT_REASONS.invalidTensor });
    }
    throw err;
  }
  if (ctx.breaker !== undefined) {
    ctx.breaker.record(false);
    if (ctx.breaker.isOpen()) throw breakerOpen(ctx.breaker.badRatio());
  }
  // Everything that reads the input tensors runs now: their buffers may move to a worker.
  ctx.monitor?.observeInputs(request.inputs);
  const mirror: EncodedResponse | undefined = ctx.shadow?.sample() === true ? encodeInferRequest(request.inputs, { binary: true }) : undefined;
  if (ctx.config.payloadLogSampleRate > 0 && Math.random() < ctx.config.payloadLogSampleRate) {
    req.log.info({ payload: summarize(request) }, 'sampled inference payload');
  }

  ctx.metrics.inflightRequests++;
  let outcome;
  try {
    outcome = await model.infer(request.inputs, rows);
  } catch (err) {
    // Counted like our own checks' rejections: a model that refuses every input then shows
    // in the canary analysis' bad-input ratio rather than passing as a run of client errors.
    if (err instanceof ServingError && err.statusCode === 400) ctx.metrics.rejectedInputs.inc({ reason: REJECTED_INPUT_REASONS.modelRejected });
    throw err;
  } finally {
    ctx.metrics.inflightRequests--;
  }
  ctx.metrics.queueDuration.observe(outcome.queueSeconds);

  // The id a label for this prediction is posted with; none for a mirrored copy, whose answer
  // nobody reads.
  let feedbackId: string | undefined;
  if (ctx.prediction !== undefined) {
    const predictions = predictionsOf(outcome.outputs, ctx.prediction);
    ctx.metrics.observePredictions(ctx.prediction.task, predictions);
    ctx.monitor?.observePredictions(predictions);
    if (req.headers[MIRROR_HEADER] === undefined) {
      feedbackId = ctx.feedbackIds.mint();
      ctx.feedback.remember(feedbackId, predictions);
      void reply.header(FEEDBACK_ID_HEADER, feedbackId);
    }
    if (mirror !== undefined) ctx.shadow?.send(mirror, predictions);
  }

  const encoded = encodeInferResponse({
    modelName: model.name,
    modelVersion: model.revision,
    id: request.id ?? req.id,
    ...(feedbackId !== undefined ? { parameters: { feedback_id: feedbackId } } : {}),
    outputs: outcome.outputs,
    requested: request.outputs,
    binaryOutput: request.binaryOutput,
  });
  if (encoded.headerLength !== undefined) {
    void reply.header('inference-header-content-length', encoded.headerLength).type('application/octet-stream');
  } else {
    void reply.type('application/json; charset=utf-8');
  }
  return reply.send(encoded.body);
}

/** Names, shapes and the first values of each input: enough to debug, bounded in size. */
function summarize(request: InferRequest): unknown {
  return {
    id: request.id,
    inputs: request.inputs.map((t) => ({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape,
      head: Array.from(t.data.subarray(0, 16) as ArrayLike<number | bigint>, (v) => Number(v)),
    })),
  };
}

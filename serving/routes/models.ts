// Model metadata and readiness, straight from the ONNX graph. The metadata answer is the
// operator's schema gate's input: its shape is contract/modelMetadata.ts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MODEL_METADATA_ROUTES } from '../../contract/http.ts';
import { MODEL_PLATFORM, type ModelMetadata } from '../../contract/modelMetadata.ts';
import type { ServingContext } from '../context.ts';
import { modelNotFound, notReady, versionNotFound } from '../errors.ts';
import type { ServedModel } from '../model/served.ts';

/** Route params of /v2/models/{name}[/versions/{version}]. */
export interface ModelParams {
  name: string;
  version?: string;
}

/** JSON schema of ModelParams. */
export const modelParamsSchema = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', maxLength: 256 }, version: { type: 'string', maxLength: 128 } },
} as const;

const tensorMeta = {
  type: 'array',
  items: {
    type: 'object',
    properties: { name: { type: 'string' }, datatype: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } } },
  },
} as const;

/** 404 unless the params name this server's model (and revision, when a version is given). */
export function checkModel(ctx: ServingContext, params: ModelParams): void {
  if (params.name !== ctx.config.modelName) throw modelNotFound(params.name);
  if (params.version !== undefined && params.version !== ctx.config.revision) throw versionNotFound(params.name, params.version);
}

/** Returns the loaded model the params name: 404 for another name or version, 503 while loading. */
export function findModel(ctx: ServingContext, params: ModelParams): ServedModel {
  checkModel(ctx, params);
  if (ctx.model === undefined) throw notReady(params.name);
  return ctx.model;
}

/** Registers GET /v2/models/{name}[/versions/{version}] and …/ready. */
export function modelRoutes(app: FastifyInstance, ctx: ServingContext): void {
  const metadataOpts = {
    schema: {
      params: modelParamsSchema,
      response: {
        200: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            versions: { type: 'array', items: { type: 'string' } },
            platform: { type: 'string' },
            inputs: tensorMeta,
            outputs: tensorMeta,
            warmup: {
              type: 'object',
              properties: { source: { type: 'string' }, ok: { type: 'boolean' }, dynamicSize: { type: 'integer' }, message: { type: 'string' } },
            },
          },
        },
      },
    },
  };
  const metadata = (req: FastifyRequest<{ Params: ModelParams }>): ModelMetadata => {
    const model = findModel(ctx, req.params);
    return {
      name: model.name,
      versions: [model.revision],
      platform: MODEL_PLATFORM,
      inputs: model.signature.inputs,
      outputs: model.signature.outputs,
      warmup: model.warmup,
    };
  };
  const ready = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    checkModel(ctx, req.params);
    const isReady = ctx.model?.isReady() === true;
    return reply.code(isReady ? 200 : 503).send({ name: req.params.name, ready: isReady });
  };
  for (const route of MODEL_METADATA_ROUTES) {
    app.get<{ Params: ModelParams }>(route, metadataOpts, metadata);
    app.get<{ Params: ModelParams }>(`${route}/ready`, { schema: { params: modelParamsSchema } }, ready);
  }
}

// POST /v2/models/{name}/feedback — Siskin's addition beside OIP (OIP has no feedback
// route). Body: {"labels": [{"id": "<request id>", "label": 2}, …]}; a label may be an
// array, one per row of the original request. Unknown or expired ids are counted and
// listed in the answer; they never fail the rest of the batch.
import { FEEDBACK_OUTCOMES } from '../../contract/metrics.ts';
import type { FastifyInstance } from 'fastify';
import { requireBearerToken } from '../auth.ts';
import type { ServingContext } from '../context.ts';
import { invalidTensor } from '../errors.ts';
import type { FeedbackItem } from '../quality/feedback.ts';
import { findModel } from './models.ts';

/** Most unknown ids listed back in one answer. */
const MAX_LISTED = 100;

/** Registers the feedback route (auth like inference). */
export function feedbackRoutes(app: FastifyInstance, ctx: ServingContext): void {
  requireBearerToken(app, ctx.tokens);
  app.post<{ Params: { name: string }; Body: { labels: FeedbackItem[] } }>(
    '/v2/models/:name/feedback',
    {
      schema: {
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 256 } } },
        body: {
          type: 'object',
          required: ['labels'],
          additionalProperties: false,
          properties: {
            labels: {
              type: 'array',
              minItems: 1,
              maxItems: 10_000,
              items: {
                type: 'object',
                required: ['id', 'label'],
                additionalProperties: false,
                properties: {
                  id: { type: 'string', minLength: 1, maxLength: 1024 },
                  label: { anyOf: [{ type: 'number' }, { type: 'array', maxItems: 65_536, items: { type: 'number' } }] },
                },
              },
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              scored: { type: 'integer' },
              correct: { type: 'integer' },
              unknown: { type: 'integer' },
              unknown_ids: { type: 'array', items: { type: 'string' } },
              mismatched_ids: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
    (req) => {
      findModel(ctx, req.params);
      const rule = ctx.prediction;
      if (rule === undefined) throw invalidTensor('the model has no output that feedback can be scored against');
      const r = ctx.feedback.score(req.body.labels, rule.task);
      const m = ctx.metrics;
      m.feedbackLabels.inc({ outcome: FEEDBACK_OUTCOMES.scored }, r.scored);
      m.feedbackLabels.inc({ outcome: FEEDBACK_OUTCOMES.unknown }, r.unknown.length);
      m.feedbackLabels.inc({ outcome: FEEDBACK_OUTCOMES.mismatched }, r.mismatched.length);
      m.feedbackCorrect.inc(r.correct);
      for (const e of r.absoluteErrors) m.feedbackAbsoluteError.observe(e);
      const answer: Record<string, unknown> = {
        scored: r.scored,
        unknown: r.unknown.length,
        unknown_ids: r.unknown.slice(0, MAX_LISTED),
        mismatched_ids: r.mismatched.slice(0, MAX_LISTED),
      };
      if (rule.task === 'classifier') answer.correct = r.correct;
      return answer;
    },
  );
}

// POST /v2/models/{name}/feedback — Siskin's addition beside OIP (OIP has no feedback
// route). Body: {"labels": [{"id": "<feedback id>", "label": 2}, …]}, the id as the inference
// answer gave it (quality/feedbackIds.ts); a label may be an array, one per row of the
// original request. Any replica takes any label: those whose prediction another replica
// holds are forwarded to it. Unknown or expired ids are counted and listed in the answer;
// they never fail the rest of the batch.
import { FEEDBACK_OUTCOMES } from '../../contract/metrics.ts';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { requireBearerToken } from '../auth.ts';
import type { ServingContext } from '../context.ts';
import { invalidTensor } from '../errors.ts';
import type { FeedbackItem } from '../quality/feedback.ts';
import { findModel } from './models.ts';
import { FEEDBACK_FORWARDED_HEADER, FEEDBACK_ROUTE, feedbackPath } from '../../contract/http.ts';
import { postToPeer } from '../peerHttp.ts';
import type { FeedbackIds } from '../quality/feedbackIds.ts';

/** Most unknown ids listed back in one answer. */
const MAX_LISTED = 100;

/** Bounds of a forward to a sibling replica: its answer is small (at most 2 × MAX_LISTED ids). */
const FORWARD_LIMITS = { timeoutMs: 5_000, maxResponseBytes: 1024 * 1024 };

/** The route's answer, before the lists are cut to MAX_LISTED. */
interface FeedbackAnswer {
  scored: number;
  correct: number;
  unknown: number;
  unknown_ids: string[];
  mismatched_ids: string[];
}

/** Splits labels by who holds their prediction; without ids (a forwarded batch) all are local. */
function partition(items: FeedbackItem[], ids: FeedbackIds | undefined): { local: FeedbackItem[]; byPeer: Map<string, FeedbackItem[]>; foreign: string[] } {
  if (ids === undefined) return { local: items, byPeer: new Map(), foreign: [] };
  const local: FeedbackItem[] = [];
  const byPeer = new Map<string, FeedbackItem[]>();
  const foreign: string[] = [];
  for (const item of items) {
    const owner = ids.ownerOf(item.id);
    if (owner.kind === 'local') local.push(item);
    else if (owner.kind === 'foreign') foreign.push(item.id);
    else {
      const group = byPeer.get(owner.address);
      if (group === undefined) byPeer.set(owner.address, [item]);
      else group.push(item);
    }
  }
  return { local, byPeer, foreign };
}

/**
 * Sends labels to the replica that made their predictions, with this server's own token (every
 * replica mounts the same Secret). A replica that is gone took its predictions with it: its
 * labels come back unknown, counted as unreachable here.
 */
async function forward(ctx: ServingContext, model: string, address: string, items: FeedbackItem[], log: FastifyBaseLogger): Promise<FeedbackAnswer> {
  const token = ctx.tokens?.outgoing();
  const headers: Record<string, string> = { 'content-type': 'application/json', [FEEDBACK_FORWARDED_HEADER]: '1', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) };
  try {
    const res = await postToPeer(`http://${address}${feedbackPath(model)}`, headers, JSON.stringify({ labels: items }), FORWARD_LIMITS);
    if (res.status !== 200) throw new Error(`answered ${res.status}: ${res.body.toString('utf8', 0, 200)}`);
    const a = JSON.parse(res.body.toString('utf8')) as Partial<FeedbackAnswer>;
    return { scored: a.scored ?? 0, correct: a.correct ?? 0, unknown: a.unknown ?? 0, unknown_ids: a.unknown_ids ?? [], mismatched_ids: a.mismatched_ids ?? [] };
  } catch (err) {
    log.warn({ peer: address, labels: items.length, err: (err as Error).message }, 'labels could not be forwarded to the replica that made their predictions');
    ctx.metrics.feedbackLabels.inc({ outcome: FEEDBACK_OUTCOMES.unreachable }, items.length);
    const ids = items.map((i) => i.id);
    return { scored: 0, correct: 0, unknown: ids.length, unknown_ids: ids, mismatched_ids: [] };
  }
}

function merge(into: FeedbackAnswer, a: FeedbackAnswer): void {
  into.scored += a.scored;
  into.correct += a.correct;
  into.unknown += a.unknown;
  if (into.unknown_ids.length < MAX_LISTED) into.unknown_ids.push(...a.unknown_ids);
  if (into.mismatched_ids.length < MAX_LISTED) into.mismatched_ids.push(...a.mismatched_ids);
}

/** Registers the feedback route (auth like inference). */
export function feedbackRoutes(app: FastifyInstance, ctx: ServingContext): void {
  requireBearerToken(app, ctx.tokens);
  app.post<{ Params: { name: string }; Body: { labels: FeedbackItem[] } }>(
    FEEDBACK_ROUTE,
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
    async (req) => {
      findModel(ctx, req.params);
      const rule = ctx.prediction;
      if (rule === undefined) throw invalidTensor('the model has no output that feedback can be scored against');
      // Labels forwarded by a sibling are scored here, never forwarded again: no loops.
      const forwarded = req.headers[FEEDBACK_FORWARDED_HEADER] !== undefined;
      const { local, byPeer, foreign } = partition(req.body.labels, forwarded ? undefined : ctx.feedbackIds);
      const r = ctx.feedback.score(local, rule.task);
      const m = ctx.metrics;
      m.feedbackLabels.inc({ outcome: FEEDBACK_OUTCOMES.scored }, r.scored);
      m.feedbackLabels.inc({ outcome: FEEDBACK_OUTCOMES.unknown }, r.unknown.length + foreign.length);
      m.feedbackLabels.inc({ outcome: FEEDBACK_OUTCOMES.mismatched }, r.mismatched.length);
      m.feedbackCorrect.inc(r.correct);
      for (const e of r.absoluteErrors) m.feedbackAbsoluteError.observe(e);
      const answer: FeedbackAnswer = { scored: r.scored, correct: r.correct, unknown: r.unknown.length + foreign.length, unknown_ids: [...foreign, ...r.unknown], mismatched_ids: r.mismatched };
      // The owners count what they score in their own metrics; here only the answer adds up.
      const remote = await Promise.all([...byPeer].map(([address, items]) => forward(ctx, req.params.name, address, items, req.log)));
      for (const a of remote) merge(answer, a);
      return {
        scored: answer.scored,
        ...(rule.task === 'classifier' ? { correct: answer.correct } : {}),
        unknown: answer.unknown,
        unknown_ids: answer.unknown_ids.slice(0, MAX_LISTED),
        mismatched_ids: answer.mismatched_ids.slice(0, MAX_LISTED),
      };
    },
  );
}

// Pipeline step: the canary analysis — the round of measurements taken this reconcile is
// judged, counted, and may roll the canary back; while a canary serves, rounds stay on time.
import { ANNOTATION_COMMAND, Reason } from '../../api/reasons.ts';
import { decide, describeFailure, evaluateRound } from '../../analysis/evaluate.ts';
import type { MetricSpec } from '../../analysis/evaluate.ts';
import type { ModelDeploymentSpec } from '../../api/schema.ts';
import { shadowAt } from '../../rollout/steps.ts';
import { admitted, emit, requeue, rollBack, type PlanContext } from './context.ts';

/** What the analysis judges at a step of the rollout. */
export interface StepAnalysis {
  metrics: MetricSpec[];
  /** The canary's answers to mirrored requests count as its own (a shadow step: it has no others). */
  canaryMirrored: boolean;
}

/**
 * The metrics judged at a step, and over which of the canary's requests. A shadow step judges
 * the canary on mirrored requests and leaves Accuracy out: feedback labels only answers clients
 * got, and at weight 0 there are none, so it could only ever be Inconclusive.
 */
export function stepAnalysis(spec: ModelDeploymentSpec, stepIndex: number): StepAnalysis {
  const metrics = spec.rollout.analysis?.metrics ?? [];
  if (!shadowAt(spec.rollout.steps, stepIndex)) return { metrics, canaryMirrored: false };
  return { metrics: metrics.filter((m) => m.kind !== 'Accuracy'), canaryMirrored: true };
}

/** Judges this reconcile's analysis round, if one was taken. */
export function reconcileAnalysis(ctx: PlanContext): void {
  const spec = ctx.spec.rollout.analysis;
  const round = ctx.input.analysisRound;
  if (ctx.rolledBack || !round || !spec) return;
  const result = evaluateRound(stepAnalysis(ctx.spec, ctx.step.stepIndex).metrics, round, { minSamples: spec.minSamples, now: ctx.nowIso });
  const old = ctx.analysis;
  const before = { failures: old?.failures ?? 0, consecutiveInconclusive: old?.consecutiveInconclusive ?? 0 };
  const d = decide(before, result.verdict, { failureLimit: spec.failureLimit, inconclusiveLimit: spec.inconclusiveLimit });
  ctx.analysis = {
    failures: d.counters.failures,
    inconclusive: (old?.inconclusive ?? 0) + (result.verdict === 'Inconclusive' ? 1 : 0),
    consecutiveInconclusive: d.counters.consecutiveInconclusive,
    lastRoundAt: ctx.nowIso,
    lastVerdict: result.verdict,
    measurements: result.measurements,
  };
  const failed = result.failed.map(describeFailure).join('; ');
  if (d.action === 'Rollback') {
    rollBack(ctx, Reason.AnalysisFailed, `analysis failed ${d.counters.failures} time(s), more than failureLimit ${spec.failureLimit}: ${failed}`, 'RolledBack');
  } else if (result.verdict === 'Fail') {
    emit(ctx, 'Warning', Reason.AnalysisFailed, `analysis round failed (${d.counters.failures} of ${spec.failureLimit} tolerated): ${failed}`);
  } else if (d.action === 'Pause' && before.consecutiveInconclusive <= spec.inconclusiveLimit) {
    const why = result.measurements.filter((m) => m.verdict === 'Inconclusive').map((m) => `${m.metric}: ${m.reason ?? 'inconclusive'}`).join('; ');
    emit(
      ctx,
      'Warning',
      Reason.AnalysisInconclusive,
      `rollout paused after ${d.counters.consecutiveInconclusive} inconclusive analysis rounds in a row (${why}); annotate ${ANNOTATION_COMMAND}=resume to go on`,
    );
  }
}

/** Keeps measuring on time while an admitted canary serves. */
export function scheduleAnalysis(ctx: PlanContext): void {
  const spec = ctx.spec.rollout.analysis;
  if (ctx.rolledBack || !admitted(ctx.spec, ctx.canary) || !spec || spec.metrics.length === 0) return;
  const last = ctx.analysis?.lastRoundAt ? Date.parse(ctx.analysis.lastRoundAt) : ctx.now;
  requeue(ctx, Math.max(1, last + spec.intervalSeconds * 1000 - ctx.now));
}

/** Why the analysis holds the rollout (too many inconclusive rounds in a row), if it does. */
export function analysisPause(ctx: PlanContext): string | undefined {
  const spec = ctx.spec.rollout.analysis;
  const n = ctx.analysis?.consecutiveInconclusive ?? 0;
  if (!spec || n <= spec.inconclusiveLimit) return undefined;
  return `paused: ${n} inconclusive analysis rounds in a row (limit ${spec.inconclusiveLimit}); annotate ${ANNOTATION_COMMAND}=resume to go on`;
}

/** A round in the current step passed (always, for a rollout without metrics). */
export function analysisPassing(ctx: PlanContext): boolean {
  const metrics = ctx.spec.rollout.analysis?.metrics ?? [];
  const last = ctx.analysis?.lastRoundAt ? Date.parse(ctx.analysis.lastRoundAt) : 0;
  return metrics.length === 0 || (ctx.analysis?.lastVerdict === 'Pass' && last > ctx.step.stepStartedAt);
}

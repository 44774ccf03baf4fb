// The canary step machine: a pure function of the spec's steps, the rollout state kept in
// status, what was observed and the clock. The reconciler applies its decision; because the
// whole state is in status, an operator restart resumes at exactly the same step.
import { Reason } from '../api/reasons.ts';
import type { ModelDeploymentSpec } from '../api/schema.ts';
import { PollMs } from './poll.ts';

/** One step of spec.rollout.steps. */
export type Step = ModelDeploymentSpec['rollout']['steps'][number];

/** Rollout state as kept in status. */
export interface RolloutState {
  stepIndex: number;
  /** When the current step started (ms since epoch). */
  stepStartedAt: number;
  /** The weight last set by a setWeight step. */
  weight: number;
}

/** A one-shot manual command (from an annotation or the kubectl plugin). */
export type Command = 'promote' | 'promote-full' | 'abort';

/** Everything the step machine looks at. */
export interface StepInput {
  steps: readonly Step[];
  riskTier: 'low' | 'medium' | 'high';
  state: RolloutState;
  /** The canary's pods are ready at the current weight (and its gates passed). */
  canaryReady: boolean;
  /** The header routes in effect at this step (headerRoutesAt) are in place, as status records. */
  headerRoutesInPlace: boolean;
  /** A user pause (annotation) is in effect. */
  paused: boolean;
  /** A freeze window is active: no step may advance. */
  frozen: boolean;
  /** The latest analysis round in this step passed (true when the rollout has no analysis metrics). */
  analysisPassing: boolean;
  /** Why the analysis paused the rollout (too many inconclusive rounds), if it did. */
  analysisPaused?: string;
  command?: Command;
  now: number;
}

/** What to do now. */
export type StepDecision =
  | { kind: 'Hold'; state: RolloutState; reason: string; message: string; requeueAfterMs?: number }
  | { kind: 'Advance'; state: RolloutState; reason: string; message: string }
  | { kind: 'Promote'; reason: string; message: string }
  | { kind: 'Abort'; reason: string; message: string };

function describeStep(step: Step | undefined, i: number): string {
  if (!step) return `step ${i}`;
  if (step.setWeight !== undefined) return `step ${i} (setWeight ${step.setWeight})`;
  if (step.setHeaderRoute) return `step ${i} (setHeaderRoute ${step.setHeaderRoute.name}${step.setHeaderRoute.match ? '' : ': remove'})`;
  if (step.pause) return `step ${i} (pause${step.pause.durationSeconds !== undefined ? ` ${step.pause.durationSeconds}s` : ''})`;
  if (step.shadow) return `step ${i} (shadow ${step.shadow.durationSeconds}s at sample rate ${step.shadow.sampleRate})`;
  return `step ${i} (analysis ${step.analysis?.durationSeconds ?? 0}s)`;
}

/** The shadow step in effect at a step index (a dark launch), if that step is one. */
export function shadowAt(steps: readonly Step[], index: number): NonNullable<Step['shadow']> | undefined {
  return steps[index]?.shadow;
}

/** The weight in effect at a step index: the last setWeight at or before it. */
export function weightAt(steps: readonly Step[], index: number): number {
  let w = 0;
  for (let i = 0; i <= Math.min(index, steps.length - 1); i++) {
    const s = steps[i];
    if (s?.setWeight !== undefined) w = s.setWeight;
  }
  return w;
}

/** Decides the next move of a rollout. Pure: same input, same decision. */
export function nextStep(input: StepInput): StepDecision {
  const { steps, state, now } = input;
  const i = state.stepIndex;
  const step = steps[i];
  const hold = (reason: string, message: string, requeueAfterMs?: number): StepDecision => ({
    kind: 'Hold',
    state,
    reason,
    message,
    ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
  });
  const advance = (reason: string, message: string): StepDecision => {
    const next = i + 1;
    const nextStepDef = steps[next];
    return {
      kind: 'Advance',
      state: { stepIndex: next, stepStartedAt: now, weight: nextStepDef?.setWeight ?? state.weight },
      reason,
      message,
    };
  };

  // Commands come first: an abort must win over everything, including a freeze window.
  if (input.command === 'abort') return { kind: 'Abort', reason: Reason.AbortedByUser, message: `rollout aborted by user at ${describeStep(step, i)}` };
  if (input.command === 'promote-full') return { kind: 'Promote', reason: Reason.PromotedFully, message: 'promoted to full weight by user, skipping the remaining steps' };
  if (input.frozen) return hold(Reason.FreezeWindow, `a freeze window is active; holding at ${describeStep(step, i)}`, PollMs.frozen);
  if (input.paused && input.command !== 'promote') return hold(Reason.PausedByUser, `paused by user at ${describeStep(step, i)}`);
  if (input.analysisPaused !== undefined && input.command !== 'promote') return hold(Reason.AnalysisInconclusive, input.analysisPaused);
  // Time alone never promotes: a timed step ends only on a passing analysis round, so an
  // unreachable Prometheus holds the rollout instead of waving it through.
  const unlessAnalysisFails = (done: () => StepDecision): StepDecision =>
    input.analysisPassing ? done() : hold(Reason.AwaitingPassingAnalysis, `${describeStep(step, i)}: waiting for a passing analysis round`, PollMs.analysis);

  if (i >= steps.length) {
    // A high-risk model reaches full weight only by a person's decision.
    if (input.riskTier === 'high' && input.command !== 'promote') {
      return hold(Reason.AwaitingManualPromotion, `all steps passed at weight ${state.weight}; riskTier high needs a manual promote to reach full weight`);
    }
    if (!input.canaryReady) return hold(Reason.WaitingForCanary, `waiting for the canary to be ready at weight ${state.weight}`, PollMs.ready);
    if (input.command === 'promote') return { kind: 'Promote', reason: Reason.PromotedManually, message: 'promoted by user' };
    return unlessAnalysisFails(() => ({ kind: 'Promote', reason: Reason.AllStepsCompleted, message: 'all steps completed' }));
  }
  const s = step!;
  if (s.setWeight !== undefined) {
    if (!input.canaryReady) return hold(Reason.WaitingForCanary, `waiting for the canary to be ready at weight ${s.setWeight}`, PollMs.ready);
    return advance(Reason.StepAdvanced, `weight ${s.setWeight} reached; ${describeStep(s, i)} done`);
  }
  if (s.setHeaderRoute) {
    // Header traffic goes to the canary whatever its weight, so the canary must be ready for it.
    if (!input.canaryReady) return hold(Reason.WaitingForCanary, `${describeStep(s, i)}: waiting for the canary to be ready`, PollMs.ready);
    if (!input.headerRoutesInPlace) return hold(Reason.AwaitingHeaderRoutes, `${describeStep(s, i)}: waiting for the header routes to be in place on the HTTPRoute`, PollMs.ready);
    return advance(Reason.StepAdvanced, `${describeStep(s, i)} in place`);
  }
  if (input.command === 'promote') return advance(Reason.PromotedManually, `${describeStep(s, i)} completed by a manual promote`);
  if (s.pause) {
    if (s.pause.durationSeconds === undefined) return hold(Reason.PausedUntilPromoted, `${describeStep(s, i)}: paused until promoted`);
    const left = state.stepStartedAt + s.pause.durationSeconds * 1000 - now;
    if (left > 0) return hold(Reason.PausedForDuration, `${describeStep(s, i)}: ${Math.ceil(left / 1000)}s left`, left);
    return unlessAnalysisFails(() => advance(Reason.StepAdvanced, `${describeStep(s, i)} done`));
  }
  if (s.shadow) {
    // A dark launch judges the canary's own answers to mirrored requests: it needs its pods.
    if (!input.canaryReady) return hold(Reason.WaitingForCanary, `${describeStep(s, i)}: waiting for the canary to be ready at weight 0`, PollMs.ready);
    const shadowLeft = state.stepStartedAt + s.shadow.durationSeconds * 1000 - now;
    if (shadowLeft > 0) return hold(Reason.ShadowRunning, `${describeStep(s, i)}: the canary answers mirrored requests for ${Math.ceil(shadowLeft / 1000)}s more`, shadowLeft);
    return unlessAnalysisFails(() => advance(Reason.StepAdvanced, `${describeStep(s, i)} passed`));
  }
  const left = state.stepStartedAt + (s.analysis?.durationSeconds ?? 0) * 1000 - now;
  if (left > 0) return hold(Reason.AnalysisRunning, `${describeStep(s, i)}: analysis runs for ${Math.ceil(left / 1000)}s more`, left);
  return unlessAnalysisFails(() => advance(Reason.StepAdvanced, `${describeStep(s, i)} passed`));
}

// What the demo prints while a rollout runs: the changes between two observed statuses of a
// ModelDeployment (phase, canary, step, weight, promotion, rollback, each analysis round's
// measurements) and the final summary, as plain lines. Pure — no clock, no I/O — so the
// wording is specified by table tests; the caller stamps and prints them.
import type { ModelDeploymentStatus } from '../../operator/api/schema.ts';
import { formatNumber, type StepView } from '../../operator/cli/render.ts';

type Measurement = NonNullable<ModelDeploymentStatus['analysis']>['measurements'][number];
type Condition = NonNullable<ModelDeploymentStatus['conditions']>[number];

/** A line with its time: "12:04:05  text" (local time unless timeZone is given). */
export function stamp(at: Date, text: string, timeZone?: string): string {
  const time = at.toLocaleTimeString('en-GB', { hour12: false, ...(timeZone ? { timeZone } : {}) });
  return `${time}  ${text}`;
}

/** A rollout step in words: "setWeight 25", "pause 20s", "pause until promoted", "analysis 60s". */
export function describeStep(step: StepView | undefined): string {
  if (!step) return 'done';
  if (step.setWeight !== undefined) return `setWeight ${step.setWeight}`;
  if (step.pause) return step.pause.durationSeconds === undefined ? 'pause until promoted' : `pause ${step.pause.durationSeconds}s`;
  if (step.analysis) return `analysis ${step.analysis.durationSeconds ?? '?'}s`;
  return 'unknown step';
}

/** One analysis measurement: "latency-p99 = 0.3121 (bound <= 0.25): Fail - 0.3121 violates <= 0.25". */
export function describeMeasurement(m: Measurement): string {
  const stable = m.stableValue === undefined ? '' : `, stable ${formatNumber(m.stableValue)}`;
  const reason = m.verdict !== 'Pass' && m.reason ? ` - ${m.reason}` : '';
  return `${m.metric} = ${formatNumber(m.value)}${stable} (bound ${m.bound}): ${m.verdict === 'Fail' ? 'FAIL' : m.verdict}${reason}`;
}

function condition(s: ModelDeploymentStatus | undefined, type: string): Condition | undefined {
  return s?.conditions?.find((c) => c.type === type);
}

function revisionLabel(rev: { name: string; version: string } | undefined): string {
  return rev ? `version ${rev.version} (revision ${rev.name})` : 'none';
}

/**
 * The lines that tell a person what changed from prev (undefined: nothing seen yet) to next.
 * Equal statuses give no lines, so polling prints only news.
 */
export function statusChanges(prev: ModelDeploymentStatus | undefined, next: ModelDeploymentStatus, steps: readonly StepView[]): string[] {
  const lines: string[] = [];
  if (next.phase !== prev?.phase && next.phase) lines.push(prev?.phase ? `phase ${prev.phase} -> ${next.phase}` : `phase ${next.phase}`);
  if (next.stable?.name !== prev?.stable?.name && next.stable) {
    lines.push(prev?.stable ? `stable is now ${revisionLabel(next.stable)}, was version ${prev.stable.version}` : `stable: ${revisionLabel(next.stable)}`);
  }
  if (next.canary?.name !== prev?.canary?.name) {
    if (next.canary) lines.push(`canary: ${revisionLabel(next.canary)}`);
    else if (prev?.canary && next.stable?.name !== prev.canary.name) lines.push(`canary version ${prev.canary.version} removed`);
  }
  if (next.canary) {
    const sameCanary = next.canary.name === prev?.canary?.name;
    const step = next.currentStepIndex;
    if (step !== undefined && steps.length > 0 && (!sameCanary || step !== prev?.currentStepIndex)) {
      lines.push(step < steps.length ? `step ${step + 1}/${steps.length}: ${describeStep(steps[step])}` : `steps done (${steps.length}/${steps.length})`);
    }
  }
  const weight = next.canaryWeight ?? 0;
  const prevWeight = prev?.canaryWeight ?? 0;
  if (weight !== prevWeight) lines.push(`canary weight ${prevWeight}% -> ${weight}%`);
  const round = next.analysis?.lastRoundAt;
  if (round && round !== prev?.analysis?.lastRoundAt) {
    const ms = next.analysis!.measurements;
    lines.push(`analysis round: ${next.analysis!.lastVerdict ?? '?'} (${ms.length} metric${ms.length === 1 ? '' : 's'}, failures so far ${next.analysis!.failures})`);
    for (const m of ms) lines.push(`  ${describeMeasurement(m)}`);
  }
  for (const type of ['Progressing', 'Stalled'] as const) {
    const c = condition(next, type);
    const p = condition(prev, type);
    if (!c || (c.status === p?.status && c.reason === p.reason)) continue;
    // Stalled=False is the normal state; only say so when it clears.
    if (type === 'Stalled' && c.status !== 'True' && p?.status !== 'True') continue;
    // A stop is told once, by Stalled, not again by Progressing with the same words.
    const stalled = condition(next, 'Stalled');
    if (type === 'Progressing' && c.status === 'False' && stalled?.status === 'True' && stalled.reason === c.reason) continue;
    lines.push(`${type} ${c.status}: ${c.reason}${c.message ? ` - ${c.message}` : ''}`);
  }
  const history = next.history ?? [];
  const seen = prev?.history ?? [];
  const last = seen.at(-1);
  // The history is bounded: new entries are those after the last one already seen.
  const from = last ? history.findLastIndex((h) => h.revision === last.revision && h.finishedAt === last.finishedAt) + 1 : 0;
  for (const h of history.slice(from)) lines.push(`rollout of version ${h.version} ended: ${h.outcome} - ${h.reason}`);
  return lines;
}

/** The split the load generator measured while the canary held one weight. */
export interface MeasuredSplit {
  /** The canary's version. */
  version: string;
  /** The weight status reported; after the canary: 'promoted' or 'rolled back'. */
  weight: number | 'promoted' | 'rolled back';
  /** The canary's share of the answers, in percent. */
  share: number;
  answers: number;
  /** Failed requests other than client timeouts: non-200 answers, refused or reset connections. */
  errors: number;
  /** Requests that got no answer within the load generator's 5 s (e.g. queued on a slow canary). */
  timedOut?: number;
}

/** One rollout of the demo, as the summary reports it. */
export interface RolloutReport {
  version: string;
  /** What the demo expected: promoted or rolled back. */
  expected: 'Promoted' | 'RolledBack';
  /** What happened (undefined: it never ended). */
  outcome?: string;
  reason?: string;
  /** Milliseconds from the new version's apply to the end of its rollout. */
  durationMs?: number;
  /** From the canary's first answer seen by the load generator to the rollback decision. */
  toRollbackMs?: number;
  /** From the rollback decision to the sending of the last request the canary answered. */
  drainMs?: number;
  /** The failing measurement that decided a rollback, in words. */
  decidingMeasurement?: string;
  splits: MeasuredSplit[];
}

/** A status in one line, for when a wait runs out: phase, revisions, weight, step, conditions, last analysis. */
export function describeStatus(s: ModelDeploymentStatus | undefined, steps: readonly StepView[]): string {
  if (!s) return 'no status yet';
  const parts = [`phase ${s.phase ?? '-'}`, `stable ${s.stable?.version ?? '-'}`];
  if (s.canary) {
    const step = s.currentStepIndex ?? 0;
    parts.push(`canary ${s.canary.version} at ${s.canaryWeight ?? 0}% (step ${Math.min(step + 1, steps.length)}/${steps.length}: ${describeStep(steps[step])})`);
  }
  for (const c of s.conditions ?? []) {
    if ((c.type === 'Progressing' || c.type === 'Stalled') && c.status === 'True') parts.push(`${c.type}: ${c.reason} - ${c.message}`);
  }
  const a = s.analysis;
  if (a?.lastVerdict) parts.push(`last analysis ${a.lastVerdict}: ${a.measurements.map(describeMeasurement).join('; ')}`);
  return parts.join('; ');
}

/** The split one weight got: "at weight 25%:   canary served  24.6% of 402 answers". */
export function describeSplit(s: MeasuredSplit): string {
  const at = typeof s.weight === 'number' ? `at weight ${s.weight}%:` : `after ${s.weight === 'promoted' ? 'promotion' : 'rollback'}:`;
  const failures = [...(s.errors > 0 ? [`${s.errors} errors`] : []), ...((s.timedOut ?? 0) > 0 ? [`${s.timedOut} timed out after 5 s`] : [])];
  return `${at.padEnd(17)}canary served ${s.share.toFixed(1).padStart(5)}% of ${s.answers} answers${failures.length > 0 ? ` (${failures.join(', ')})` : ''}`;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

/** The final summary: each version's outcome, timings, and the split at each weight. */
export function formatSummary(reports: readonly RolloutReport[], totalMs: number): string[] {
  const lines = ['Summary'];
  for (const r of reports) {
    const ok = r.outcome === r.expected;
    lines.push(`  version ${r.version}: ${r.outcome ?? 'did not finish'}${ok ? '' : ` (expected ${r.expected})`}${r.durationMs === undefined ? '' : ` after ${seconds(r.durationMs)}`}${r.reason ? ` - ${r.reason}` : ''}`);
    if (r.decidingMeasurement) lines.push(`    decided by: ${r.decidingMeasurement}`);
    if (r.expected === 'RolledBack') {
      lines.push(`    first canary answer -> rollback decided: ${seconds(r.toRollbackMs)}; decided -> last request routed to the canary: ${seconds(r.drainMs)}`);
    }
    for (const s of r.splits) lines.push(`    ${describeSplit(s)}`);
  }
  lines.push(`  total: ${seconds(totalMs)}`);
  return lines;
}

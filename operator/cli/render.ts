// Human-readable views of a ModelDeployment for kubectl-siskin: pure functions of the object
// and the current time, so the output is specified by table tests. The layout follows
// `kubectl describe`: labelled fields, then column-aligned tables.
import type { ModelDeploymentStatus } from '../api/schema.ts';
import { ANNOTATION_PAUSED } from '../api/reasons.ts';

/** The parts of a ModelDeployment the views read (as the API returns it, unvalidated). */
export interface ModelDeploymentView {
  metadata: { name: string; namespace?: string; generation?: number; annotations?: Record<string, string> };
  spec?: { rollout?: { steps?: StepView[]; schemaCheck?: string } };
  status?: ModelDeploymentStatus;
}

/** A rollout step as the spec holds it. */
export interface StepView {
  setWeight?: number;
  pause?: { durationSeconds?: number };
  analysis?: { durationSeconds?: number };
  shadow?: { durationSeconds?: number; sampleRate?: number };
  setHeaderRoute?: { name: string; match?: unknown[] };
}

type Revision = NonNullable<ModelDeploymentStatus['stable']>;
type Measurement = NonNullable<ModelDeploymentStatus['analysis']>['measurements'][number];
type HistoryEntry = NonNullable<ModelDeploymentStatus['history']>[number];

/** History rows shown by `status`; `history` shows them all. */
export const STATUS_HISTORY_ROWS = 5;

const NONE = '-';

/** Aligns rows into columns separated by three spaces, like kubectl's tabwriter; no trailing blanks. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], indent = ''): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) => indent + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('   ').trimEnd())
    .join('\n');
}

/** A duration in kubectl's short form: 45s, 3m, 5h, 2d. */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** How long ago a timestamp was, "-" when it is absent or unreadable. */
function age(iso: string | undefined, now: number): string {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? NONE : shortDuration(now - t);
}

/** A timestamp with how long ago it was, e.g. "2026-11-23T12:00:00Z (3m ago)". */
function when(iso: string | undefined, now: number): string {
  if (!iso) return NONE;
  const ago = age(iso, now);
  return ago === NONE ? iso : `${iso} (${ago} ago)`;
}

/** A measured number, short but exact enough to compare with its bound. */
export function formatNumber(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return NONE;
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** A model signature on one line: inputs -> outputs, with datatypes and shapes. */
function signatureLine(sig: Revision['signature']): string | undefined {
  if (!sig) return undefined;
  const tensors = (ts: { name: string; datatype: string; shape: number[] }[] | undefined): string =>
    (ts ?? []).map((t) => `${t.name} ${t.datatype}[${t.shape.join(',')}]`).join(', ') || NONE;
  return `${tensors(sig.inputs)} -> ${tensors(sig.outputs)}`;
}

/** The labelled lines of one revision. */
function revisionLines(label: string, rev: Revision | undefined): [string, string][] {
  if (!rev) return [[label, NONE]];
  const lines: [string, string][] = [
    [label, `${rev.version} (revision ${rev.name})`],
    ['  Model', rev.uri],
  ];
  if (rev.sha256) lines.push(['  SHA-256', rev.sha256]);
  const sig = signatureLine(rev.signature);
  lines.push(['  Signature', sig ?? 'not read yet']);
  return lines;
}

/** What one step does, in words. */
function stepKind(step: StepView | undefined): string | undefined {
  if (!step) return undefined;
  if (step.setWeight !== undefined) return `set weight ${step.setWeight}%`;
  if (step.pause) return step.pause.durationSeconds === undefined ? 'pause until promoted' : `pause ${step.pause.durationSeconds}s`;
  if (step.analysis) return `analysis for ${step.analysis.durationSeconds ?? '?'}s`;
  if (step.setHeaderRoute) return step.setHeaderRoute.match ? `header route ${step.setHeaderRoute.name} to the canary` : `remove header route ${step.setHeaderRoute.name}`;
  if (step.shadow) return `shadow for ${step.shadow.durationSeconds ?? '?'}s on ${Math.round((step.shadow.sampleRate ?? 0) * 100)}% of stable's requests (weight 0)`;
  return undefined;
}

/** "2/4: pause until promoted" for the step in progress (1-based), "4/4: promoting" once past the last one. */
export function stepText(index: number | undefined, steps: readonly StepView[] | undefined): string {
  if (index === undefined) return NONE;
  if (steps === undefined) return `${index + 1}`;
  if (index >= steps.length) return `${steps.length}/${steps.length}: promoting`;
  const kind = stepKind(steps[index]);
  return `${index + 1}/${steps.length}${kind ? `: ${kind}` : ''}`;
}

/** The measurements table (canary analysis or stable health). */
function measurementTable(ms: readonly Measurement[]): string {
  return formatTable(
    ['METRIC', 'VALUE', 'STABLE', 'BOUND', 'VERDICT', 'REASON'],
    ms.map((m) => [m.metric, formatNumber(m.value), formatNumber(m.stableValue), m.bound, m.verdict, m.reason ?? '']),
    '  ',
  );
}

/** The history table, newest first. */
function historyTable(entries: readonly HistoryEntry[], now: number, indent: string): string {
  return formatTable(
    ['FINISHED', 'VERSION', 'REVISION', 'OUTCOME', 'DURATION', 'OWNER', 'REASON'],
    [...entries].reverse().map((h) => {
      const started = h.startedAt ? Date.parse(h.startedAt) : NaN;
      const finished = Date.parse(h.finishedAt);
      return [
        Number.isNaN(finished) ? h.finishedAt : `${age(h.finishedAt, now)} ago`,
        h.version,
        h.revision,
        h.outcome,
        Number.isNaN(started) || Number.isNaN(finished) ? NONE : shortDuration(finished - started),
        h.modelCard?.owner ?? NONE,
        h.reason,
      ];
    }),
    indent,
  );
}

function fields(lines: readonly [string, string][]): string {
  const width = Math.max(...lines.map(([k]) => k.length)) + 2;
  return lines.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`.trimEnd()).join('\n');
}

/** `kubectl siskin status`: versions, weight, step, phase, analysis, conditions, recent history. */
export function renderStatus(md: ModelDeploymentView, now: number): string {
  const s = md.status ?? {};
  const meta = md.metadata;
  const steps = md.spec?.rollout?.steps;
  const paused = meta.annotations?.[ANNOTATION_PAUSED] === 'true';
  const head: [string, string][] = [
    ['Name', meta.name],
    ['Namespace', meta.namespace ?? NONE],
    ['Phase', s.phase ?? 'Unknown (no status yet: is the Siskin operator running?)'],
  ];
  if (s.rollout) head.push(['Rollout', `${s.rollout.state} (${s.rollout.reason})${s.rollout.message ? `: ${s.rollout.message}` : ''}`]);
  if (s.observedGeneration !== undefined && meta.generation !== undefined && s.observedGeneration < meta.generation) {
    // A status of an older spec is easy to misread as the answer to the latest change.
    head.push(['Generation', `${meta.generation} (status is for generation ${s.observedGeneration}: the operator has not caught up yet)`]);
  }
  head.push(...revisionLines('Stable', s.stable));
  if (s.canary) {
    head.push(...revisionLines('Canary', s.canary));
    head.push(['Canary weight', `${s.canaryWeight ?? 0}%`]);
    if (s.headerRoutes?.length) head.push(['Header routes', `${s.headerRoutes.join(', ')} (matching requests go to the canary whatever the weight)`]);
    head.push(['Step', stepText(s.currentStepIndex, steps)]);
    if (s.stepStartedAt) head.push(['Step started', when(s.stepStartedAt, now)]);
    if (s.rolloutStartedAt) head.push(['Rollout started', when(s.rolloutStartedAt, now)]);
  } else {
    head.push(['Canary', 'none (no rollout in progress)']);
  }
  if (paused) head.push(['Paused', `yes, by annotation ${ANNOTATION_PAUSED}=true (kubectl siskin resume to go on)`]);
  if (s.replicas !== undefined || s.readyReplicas !== undefined) head.push(['Replicas', `${s.readyReplicas ?? 0} ready of ${s.replicas ?? 0}`]);
  if (s.autoscaling) head.push(['Autoscaler', `${s.autoscaling.desiredReplicas} replicas: ${s.autoscaling.reason}`]);
  if (s.activation) head.push(['Activation', activationText(s.activation, now)]);
  if (s.lastCommand) head.push(['Last command', s.lastCommand]);

  const parts = [fields(head)];
  const a = s.analysis;
  if (a) {
    const last = a.lastVerdict ? `last verdict ${a.lastVerdict}${a.lastRoundAt ? ` at ${when(a.lastRoundAt, now)}` : ''}` : 'no round yet';
    const inRow = a.consecutiveInconclusive ? ` (${a.consecutiveInconclusive} in a row)` : '';
    const summary = `${last}; failures ${a.failures}, inconclusive ${a.inconclusive}${inRow}`;
    parts.push(`Analysis: ${summary}` + (a.measurements.length ? `\n${measurementTable(a.measurements)}` : ''));
  }
  const health = s.monitoring?.measurements;
  if (health?.length) {
    const action = s.monitoring?.lastAction ? `, last action ${s.monitoring.lastAction} at ${when(s.monitoring.lastActionAt, now)}` : '';
    parts.push(`Stable health: checked ${when(s.monitoring?.lastCheckAt, now)}${action}\n${measurementTable(health)}`);
  }
  const conditions = s.conditions ?? [];
  parts.push(
    conditions.length
      ? `Conditions:\n${formatTable(
          ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
          conditions.map((c) => [c.type, c.status, c.reason, age(c.lastTransitionTime, now), c.message]),
          '  ',
        )}`
      : 'Conditions: none',
  );
  const history = s.history ?? [];
  if (history.length) {
    const recent = history.slice(-STATUS_HISTORY_ROWS);
    const more = history.length > recent.length ? ` (latest ${recent.length} of ${history.length}: kubectl siskin history ${meta.name})` : '';
    parts.push(`History${more}:\n${historyTable(recent, now, '  ')}`);
  }
  return parts.join('\n\n') + '\n';
}

/** Scale to zero: the state since when, why, and the activator port that holds requests. */
function activationText(a: NonNullable<ModelDeploymentStatus['activation']>, now: number): string {
  const port = a.port === undefined ? '' : a.state === 'Active' ? `; activator port ${a.port}` : `; requests held by the activator on port ${a.port}`;
  return `${a.state} since ${when(a.since, now)}: ${a.reason}${port}`;
}

/** `kubectl siskin history`: every recorded rollout, newest first. */
export function renderHistory(md: ModelDeploymentView, now: number): string {
  const history = md.status?.history ?? [];
  if (history.length === 0) return `No rollouts recorded for ${md.metadata.name} yet.\n`;
  return `${historyTable(history, now, '')}\n`;
}

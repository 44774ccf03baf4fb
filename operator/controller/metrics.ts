// Per-ModelDeployment metrics the operator exports beside the runtime's: what dashboards and
// alerts read about rollouts, analysis, drift and the autoscaler. Labels are bounded: one
// series per model (and per metric name, phase or breach kind of its spec).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ModelDeploymentStatus } from '../api/schema.ts';
import { ConditionType, Reason } from '../api/reasons.ts';

const PHASES = ['Pending', 'Progressing', 'Paused', 'Healthy', 'ScaledToZero', 'Degraded', 'RolledBack', 'Failed'] as const;
const OUTCOMES = ['Promoted', 'RolledBack', 'Aborted'] as const;
const VERDICTS = ['Pass', 'Fail', 'Inconclusive'] as const;
const ACTIONS = ['Alert', 'Rollback', 'Retrain'] as const;
const BREACHES = [Reason.DataDrift, Reason.BadInputData, Reason.AccuracyDecay, Reason.ServingErrors] as const;

/** The ModelDeployment metrics, registered on the operator's registry. */
export class ModelDeploymentMetrics {
  private readonly weight: Gauge<'namespace' | 'name'>;
  private readonly phase: Gauge<'namespace' | 'name' | 'phase'>;
  private readonly step: Gauge<'namespace' | 'name'>;
  private readonly measurement: Gauge<'namespace' | 'name' | 'metric' | 'revision_role'>;
  private readonly rounds: Counter<'namespace' | 'name' | 'verdict'>;
  private readonly outcomes: Counter<'namespace' | 'name' | 'outcome'>;
  private readonly drift: Gauge<'namespace' | 'name' | 'kind'>;
  private readonly driftActions: Counter<'namespace' | 'name' | 'action'>;
  private readonly desiredReplicas: Gauge<'namespace' | 'name'>;
  private readonly readyReplicas: Gauge<'namespace' | 'name'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.weight = new Gauge({ name: 'siskin_modeldeployment_canary_weight_percent', help: 'Share of traffic on the canary.', labelNames: ['namespace', 'name'], registers });
    this.phase = new Gauge({ name: 'siskin_modeldeployment_phase', help: '1 for the current phase of each ModelDeployment.', labelNames: ['namespace', 'name', 'phase'], registers });
    this.step = new Gauge({ name: 'siskin_modeldeployment_rollout_step', help: 'Index of the rollout step in progress (-1 without a rollout).', labelNames: ['namespace', 'name'], registers });
    this.measurement = new Gauge({
      name: 'siskin_analysis_measurement_value',
      help: 'Latest analysis measurement of the canary (revision_role="canary") or health measurement of stable.',
      labelNames: ['namespace', 'name', 'metric', 'revision_role'],
      registers,
    });
    this.rounds = new Counter({ name: 'siskin_analysis_rounds_total', help: 'Canary analysis rounds by verdict.', labelNames: ['namespace', 'name', 'verdict'], registers });
    this.outcomes = new Counter({ name: 'siskin_rollouts_total', help: 'Finished rollouts by outcome (Promoted, RolledBack, Aborted).', labelNames: ['namespace', 'name', 'outcome'], registers });
    this.drift = new Gauge({ name: 'siskin_drift_detected', help: '1 while the stable revision breaches its health policy, by kind.', labelNames: ['namespace', 'name', 'kind'], registers });
    this.driftActions = new Counter({ name: 'siskin_drift_actions_total', help: 'Health-policy actions fired (Alert, Rollback, Retrain).', labelNames: ['namespace', 'name', 'action'], registers });
    this.desiredReplicas = new Gauge({ name: 'siskin_autoscaler_desired_replicas', help: "The built-in autoscaler's decision.", labelNames: ['namespace', 'name'], registers });
    this.readyReplicas = new Gauge({ name: 'siskin_modeldeployment_ready_replicas', help: 'Ready serving pods of each ModelDeployment.', labelNames: ['namespace', 'name'], registers });
  }

  /** Records what a reconcile wrote: the status before and after. */
  observe(namespace: string, name: string, before: ModelDeploymentStatus, after: ModelDeploymentStatus): void {
    const l = { namespace, name };
    // Counters exist at zero from the first reconcile: increase() reads 0, not "no data".
    for (const outcome of OUTCOMES) this.outcomes.inc({ ...l, outcome }, 0);
    for (const verdict of VERDICTS) this.rounds.inc({ ...l, verdict }, 0);
    for (const action of ACTIONS) this.driftActions.inc({ ...l, action }, 0);
    this.weight.set(l, after.canaryWeight ?? 0);
    for (const p of PHASES) this.phase.set({ ...l, phase: p }, after.phase === p ? 1 : 0);
    this.step.set(l, after.canary ? (after.currentStepIndex ?? 0) : -1);
    this.readyReplicas.set(l, after.readyReplicas ?? 0);
    for (const m of after.analysis?.measurements ?? []) if (m.value !== undefined) this.measurement.set({ ...l, metric: m.metric, revision_role: 'canary' }, m.value);
    for (const m of after.monitoring?.measurements ?? []) if (m.value !== undefined) this.measurement.set({ ...l, metric: m.metric.split(' ')[0]!, revision_role: 'stable' }, m.value);
    if (after.analysis?.lastRoundAt && after.analysis.lastRoundAt !== before.analysis?.lastRoundAt && after.analysis.lastVerdict) {
      this.rounds.inc({ ...l, verdict: after.analysis.lastVerdict });
    }
    const newHistory = (after.history ?? []).filter((h) => !(before.history ?? []).some((b) => b.revision === h.revision && b.finishedAt === h.finishedAt));
    for (const h of newHistory) this.outcomes.inc({ ...l, outcome: h.outcome });
    const driftCond = after.conditions?.find((c) => c.type === ConditionType.DriftDetected);
    for (const k of BREACHES) this.drift.set({ ...l, kind: k }, driftCond?.status === 'True' && driftCond.reason === k ? 1 : 0);
    if (after.monitoring?.lastActionAt && after.monitoring.lastActionAt !== before.monitoring?.lastActionAt && after.monitoring.lastAction) {
      this.driftActions.inc({ ...l, action: after.monitoring.lastAction });
    }
    if (after.autoscaling) this.desiredReplicas.set(l, after.autoscaling.desiredReplicas);
  }

  /** Drops a deleted ModelDeployment's series. */
  forget(namespace: string, name: string): void {
    for (const g of [this.weight, this.step, this.desiredReplicas, this.readyReplicas]) g.remove({ namespace, name });
    for (const p of PHASES) this.phase.remove({ namespace, name, phase: p });
    for (const k of BREACHES) this.drift.remove({ namespace, name, kind: k });
    for (const outcome of OUTCOMES) this.outcomes.remove({ namespace, name, outcome });
    for (const verdict of VERDICTS) this.rounds.remove({ namespace, name, verdict });
    for (const action of ACTIONS) this.driftActions.remove({ namespace, name, action });
  }
}

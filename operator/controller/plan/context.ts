// The plan's input, output and context. plan() builds one PlanContext from its input; each
// pipeline step reads it and writes the part it decides (sizes, revisions, the rollout state,
// events, when to look again); the desired objects, pod gates and status are then derived
// from it. Pure: no client, no clock.
import type { V1ConfigMap, V1Deployment, V1EndpointSlice, V1Job, V1PodDisruptionBudget, V1Service } from '@kubernetes/client-node';
import { ANNOTATION_COMMAND, ANNOTATION_PAUSED } from '../../api/reasons.ts';
import type { HeaderRoute, ModelDeploymentSpec, ModelDeploymentStatus } from '../../api/schema.ts';
import type { Observation } from '../../analysis/evaluate.ts';
import type { Signature, SignatureWithWarmup } from '../../analysis/schemaGate.ts';
import type { HealthObservation } from '../../monitoring/health.ts';
import type { Owner } from '../../resources/deployment.ts';
import { revisionHash } from '../../resources/revision.ts';
import type { Activation } from '../../autoscaling/scaleToZero.ts';
import { activeFreeze, type ActiveFreeze } from '../../rollout/freeze.ts';
import type { RolloutState } from '../../rollout/steps.ts';
import { trafficSplit, type TrafficSplit } from '../../routing/split.ts';
import { rolledBackOf, type RolledBack } from './rolloutState.ts';

/** What the reconciler observed of one owned serving Deployment. */
export interface ObservedDeployment {
  name: string;
  revision: string;
  specReplicas: number;
  readyReplicas: number;
  /** status.replicas: pods that exist. */
  replicas: number;
  /** The Deployment controller has seen its latest spec. */
  upToDate: boolean;
}

/** What the reconciler observed of one serving pod. */
export interface ObservedPod {
  name: string;
  revision: string;
  ip?: string;
  /** Its containers are ready: the model loaded, its digest checked, warm-up done. */
  containersReady: boolean;
  /** The readiness gate condition the operator set, if any. */
  admitted?: 'True' | 'False';
  deleting: boolean;
}

/** A revision's signature as read from one of its pods (and any warm-up failure it reported), or why it could not be read. */
export type SignatureRead = SignatureWithWarmup | { error: string };

/** Input of plan(). */
export interface PlanInput {
  owner: Owner;
  generation: number;
  annotations: Record<string, string>;
  spec: ModelDeploymentSpec;
  status: ModelDeploymentStatus;
  observed: ObservedDeployment[];
  pods?: ObservedPod[];
  /** Signatures read this reconcile, by revision (see signaturesToRead). */
  signatures?: Record<string, SignatureRead>;
  /** A round of analysis measurements taken this reconcile (see analysisDue). */
  analysisRound?: Observation[];
  /** The canary Service's ClusterIP: where stable pods mirror shadow traffic. */
  canaryServiceIP?: string;
  /** The stable revision's health, measured this reconcile (see healthDue). */
  health?: HealthObservation;
  /** The model's traffic, measured this reconcile for the autoscaler (see autoscaleDue). */
  load?: { requestRate?: number; p99?: number };
  /** Inference requests to any revision over the scale-to-zero idle period, measured this reconcile (see idleDue); undefined when Prometheus could not tell. */
  idleRequests?: number;
  /** The activator, when one runs (scale to zero): its address, this model's port, and whether it holds requests for the model now. */
  activator?: { address: string; port?: number; portError?: string; demand: boolean };
  /** The Services named have a ready endpoint in a slice of their own (not the activator's). */
  servicesWithEndpoints?: string[];
  /** The names of the activator's EndpointSlices that exist. */
  activatorSlices?: string[];
  now: number;
  defaultImage: string;
}

/** A Kubernetes Event to emit. */
export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** A pod readiness-gate condition to set through pods/status. */
export interface PodGate {
  pod: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** Output of plan(). */
export interface Plan {
  /** Full desired Deployments, server-side applied. */
  deployments: V1Deployment[];
  /** Deployments of an older spec's stable revision: only their size changes (the scale subresource). */
  scales: { name: string; replicas: number }[];
  services: V1Service[];
  configMaps: V1ConfigMap[];
  /** Readiness gates to set; False ones go first, before any scale-down, to cut traffic at once. */
  podGates: PodGate[];
  /** GatewayAPI routing: the canary's share of the HTTPRoute. */
  routeWeight?: number;
  /** GatewayAPI routing: the header routes that send matching requests to the canary (empty: none). */
  headerRoutes?: HeaderRoute[];
  /** The PodDisruptionBudgets that should exist (one per revision above one replica); owned ones not here go. */
  disruptionBudgets: V1PodDisruptionBudget[];
  /** The activator's EndpointSlices that should exist (scale to zero); owned ones not here go. */
  endpointSlices: V1EndpointSlice[];
  /** Owned serving Deployments that must go. */
  deleteDeployments: string[];
  /** Retraining Jobs to create (an existing one of the same name is the same Job). */
  jobs: V1Job[];
  status: ModelDeploymentStatus;
  events: PlannedEvent[];
  requeueAfterMs?: number;
}

/** A revision as recorded in status. */
export type Revision = NonNullable<ModelDeploymentStatus['stable']>;
/** One rollout in status history. */
export type HistoryEntry = NonNullable<ModelDeploymentStatus['history']>[number];
/** The canary analysis in status. */
export type AnalysisStatus = NonNullable<ModelDeploymentStatus['analysis']>;
/** Health monitoring of the stable revision in status. */
export type MonitoringStatus = NonNullable<ModelDeploymentStatus['monitoring']>;
/** A condition to set this reconcile. */
export interface ConditionUpdate {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** Everything the pipeline steps share: the input, what is decided so far, and what to emit. */
export interface PlanContext {
  readonly input: PlanInput;
  readonly spec: ModelDeploymentSpec;
  readonly now: number;
  readonly nowIso: string;
  /** The revision the spec asks for. */
  readonly desiredRev: string;
  /** " (owner …, risk tier …)" from the model card, for Events. */
  readonly who: string;
  /** A one-shot command not acted on yet (its verb), if any. */
  readonly command: string | undefined;
  /** The pause annotation is set. */
  readonly paused: boolean;
  readonly freeze: ActiveFreeze | undefined;
  /** How a canary weight becomes replica counts and a route weight, for the spec's routing type. */
  readonly traffic: TrafficSplit;
  /** The model's size: spec.replicas, or the autoscaler's decision. */
  total: number;
  autoscaling: ModelDeploymentStatus['autoscaling'];
  /** Scale to zero: Active, ScaledToZero or Waking (undefined when minReplicas is not 0 and the model is up). */
  activation: Activation | undefined;
  stable: Revision;
  canary: Revision | undefined;
  previous: Revision | undefined;
  /** Where the canary stands in spec.rollout.steps. */
  step: RolloutState;
  rolloutStartedAt: string | undefined;
  analysis: AnalysisStatus | undefined;
  /** Set when the canary was taken out; it stays out until a retry or a new spec. */
  rolledBack: RolledBack | undefined;
  /** What the rollout waits for, shown in the Progressing condition. */
  progress: { reason: string; message: string } | undefined;
  /** Why a wait is longer than it should be (a signature that cannot be read), if known. */
  waitingNote: string | undefined;
  monitoring: MonitoringStatus | undefined;
  driftCondition: ConditionUpdate | undefined;
  /** Replicas per revision; an observed revision not named here is deleted. */
  replicas: Record<string, number>;
  jobs: V1Job[];
  history: HistoryEntry[];
  events: PlannedEvent[];
  requeueAfterMs: number | undefined;
}

/** An ISO timestamp. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The context before any step ran: what status says, with the spec's revision and the clock. */
export function newContext(input: PlanInput): PlanContext {
  const { spec, now, status: old } = input;
  const card = spec.modelCard;
  const desiredRev = revisionHash(spec, input.defaultImage);
  const rawCommand = input.annotations[ANNOTATION_COMMAND];
  return {
    input,
    spec,
    now,
    nowIso: iso(now),
    desiredRev,
    who: card ? ` (owner ${card.owner}, risk tier ${card.riskTier})` : '',
    // One-shot commands run once per distinct annotation value; pause is level-triggered.
    command: rawCommand !== undefined && rawCommand !== old.lastCommand ? rawCommand.split(':')[0] : undefined,
    paused: input.annotations[ANNOTATION_PAUSED] === 'true',
    freeze: activeFreeze(spec.rollout.freezeWindows, now),
    traffic: trafficSplit(spec.rollout.trafficRouting.type),
    total: spec.replicas,
    autoscaling: old.autoscaling,
    activation: old.activation ? { state: old.activation.state, since: Date.parse(old.activation.since), reason: old.activation.reason } : undefined,
    // The first revision of a new ModelDeployment is stable from the start.
    stable: old.stable ?? revisionOf(spec, desiredRev),
    canary: old.canary,
    previous: old.previous,
    step: { stepIndex: old.currentStepIndex ?? 0, stepStartedAt: old.stepStartedAt ? Date.parse(old.stepStartedAt) : now, weight: old.canaryWeight ?? 0 },
    rolloutStartedAt: old.rolloutStartedAt,
    analysis: old.analysis,
    rolledBack: rolledBackOf(old),
    progress: undefined,
    waitingNote: undefined,
    monitoring: spec.monitoring?.drift ? old.monitoring : undefined,
    driftCondition: undefined,
    replicas: {},
    jobs: [],
    history: [...(old.history ?? [])],
    events: [],
    requeueAfterMs: undefined,
  };
}

/** The spec's model as a revision of the given name. */
export function revisionOf(spec: ModelDeploymentSpec, name: string): Revision {
  return { name, version: spec.model.version, uri: spec.model.uri, ...(spec.model.sha256 ? { sha256: spec.model.sha256 } : {}) };
}

/** Look again within ms (the earliest of every step's wish wins). */
export function requeue(ctx: PlanContext, ms: number): void {
  ctx.requeueAfterMs = ctx.requeueAfterMs === undefined ? ms : Math.min(ctx.requeueAfterMs, ms);
}

/** Queues an Event. */
export function emit(ctx: PlanContext, type: PlannedEvent['type'], reason: string, message: string): void {
  ctx.events.push({ type, reason, message });
}

const HISTORY_LIMIT = 20;

/** Records how a revision's rollout ended in status history. */
export function record(ctx: PlanContext, rev: Revision, outcome: HistoryEntry['outcome'], reason: string): void {
  const card = ctx.spec.modelCard;
  const started = ctx.input.status.rolloutStartedAt;
  const entry: HistoryEntry = {
    revision: rev.name,
    version: rev.version,
    ...(rev.sha256 ? { sha256: rev.sha256 } : {}),
    outcome,
    reason,
    ...(started ? { startedAt: started } : {}),
    finishedAt: ctx.nowIso,
    ...(card ? { modelCard: { owner: card.owner, riskTier: card.riskTier, ...(card.intendedUse ? { intendedUse: card.intendedUse } : {}) } } : {}),
  };
  ctx.history = [...ctx.history, entry].slice(-HISTORY_LIMIT);
}

/** What was observed of a revision's Deployment. */
export function observedOf(ctx: PlanContext, rev: string | undefined): ObservedDeployment | undefined {
  return ctx.input.observed.find((d) => d.revision === rev);
}

/** The stable revision has a ready pod: only then may a rolled-back canary leave. */
export function stableServes(ctx: PlanContext): boolean {
  return (observedOf(ctx, ctx.stable.name)?.readyReplicas ?? 0) > 0;
}

/**
 * A revision's pods may take traffic: its signature passed the schema gate, or the gate is Off
 * (then warm-up and the digest check, which the pod's own readiness covers, are the gates).
 */
export function admitted(spec: ModelDeploymentSpec, rev: Revision | undefined): rev is Revision {
  return !!rev && (spec.rollout.schemaCheck === 'Off' || !!rev.signature);
}

/** A signature read, not an error. */
export function isSignature(s: SignatureRead | undefined): s is SignatureWithWarmup {
  return s !== undefined && !('error' in s);
}

/** The signature alone, as status keeps it (the warm-up report is an Event, not state). */
export function signatureOnly(read: SignatureWithWarmup): Signature {
  return { inputs: read.inputs, outputs: read.outputs };
}

/** The canary of a step that runs only while one exists. */
export function canaryOf(ctx: PlanContext): Revision {
  if (!ctx.canary) throw new Error('plan: a canary step ran without a canary');
  return ctx.canary;
}

/** Takes the canary out: history, a Warning, and weight 0 until a retry or a new spec. */
export function rollBack(ctx: PlanContext, reason: string, message: string, outcome: HistoryEntry['outcome']): void {
  record(ctx, canaryOf(ctx), outcome, message);
  emit(ctx, 'Warning', reason, `${message}; traffic is back on ${ctx.stable.version}${ctx.who}`);
  ctx.rolledBack = { reason, message };
  ctx.step = { ...ctx.step, weight: 0 };
}

/** A canary is being rolled out (not one that was rolled back). */
export function rolling(ctx: PlanContext): ctx is PlanContext & { canary: Revision } {
  return !!ctx.canary && !ctx.rolledBack;
}

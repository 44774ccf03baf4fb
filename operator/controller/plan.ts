// The reconcile plan: from a ModelDeployment and what exists, the objects that should exist,
// the status to write, the Events to emit and when to look again. Pure — no client, no clock
// (now is an input) — so every rollout path is a table test.
import type { V1ConfigMap, V1Deployment, V1Job, V1Service } from '@kubernetes/client-node';
import type { ModelDeploymentSpec, ModelDeploymentStatus } from '../api/schema.ts';
import { decide, describeFailure, evaluateRound, type Observation } from '../analysis/evaluate.ts';
import { compareSignatures, type Signature } from '../analysis/schemaGate.ts';
import { recommend } from '../autoscaling/recommend.ts';
import { assessHealth, shouldFire, type HealthObservation } from '../monitoring/health.ts';
import { servingDeployment, type Owner } from '../resources/deployment.ts';
import { retrainJob } from '../resources/retrainJob.ts';
import { podSelector } from '../resources/labels.ts';
import { revisionHash } from '../resources/revision.ts';
import { routingConfigMap } from '../resources/routingConfig.ts';
import { servingServices } from '../resources/services.ts';
import { activeFreeze, describeFreeze } from '../rollout/freeze.ts';
import { gatewaySplit, splitReplicas, type ReplicaSplit } from '../rollout/replicas.ts';
import { nextStep, weightAt, type RolloutState } from '../rollout/steps.ts';
import { derivePhase, getCondition, setCondition, type Condition } from './conditions.ts';
import { ANNOTATION_COMMAND, ANNOTATION_PAUSED, ConditionType, Reason, ROLLED_BACK_REASONS } from './reasons.ts';

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

/** A revision's signature as read from one of its pods, or why it could not be read. */
export type SignatureRead = Signature | { error: string };

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
  /** Owned serving Deployments that must go. */
  deleteDeployments: string[];
  /** Retraining Jobs to create (an existing one of the same name is the same Job). */
  jobs: V1Job[];
  status: ModelDeploymentStatus;
  events: PlannedEvent[];
  requeueAfterMs?: number;
}

type Revision = NonNullable<ModelDeploymentStatus['stable']>;
type HistoryEntry = NonNullable<ModelDeploymentStatus['history']>[number];
type AnalysisStatus = NonNullable<ModelDeploymentStatus['analysis']>;

const HISTORY_LIMIT = 20;
const POLL_MS = 2_000;
const FREEZE_POLL_MS = 60_000;
/** How often the built-in autoscaler reads the model's traffic. */
export const AUTOSCALE_INTERVAL_MS = 15_000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isSignature(s: SignatureRead | undefined): s is Signature {
  return s !== undefined && !('error' in s);
}

/** The rollout was taken out (rolled back or aborted) and stays out until retry or a new spec. */
function rolledBackCondition(status: ModelDeploymentStatus): Condition | undefined {
  const c = getCondition(status.conditions, ConditionType.Stalled);
  return c?.status === 'True' && ROLLED_BACK_REASONS.includes(c.reason) ? c : undefined;
}

/**
 * A revision's pods may take traffic: its signature passed the schema gate, or the gate is Off
 * (then warm-up and the digest check, which the pod's own readiness covers, are the gates).
 */
function admitted(spec: ModelDeploymentSpec, rev: Revision | undefined): boolean {
  return !!rev && (spec.rollout.schemaCheck === 'Off' || !!rev.signature);
}

/**
 * Revisions whose signature the shell should read from a pod before planning: the stable one
 * until it is known, and the canary until it passed the schema gate. Only a pod whose
 * containers are ready has loaded (and digest-checked) its model.
 */
export function signaturesToRead(status: ModelDeploymentStatus, pods: readonly ObservedPod[]): { revision: string; pod: ObservedPod }[] {
  const want: string[] = [];
  if (status.stable && !status.stable.signature) want.push(status.stable.name);
  if (status.canary && !status.canary.signature && !rolledBackCondition(status)) want.push(status.canary.name);
  const out: { revision: string; pod: ObservedPod }[] = [];
  for (const revision of want) {
    const pod = pods.find((p) => p.revision === revision && p.containersReady && !p.deleting && p.ip);
    if (pod) out.push({ revision, pod });
  }
  return out;
}

/** An analysis round is due: a rollout with metrics runs, its canary is admitted and serving, and an interval has passed. */
export function analysisDue(spec: ModelDeploymentSpec, status: ModelDeploymentStatus, observed: readonly ObservedDeployment[], now: number): boolean {
  const a = spec.rollout.analysis;
  if (!a || a.metrics.length === 0 || !status.canary || !admitted(spec, status.canary) || rolledBackCondition(status)) return false;
  if (!observed.some((d) => d.revision === status.canary!.name && d.readyReplicas > 0)) return false;
  const last = status.analysis?.lastRoundAt ? Date.parse(status.analysis.lastRoundAt) : 0;
  return now - last >= a.intervalSeconds * 1000;
}

/** A health check of the stable revision is due: a drift policy is set, no rollout runs, an interval has passed. */
export function healthDue(spec: ModelDeploymentSpec, status: ModelDeploymentStatus, now: number): boolean {
  const drift = spec.monitoring?.drift;
  if (!drift || !status.stable) return false;
  // While a canary rolls out, the canary analysis is the judge.
  if (status.canary && !rolledBackCondition(status)) return false;
  const last = status.monitoring?.lastCheckAt ? Date.parse(status.monitoring.lastCheckAt) : 0;
  return now - last >= drift.intervalSeconds * 1000;
}

/** The autoscaler should read the model's traffic now. */
export function autoscaleDue(spec: ModelDeploymentSpec, status: ModelDeploymentStatus, now: number): boolean {
  if (!spec.autoscaling) return false;
  const last = status.autoscaling?.lastCheckAt ? Date.parse(status.autoscaling.lastCheckAt) : 0;
  return now - last >= AUTOSCALE_INTERVAL_MS;
}

type Measurement = NonNullable<AnalysisStatus['measurements']>[number];

/** The health observation as status measurements, each with its bound and verdict. */
function healthMeasurements(drift: NonNullable<NonNullable<ModelDeploymentSpec['monitoring']>['drift']>, h: HealthObservation, breached: readonly string[], time: string): Measurement[] {
  const m = (metric: string, kind: string, value: number | undefined, bound: string): Measurement => ({
    metric,
    ...(value !== undefined && Number.isFinite(value) ? { value } : {}),
    bound,
    verdict: h.error || value === undefined || !Number.isFinite(value) ? 'Inconclusive' : breached.includes(kind) ? 'Fail' : 'Pass',
    ...(h.error ? { reason: h.error } : {}),
    time,
  });
  return [
    m(h.worstFeature ? `feature-psi (${h.worstFeature})` : 'feature-psi', 'DataDrift', h.maxFeaturePsi, `<= ${drift.threshold}`),
    ...(drift.maxBadInputRatio !== undefined ? [m('bad-input-ratio', 'BadInputData', h.badInputRatio, `<= ${drift.maxBadInputRatio}`)] : []),
    ...(drift.minAccuracy !== undefined ? [m('accuracy', 'AccuracyDecay', h.accuracy, `>= ${drift.minAccuracy} over >= ${drift.minLabels} labels`)] : []),
    ...(drift.maxErrorRate !== undefined ? [m('error-rate', 'ServingErrors', h.errorRate, `<= ${drift.maxErrorRate}`)] : []),
  ];
}

/** What a rolled-back condition tells the reader to do, appended to why it rolled back. */
function retryHint(stableVersion: string): string {
  return `. Stable ${stableVersion} serves. Annotate ${ANNOTATION_COMMAND}=retry to try again, or change the spec`;
}

/** The reason part of a rolled-back condition's message (read back every reconcile: the hint must not pile up). */
function withoutRetryHint(message: string): string {
  const at = message.lastIndexOf('. Stable ');
  return at >= 0 && message.endsWith('to try again, or change the spec') ? message.slice(0, at) : message;
}

/** Computes the plan. */
export function plan(input: PlanInput): Plan {
  const { spec, owner, now } = input;
  const nowIso = iso(now);
  const events: PlannedEvent[] = [];
  const card = spec.modelCard;
  const who = card ? ` (owner ${card.owner}, risk tier ${card.riskTier})` : '';
  const desiredRev = revisionHash(spec, input.defaultImage);
  const analysisSpec = spec.rollout.analysis;
  const metrics = analysisSpec?.metrics ?? [];
  const pods = input.pods ?? [];
  const sigOf = (rev: string): SignatureRead | undefined => input.signatures?.[rev];
  const revInfo = (name: string): Revision => ({
    name,
    version: spec.model.version,
    uri: spec.model.uri,
    ...(spec.model.sha256 ? { sha256: spec.model.sha256 } : {}),
  });
  const old = input.status;
  let history = [...(old.history ?? [])];
  const record = (rev: Revision, outcome: HistoryEntry['outcome'], reason: string): void => {
    history = [
      ...history,
      {
        revision: rev.name,
        version: rev.version,
        ...(rev.sha256 ? { sha256: rev.sha256 } : {}),
        outcome,
        reason,
        ...(old.rolloutStartedAt ? { startedAt: old.rolloutStartedAt } : {}),
        finishedAt: nowIso,
        ...(card ? { modelCard: { owner: card.owner, riskTier: card.riskTier, ...(card.intendedUse ? { intendedUse: card.intendedUse } : {}) } } : {}),
      },
    ].slice(-HISTORY_LIMIT);
  };

  // One-shot commands run once per distinct annotation value; pause is level-triggered.
  const rawCommand = input.annotations[ANNOTATION_COMMAND];
  const freshCommand = rawCommand !== undefined && rawCommand !== old.lastCommand ? rawCommand.split(':')[0] : undefined;
  const paused = input.annotations[ANNOTATION_PAUSED] === 'true';
  const observedOf = (rev: string | undefined): ObservedDeployment | undefined => input.observed.find((d) => d.revision === rev);
  let requeueAfterMs: number | undefined;
  const requeue = (ms: number): void => {
    requeueAfterMs = requeueAfterMs === undefined ? ms : Math.min(requeueAfterMs, ms);
  };
  // The size of the model: spec.replicas (the scale subresource), or the built-in autoscaler's decision.
  let autoscaling = old.autoscaling;
  let total = spec.replicas;
  if (spec.autoscaling) {
    const policy = spec.autoscaling;
    const clamp = (n: number): number => Math.min(policy.maxReplicas, Math.max(policy.minReplicas, n));
    const current = clamp(autoscaling?.desiredReplicas ?? policy.minReplicas);
    if (input.load) {
      const r = recommend({
        policy,
        current,
        ...(input.load.requestRate !== undefined ? { requestRate: input.load.requestRate } : {}),
        ...(input.load.p99 !== undefined ? { p99: input.load.p99 } : {}),
        history: (autoscaling?.recommendations ?? []).map((h) => ({ at: Date.parse(h.at), replicas: h.replicas })),
        now,
      });
      autoscaling = { desiredReplicas: r.desired, reason: r.reason, lastCheckAt: nowIso, recommendations: r.history.map((h) => ({ at: iso(h.at), replicas: h.replicas })) };
      if (r.desired !== current) events.push({ type: 'Normal', reason: Reason.Scaled, message: `scaled from ${current} to ${r.desired} replicas: ${r.reason}` });
    }
    total = clamp(autoscaling?.desiredReplicas ?? current);
    const last = autoscaling?.lastCheckAt ? Date.parse(autoscaling.lastCheckAt) : now;
    requeue(Math.max(1, last + AUTOSCALE_INTERVAL_MS - now));
  }
  const gateway = spec.rollout.trafficRouting.type === 'GatewayAPI';
  const split = (weight: number): ReplicaSplit => (gateway ? gatewaySplit(total, weight) : splitReplicas(total, weight));
  const freeze = activeFreeze(spec.rollout.freezeWindows, now);
  // A rolled-back canary leaves only once the revision taking over has a ready pod (after a
  // canary analysis it always has; after a drift rollback the previous revision starts from zero).
  const stableServes = (): boolean => (observedOf(stable?.name)?.readyReplicas ?? 0) > 0;

  let stable: Revision | undefined = old.stable;
  let previous: Revision | undefined = old.previous;
  let canary: Revision | undefined = old.canary;
  let state: RolloutState = {
    stepIndex: old.currentStepIndex ?? 0,
    stepStartedAt: old.stepStartedAt ? Date.parse(old.stepStartedAt) : now,
    weight: old.canaryWeight ?? 0,
  };
  let rolloutStartedAt = old.rolloutStartedAt;
  let conditions: Condition[] = [...(old.conditions ?? [])];
  let replicasFor: Record<string, number> = {};
  let analysis: AnalysisStatus | undefined = old.analysis;
  const prior = rolledBackCondition(old);
  let rollback: { reason: string; message: string } | undefined = prior ? { reason: prior.reason, message: withoutRetryHint(prior.message) } : undefined;
  let waitingNote: string | undefined;
  let progress: { reason: string; message: string } | undefined;

  if (!stable) {
    // The first revision of a new ModelDeployment goes straight to stable.
    stable = revInfo(desiredRev);
    events.push({ type: 'Normal', reason: Reason.NewRevision, message: `serving model ${spec.model.version} as revision ${desiredRev}${who}` });
  }
  // The stable signature is what every later canary is compared with.
  if (!stable.signature) {
    const read = sigOf(stable.name);
    if (isSignature(read)) stable = { ...stable, signature: read };
    else if (read) waitingNote = `cannot read the model signature of revision ${stable.name}: ${read.error}`;
  }

  const startsNew = stable.name !== desiredRev && (!canary || canary.name !== desiredRev);
  if (stable.name === desiredRev) {
    if (canary) {
      record(canary, 'Aborted', `the spec returned to the stable revision ${stable.name}`);
      events.push({ type: 'Normal', reason: Reason.RolloutAborted, message: `rollout of ${canary.version} (${canary.name}) dropped: the spec returned to the stable revision${who}` });
      canary = undefined;
    }
    rollback = undefined;
    analysis = undefined;
    replicasFor = { [stable.name]: total };
  } else if (startsNew && freeze && !canary) {
    // No new canary starts in a freeze window; the stable revision serves on.
    replicasFor = { [stable.name]: total };
    progress = { reason: Reason.FreezeWindow, message: `new revision ${spec.model.version} (${desiredRev}) waits: ${describeFreeze(freeze)}` };
    requeue(Math.max(1_000, Math.min(freeze.until - now, FREEZE_POLL_MS)));
  } else {
    if (startsNew && !freeze) {
      // A canary already rolled back has its history entry: superseding it adds none.
      if (canary && !rollback) {
        record(canary, 'Aborted', `superseded by revision ${desiredRev}`);
        events.push({ type: 'Normal', reason: Reason.RolloutAborted, message: `rollout of ${canary.version} (${canary.name}) superseded by ${spec.model.version} (${desiredRev})` });
      }
      canary = revInfo(desiredRev);
      state = { stepIndex: 0, stepStartedAt: now, weight: weightAt(spec.rollout.steps, 0) };
      rolloutStartedAt = nowIso;
      rollback = undefined;
      analysis = undefined;
      events.push({ type: 'Normal', reason: Reason.NewRevision, message: `rolling out model ${spec.model.version} as canary revision ${desiredRev}${who}` });
    }
    const c = canary!;
    if (rollback && freshCommand === 'retry') {
      state = { stepIndex: 0, stepStartedAt: now, weight: weightAt(spec.rollout.steps, 0) };
      rolloutStartedAt = nowIso;
      rollback = undefined;
      analysis = undefined;
      // A retry judges the revision afresh, schema gate included.
      canary = { ...c };
      delete canary.signature;
      events.push({ type: 'Normal', reason: Reason.RetryRequested, message: `retrying the rollout of ${c.version} (${c.name})` });
    }
    if (freshCommand === 'resume' && analysis) {
      analysis = { ...analysis, consecutiveInconclusive: 0 };
      events.push({ type: 'Normal', reason: Reason.ResumeRequested, message: `resumed by user; the analysis starts counting inconclusive rounds afresh` });
    }
    const rollBack = (reason: string, message: string, outcome: HistoryEntry['outcome']): void => {
      record(canary!, outcome, message);
      events.push({ type: 'Warning', reason, message: `${message}; traffic is back on ${stable!.version}${who}` });
      rollback = { reason, message };
      state = { ...state, weight: 0 };
    };

    // The schema gate: before any traffic, the canary's own signature against stable's.
    if (!rollback && !canary!.signature) {
      const read = sigOf(canary!.name);
      const mode = spec.rollout.schemaCheck;
      if (isSignature(read)) {
        if (mode !== 'Off' && !stable.signature) {
          waitingNote = `schema check waits for the stable revision's signature`;
        } else {
          const verdict = mode === 'Off' ? ({ compatible: true } as const) : compareSignatures(stable.signature!, read, mode);
          if (verdict.compatible) {
            canary = { ...canary!, signature: read };
            events.push({ type: 'Normal', reason: Reason.SchemaCheckPassed, message: `canary ${canary.version} passed the schema check (${mode}); admitting its pods` });
          } else {
            rollBack(Reason.SchemaIncompatible, `schema check (${mode}) rejected ${canary!.version} (${canary!.name}): ${verdict.differences.join('; ')}`, 'RolledBack');
          }
        }
      } else if (read) {
        waitingNote = `cannot read the canary's model signature yet: ${read.error}`;
      }
    }

    // The analysis round taken for this reconcile, if one was due.
    if (!rollback && input.analysisRound && analysisSpec) {
      const round = evaluateRound(metrics, input.analysisRound, { minSamples: analysisSpec.minSamples, now: nowIso });
      const before = { failures: analysis?.failures ?? 0, consecutiveInconclusive: analysis?.consecutiveInconclusive ?? 0 };
      const d = decide(before, round.verdict, { failureLimit: analysisSpec.failureLimit, inconclusiveLimit: analysisSpec.inconclusiveLimit });
      analysis = {
        failures: d.counters.failures,
        inconclusive: (analysis?.inconclusive ?? 0) + (round.verdict === 'Inconclusive' ? 1 : 0),
        consecutiveInconclusive: d.counters.consecutiveInconclusive,
        lastRoundAt: nowIso,
        lastVerdict: round.verdict,
        measurements: round.measurements,
      };
      const failedText = round.failed.map(describeFailure).join('; ');
      if (d.action === 'Rollback') {
        rollBack(Reason.AnalysisFailed, `analysis failed ${d.counters.failures} time(s), more than failureLimit ${analysisSpec.failureLimit}: ${failedText}`, 'RolledBack');
      } else if (round.verdict === 'Fail') {
        events.push({ type: 'Warning', reason: Reason.AnalysisFailed, message: `analysis round failed (${d.counters.failures} of ${analysisSpec.failureLimit} tolerated): ${failedText}` });
      } else if (d.action === 'Pause' && before.consecutiveInconclusive <= analysisSpec.inconclusiveLimit) {
        const why = round.measurements.filter((m) => m.verdict === 'Inconclusive').map((m) => `${m.metric}: ${m.reason ?? 'inconclusive'}`).join('; ');
        events.push({ type: 'Warning', reason: Reason.AnalysisInconclusive, message: `rollout paused after ${d.counters.consecutiveInconclusive} inconclusive analysis rounds in a row (${why}); annotate ${ANNOTATION_COMMAND}=resume to go on` });
      }
    }

    const canaryObs = observedOf(canary!.name);
    const canaryFull = !!canaryObs && canaryObs.upToDate && canaryObs.specReplicas === total && canaryObs.readyReplicas >= total;
    const promoteNowOrGrow = (message: string, reason: string): void => {
      state = { stepIndex: spec.rollout.steps.length, stepStartedAt: state.stepIndex >= spec.rollout.steps.length && state.weight === 100 ? state.stepStartedAt : now, weight: 100 };
      if (!canaryFull) {
        // Promotion: the canary grows to full size first, the old stable keeps its pods until then.
        replicasFor = { [stable!.name]: observedOf(stable!.name)?.specReplicas ?? total, [canary!.name]: total };
        requeue(POLL_MS);
        return;
      }
      record(canary!, 'Promoted', message);
      events.push({ type: 'Normal', reason, message: `promoted ${canary!.version} (${canary!.name}) to stable: ${message}${who}` });
      previous = stable;
      stable = canary;
      canary = undefined;
      analysis = undefined;
      replicasFor = { [stable!.name]: total };
    };
    const promoting = state.stepIndex >= spec.rollout.steps.length && state.weight === 100;
    const inconclusivePaused =
      analysisSpec && (analysis?.consecutiveInconclusive ?? 0) > analysisSpec.inconclusiveLimit
        ? `paused: ${analysis!.consecutiveInconclusive} inconclusive analysis rounds in a row (limit ${analysisSpec.inconclusiveLimit}); annotate ${ANNOTATION_COMMAND}=resume to go on`
        : undefined;
    const lastRound = analysis?.lastRoundAt ? Date.parse(analysis.lastRoundAt) : 0;
    const analysisPassing = metrics.length === 0 || (analysis?.lastVerdict === 'Pass' && lastRound > state.stepStartedAt);

    if (rollback) {
      state = { ...state, weight: 0 };
    } else if (promoting) {
      if (freshCommand === 'abort') rollBack(Reason.RolloutAborted, 'rollout aborted by user during promotion', 'Aborted');
      else promoteNowOrGrow('all steps completed', Reason.Promoted);
    } else {
      const want = split(state.weight);
      const canaryReady = admitted(spec, canary) && !!canaryObs && canaryObs.upToDate && canaryObs.specReplicas === want.canary && canaryObs.readyReplicas >= want.canary;
      const command = freshCommand === 'promote' || freshCommand === 'promote-full' || freshCommand === 'abort' ? freshCommand : undefined;
      const decision = nextStep({
        steps: spec.rollout.steps,
        riskTier: card?.riskTier ?? 'medium',
        state,
        canaryReady,
        paused,
        frozen: !!freeze,
        analysisPassing,
        ...(inconclusivePaused ? { analysisPaused: inconclusivePaused } : {}),
        ...(command ? { command } : {}),
        now,
      });
      switch (decision.kind) {
        case 'Hold': {
          const deadline = spec.rollout.progressDeadlineSeconds * 1000;
          if (!canaryReady && !freeze && !paused && now - state.stepStartedAt > deadline) {
            const why = waitingNote ? `: ${waitingNote}` : '';
            rollBack(Reason.ProgressDeadlineExceeded, `canary ${canary!.version} (${canary!.name}) was not ready within progressDeadlineSeconds (${spec.rollout.progressDeadlineSeconds}s)${why}`, 'RolledBack');
            break;
          }
          if (decision.requeueAfterMs !== undefined) requeue(decision.requeueAfterMs);
          if (!canaryReady) requeue(Math.max(1, state.stepStartedAt + deadline - now + 1));
          progress = { reason: decision.reason, message: waitingNote && !canaryReady ? `${decision.message} (${waitingNote})` : decision.message };
          if (freeze) progress = { reason: Reason.FreezeWindow, message: `rollout frozen at step ${state.stepIndex + 1}: ${describeFreeze(freeze)}` };
          break;
        }
        case 'Advance':
          state = decision.state;
          events.push({ type: 'Normal', reason: Reason.StepAdvanced, message: decision.message });
          requeue(0);
          break;
        case 'Abort':
          rollBack(Reason.RolloutAborted, decision.message, 'Aborted');
          break;
        case 'Promote':
          promoteNowOrGrow(decision.message, Reason.Promoted);
          break;
      }
      if (!rollback && canary && Object.keys(replicasFor).length === 0) {
        const next = split(state.weight);
        replicasFor = { [stable.name]: next.stable, [canary.name]: next.canary };
      }
    }
    if (rollback && canary) replicasFor = { [stable.name]: total, [canary.name]: stableServes() ? 0 : (observedOf(canary.name)?.specReplicas ?? 0) };
    // Keep measuring on time while a canary serves.
    if (!rollback && admitted(spec, canary) && analysisSpec && metrics.length > 0) {
      const last = analysis?.lastRoundAt ? Date.parse(analysis.lastRoundAt) : now;
      requeue(Math.max(1, last + analysisSpec.intervalSeconds * 1000 - now));
    }
  }

  // After promotion: the stable revision's health, and the configured action once per cooldown.
  let monitoring = spec.monitoring?.drift ? old.monitoring : undefined;
  const jobs: V1Job[] = [];
  let driftCondition: { status: 'True' | 'False'; reason: string; message: string } | undefined;
  const drift = spec.monitoring?.drift;
  if (drift && input.health) {
    const a = assessHealth(drift, input.health);
    monitoring = { ...monitoring, lastCheckAt: nowIso, measurements: healthMeasurements(drift, input.health, a.breaches.map((b) => b.kind), nowIso) };
    const first = a.breaches[0];
    if (first) {
      const message = `stable ${stable.version} (${stable.name}): ${a.breaches.map((b) => b.message).join('; ')}`;
      driftCondition = { status: 'True', reason: first.kind, message };
      const retraining = spec.monitoring?.retraining;
      const cooldown = drift.action === 'Retrain' && retraining ? retraining.cooldownSeconds : drift.cooldownSeconds;
      if (shouldFire(monitoring.lastActionAt ? Date.parse(monitoring.lastActionAt) : undefined, cooldown, now)) {
        monitoring = { ...monitoring, lastActionAt: nowIso, lastAction: drift.action };
        events.push({ type: 'Warning', reason: first.kind, message });
        if (drift.action === 'Retrain' && retraining) {
          const job = retrainJob(retraining.jobTemplate, {
            owner,
            modelName: spec.model.name ?? owner.name,
            revision: stable.name,
            version: stable.version,
            uri: stable.uri,
            ...(stable.sha256 ? { sha256: stable.sha256 } : {}),
            reason: first.kind,
            message,
            slot: Math.floor(now / (cooldown * 1000)),
          });
          jobs.push(job);
          monitoring = { ...monitoring, lastJob: job.metadata!.name! };
          events.push({ type: 'Normal', reason: Reason.RetrainingStarted, message: `started retraining Job ${job.metadata!.name!} for ${first.kind}` });
        } else if (drift.action === 'Rollback') {
          const prev = previous && observedOf(previous.name) && previous.name !== stable.name ? previous : undefined;
          if (!prev) {
            events.push({ type: 'Warning', reason: Reason.DriftRollback, message: `drift action Rollback: no previous revision is kept to roll back to; alerting only` });
          } else if (!canary) {
            // The drifting revision becomes a rolled-back canary of the spec; the previous one serves again.
            const drifted = stable;
            const msg = `rolled back from ${drifted.version} (${drifted.name}) to ${prev.version} (${prev.name}): ${first.kind}: ${a.breaches.map((b) => b.message).join('; ')}`;
            record(drifted, 'RolledBack', msg);
            events.push({ type: 'Warning', reason: Reason.DriftRollback, message: msg });
            stable = prev;
            previous = undefined;
            canary = drifted;
            rollback = { reason: Reason.DriftRollback, message: msg };
            state = { stepIndex: 0, stepStartedAt: now, weight: 0 };
            replicasFor = { [prev.name]: total, [drifted.name]: observedOf(drifted.name)?.specReplicas ?? total };
            requeue(POLL_MS);
          }
        }
      }
    } else if (!a.inconclusive && a.unjudged.length === 0) {
      driftCondition = { status: 'False', reason: Reason.Healthy, message: `stable ${stable.version} (${stable.name}) is within its drift, data-quality, accuracy and error bounds` };
    }
  }
  if (drift) {
    const last = monitoring?.lastCheckAt ? Date.parse(monitoring.lastCheckAt) : now;
    if (!canary || rollback) requeue(Math.max(1, last + drift.intervalSeconds * 1000 - now));
  }
  // The revision before the last promotion stays, at zero, for a drift rollback.
  if (previous && previous.name !== stable.name && !(previous.name in replicasFor) && observedOf(previous.name)) replicasFor[previous.name] = 0;
  if (previous && !observedOf(previous.name) && !(previous.name in replicasFor)) previous = undefined;

  // Objects.
  const deployments: V1Deployment[] = [];
  const scales: { name: string; replicas: number }[] = [];
  for (const [rev, n] of Object.entries(replicasFor)) {
    // The stable revision of an older spec keeps its Deployment as it is: only its size changes.
    const obs = observedOf(rev);
    // (An older revision whose Deployment vanished cannot be rebuilt from this spec: it stays gone.)
    if (rev === desiredRev) deployments.push(servingDeployment(owner, spec, rev, n, { defaultImage: input.defaultImage }));
    else if (obs) scales.push({ name: obs.name, replicas: n });
  }
  const keep = new Set(Object.keys(replicasFor));
  const deleteDeployments = input.observed.filter((d) => !keep.has(d.revision)).map((d) => d.name);
  const rolling = !!canary && !rollback;
  // Without a rollout the canary Service follows the stable revision, so a Gateway API route
  // that still weighs it after a promotion never points at nothing.
  const services = servingServices(owner, { stable: stable.name, canary: rolling ? canary!.name : stable.name });
  const shadow =
    rolling && admitted(spec, canary) && input.canaryServiceIP && analysisSpec && metrics.some((m) => m.kind === 'PredictionAgreement')
      ? { url: `http://${input.canaryServiceIP}`, sampleRate: analysisSpec.shadowSampleRate, revision: canary!.name }
      : undefined;
  const configMaps = [routingConfigMap(owner, shadow)];

  // Readiness gates: a revision's pods are admitted once its gates passed; a rolled-back
  // canary's pods are taken out first, at the speed of an EndpointSlice update.
  const podGates: PodGate[] = [];
  for (const pod of pods) {
    if (pod.deleting) continue;
    if (canary && pod.revision === canary.name && rollback) {
      if (pod.admitted !== 'False' && stableServes()) podGates.push({ pod: pod.name, status: 'False', reason: rollback.reason, message: rollback.message.slice(0, 1024) });
    } else if (pod.revision === stable.name ? admitted(spec, stable) : canary && pod.revision === canary.name && admitted(spec, canary)) {
      if (pod.admitted !== 'True') podGates.push({ pod: pod.name, status: 'True', reason: Reason.Admitted, message: 'the revision passed its gates' });
    }
  }
  podGates.sort((a, b) => (a.status === b.status ? 0 : a.status === 'False' ? -1 : 1));

  // Status.
  const stableObs = observedOf(stable.name);
  const stableWant = replicasFor[stable.name] ?? 0;
  const stableReady = !!stableObs && stableObs.upToDate && stableObs.readyReplicas >= stableWant && stableObs.specReplicas === stableWant;
  const set = (type: string, status: 'True' | 'False', reason: string, message: string): void => {
    conditions = setCondition(conditions, { type, status, reason, message, observedGeneration: input.generation }, nowIso);
  };
  if (driftCondition) set(ConditionType.DriftDetected, driftCondition.status, driftCondition.reason, driftCondition.message);
  if (!drift) conditions = conditions.filter((c) => c.type !== ConditionType.DriftDetected);
  const wasFrozen = getCondition(old.conditions, ConditionType.Progressing)?.reason === Reason.FreezeWindow;
  if (progress?.reason === Reason.FreezeWindow && !wasFrozen) events.push({ type: 'Normal', reason: Reason.FreezeWindow, message: progress.message });
  if (rollback && canary) {
    const msg = `${rollback.message}${retryHint(stable.version)}`;
    set(ConditionType.Stalled, 'True', rollback.reason, msg);
    set(ConditionType.Degraded, 'True', rollback.reason, msg);
    set(ConditionType.Progressing, 'False', rollback.reason, msg);
    set(ConditionType.Reconciling, 'False', rollback.reason, msg);
    set(ConditionType.Ready, 'False', rollback.reason, msg);
  } else {
    set(ConditionType.Stalled, 'False', Reason.NoRollout, 'nothing is stuck');
    set(ConditionType.Degraded, 'False', stableReady ? Reason.Available : Reason.Unavailable, stableReady ? 'the stable revision is available' : 'the stable revision is not fully ready');
    if (rolling) {
      const where = `canary ${canary!.version} at weight ${state.weight}, step ${Math.min(state.stepIndex + 1, spec.rollout.steps.length)} of ${spec.rollout.steps.length}`;
      set(ConditionType.Progressing, 'True', progress?.reason ?? Reason.RolloutInProgress, progress ? `${where}: ${progress.message}` : where);
      set(ConditionType.Reconciling, 'True', Reason.RolloutInProgress, 'a rollout is in progress');
      set(ConditionType.Ready, 'False', Reason.RolloutInProgress, 'a rollout is in progress');
    } else {
      if (progress) set(ConditionType.Progressing, 'False', progress.reason, progress.message);
      else set(ConditionType.Progressing, 'False', Reason.RolloutComplete, `stable ${stable.version} (${stable.name}) serves all traffic`);
      const notReady = waitingNote ? `waiting for the stable revision to be ready (${waitingNote})` : 'waiting for the stable revision to be ready';
      set(ConditionType.Reconciling, stableReady ? 'False' : 'True', stableReady ? Reason.Available : Reason.Converging, stableReady ? 'reconciled' : notReady);
      set(ConditionType.Ready, stableReady ? 'True' : 'False', stableReady ? Reason.Available : Reason.Unavailable, stableReady ? `${stable.version} is serving` : notReady);
    }
    if (!stableReady) requeue(POLL_MS);
  }

  const status: ModelDeploymentStatus = {
    observedGeneration: input.generation,
    phase: derivePhase(conditions, paused || (rolling && progress?.reason === Reason.AnalysisInconclusive)),
    conditions,
    stable,
    ...(canary ? { canary } : {}),
    ...(previous ? { previous } : {}),
    canaryWeight: canary ? state.weight : 0,
    ...(canary ? { currentStepIndex: state.stepIndex, stepStartedAt: iso(state.stepStartedAt), ...(rolloutStartedAt ? { rolloutStartedAt } : {}) } : {}),
    ...(rawCommand !== undefined ? { lastCommand: rawCommand } : old.lastCommand !== undefined ? { lastCommand: old.lastCommand } : {}),
    ...(canary && analysis ? { analysis } : {}),
    ...(monitoring ? { monitoring } : {}),
    ...(spec.autoscaling && autoscaling ? { autoscaling } : {}),
    replicas: input.observed.reduce((n, d) => n + d.replicas, 0),
    readyReplicas: input.observed.reduce((n, d) => n + d.readyReplicas, 0),
    selector: podSelector(owner.name),
    ...(history.length ? { history } : {}),
  };
  return {
    deployments,
    scales,
    services,
    configMaps,
    podGates,
    ...(gateway ? { routeWeight: rolling && admitted(spec, canary) ? state.weight : 0 } : {}),
    deleteDeployments,
    jobs,
    status,
    events,
    ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
  };
}

// The reconcile plan: from a ModelDeployment and what exists, the objects that should exist,
// the status to write, the Events to emit and when to look again. Pure — no client, no clock
// (now is an input) — so every rollout path is a table test.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import type { ModelDeploymentSpec, ModelDeploymentStatus } from '../api/schema.ts';
import { servingDeployment, type Owner } from '../resources/deployment.ts';
import { podSelector } from '../resources/labels.ts';
import { revisionHash } from '../resources/revision.ts';
import { servingServices } from '../resources/services.ts';
import { splitReplicas } from '../rollout/replicas.ts';
import { nextStep, weightAt, type RolloutState } from '../rollout/steps.ts';
import { derivePhase, getCondition, setCondition, type Condition } from './conditions.ts';
import { ANNOTATION_COMMAND, ANNOTATION_PAUSED, ConditionType, Reason } from './reasons.ts';

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

/** Input of plan(). */
export interface PlanInput {
  owner: Owner;
  generation: number;
  annotations: Record<string, string>;
  spec: ModelDeploymentSpec;
  status: ModelDeploymentStatus;
  observed: ObservedDeployment[];
  now: number;
  defaultImage: string;
}

/** A Kubernetes Event to emit. */
export interface PlannedEvent {
  type: 'Normal' | 'Warning';
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
  /** Owned serving Deployments that must go. */
  deleteDeployments: string[];
  status: ModelDeploymentStatus;
  events: PlannedEvent[];
  requeueAfterMs?: number;
}

type Revision = NonNullable<ModelDeploymentStatus['stable']>;
type HistoryEntry = NonNullable<ModelDeploymentStatus['history']>[number];

const HISTORY_LIMIT = 20;
const POLL_MS = 2_000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Computes the plan. */
export function plan(input: PlanInput): Plan {
  const { spec, owner, now } = input;
  const nowIso = iso(now);
  const events: PlannedEvent[] = [];
  const card = spec.modelCard;
  const who = card ? ` (owner ${card.owner}, risk tier ${card.riskTier})` : '';
  const desiredRev = revisionHash(spec, input.defaultImage);
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
  const total = spec.autoscaling ? Math.max(spec.autoscaling.minReplicas, observedOf(old.stable?.name)?.specReplicas ?? 0) : spec.replicas;

  let stable: Revision | undefined = old.stable;
  let canary: Revision | undefined = old.canary;
  let state: RolloutState = {
    stepIndex: old.currentStepIndex ?? 0,
    stepStartedAt: old.stepStartedAt ? Date.parse(old.stepStartedAt) : now,
    weight: old.canaryWeight ?? 0,
  };
  let rolloutStartedAt = old.rolloutStartedAt;
  let conditions: Condition[] = [...(old.conditions ?? [])];
  let requeueAfterMs: number | undefined;
  let replicasFor: Record<string, number> = {};
  let aborted = getCondition(conditions, ConditionType.Stalled)?.status === 'True' && getCondition(conditions, ConditionType.Stalled)?.reason === Reason.RolloutAborted;

  if (!stable) {
    // The first revision of a new ModelDeployment goes straight to stable.
    stable = revInfo(desiredRev);
    events.push({ type: 'Normal', reason: Reason.NewRevision, message: `serving model ${spec.model.version} as revision ${desiredRev}${who}` });
  }

  if (stable.name === desiredRev) {
    if (canary) {
      record(canary, 'Aborted', `the spec returned to the stable revision ${stable.name}`);
      events.push({ type: 'Normal', reason: Reason.RolloutAborted, message: `rollout of ${canary.version} (${canary.name}) dropped: the spec returned to the stable revision${who}` });
      canary = undefined;
    }
    aborted = false;
    replicasFor = { [stable.name]: total };
  } else {
    if (!canary || canary.name !== desiredRev) {
      if (canary) {
        record(canary, 'Aborted', `superseded by revision ${desiredRev}`);
        events.push({ type: 'Normal', reason: Reason.RolloutAborted, message: `rollout of ${canary.version} (${canary.name}) superseded by ${spec.model.version} (${desiredRev})` });
      }
      canary = revInfo(desiredRev);
      state = { stepIndex: 0, stepStartedAt: now, weight: weightAt(spec.rollout.steps, 0) };
      rolloutStartedAt = nowIso;
      aborted = false;
      events.push({ type: 'Normal', reason: Reason.NewRevision, message: `rolling out model ${spec.model.version} as canary revision ${desiredRev}${who}` });
    }
    if (aborted && freshCommand === 'retry') {
      state = { stepIndex: 0, stepStartedAt: now, weight: weightAt(spec.rollout.steps, 0) };
      rolloutStartedAt = nowIso;
      aborted = false;
      events.push({ type: 'Normal', reason: Reason.RetryRequested, message: `retrying the rollout of ${canary.version} (${canary.name})` });
    }
    const canaryObs = observedOf(canary.name);
    const canaryFull = !!canaryObs && canaryObs.upToDate && canaryObs.specReplicas === total && canaryObs.readyReplicas >= total;
    // Promotion: the canary grows to full size first, the old stable keeps its pods until then.
    const promoteNowOrGrow = (message: string, reason: string): void => {
      state = { stepIndex: spec.rollout.steps.length, stepStartedAt: state.stepIndex >= spec.rollout.steps.length && state.weight === 100 ? state.stepStartedAt : now, weight: 100 };
      if (!canaryFull) {
        replicasFor = { [stable!.name]: observedOf(stable!.name)?.specReplicas ?? total, [canary!.name]: total };
        requeueAfterMs = POLL_MS;
        return;
      }
      record(canary!, 'Promoted', message);
      events.push({ type: 'Normal', reason, message: `promoted ${canary!.version} (${canary!.name}) to stable: ${message}${who}` });
      stable = canary;
      canary = undefined;
      replicasFor = { [stable!.name]: total };
    };
    const abortNow = (message: string): void => {
      record(canary!, 'Aborted', message);
      events.push({ type: 'Warning', reason: Reason.RolloutAborted, message: `${message}; traffic is back on ${stable!.version}${who}` });
      aborted = true;
      state = { ...state, weight: 0 };
      replicasFor = { [stable!.name]: total, [canary!.name]: 0 };
    };
    const promoting = state.stepIndex >= spec.rollout.steps.length && state.weight === 100;
    if (aborted) {
      state = { ...state, weight: 0 };
      replicasFor = { [stable.name]: total, [canary.name]: 0 };
    } else if (promoting) {
      if (freshCommand === 'abort') abortNow('rollout aborted by user during promotion');
      else promoteNowOrGrow('all steps completed', Reason.Promoted);
    } else {
      const split = splitReplicas(total, state.weight);
      const canaryReady = !!canaryObs && canaryObs.upToDate && canaryObs.specReplicas === split.canary && canaryObs.readyReplicas >= split.canary;
      const command = freshCommand === 'promote' || freshCommand === 'promote-full' || freshCommand === 'abort' ? freshCommand : undefined;
      const decision = nextStep({ steps: spec.rollout.steps, riskTier: card?.riskTier ?? 'medium', state, canaryReady, paused, frozen: false, ...(command ? { command } : {}), now });
      switch (decision.kind) {
        case 'Hold':
          requeueAfterMs = decision.requeueAfterMs;
          replicasFor = { [stable.name]: split.stable, [canary.name]: split.canary };
          break;
        case 'Advance': {
          state = decision.state;
          events.push({ type: 'Normal', reason: Reason.StepAdvanced, message: decision.message });
          const next = splitReplicas(total, state.weight);
          replicasFor = { [stable.name]: next.stable, [canary.name]: next.canary };
          requeueAfterMs = 0;
          break;
        }
        case 'Abort':
          abortNow(decision.message);
          break;
        case 'Promote':
          promoteNowOrGrow(decision.message, Reason.Promoted);
          break;
      }
    }
  }

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
  const services = servingServices(owner, { stable: stable.name, ...(canary && !aborted ? { canary: canary.name } : {}) });

  // Status.
  const stableObs = observedOf(stable.name);
  const stableWant = replicasFor[stable.name] ?? 0;
  const stableReady = !!stableObs && stableObs.upToDate && stableObs.readyReplicas >= stableWant && stableObs.specReplicas === stableWant;
  const rolling = !!canary && !aborted;
  const set = (type: string, status: 'True' | 'False', reason: string, message: string): void => {
    conditions = setCondition(conditions, { type, status, reason, message, observedGeneration: input.generation }, nowIso);
  };
  if (aborted && canary) {
    const msg = `rollout of ${canary.version} (${canary.name}) aborted; stable ${stable.version} serves. Annotate ${ANNOTATION_COMMAND}=retry to try again, or change the spec`;
    set(ConditionType.Stalled, 'True', Reason.RolloutAborted, msg);
    set(ConditionType.Degraded, 'True', Reason.RolloutAborted, msg);
    set(ConditionType.Progressing, 'False', Reason.RolloutAborted, msg);
    set(ConditionType.Reconciling, 'False', Reason.RolloutAborted, msg);
    set(ConditionType.Ready, 'False', Reason.RolloutAborted, msg);
  } else {
    set(ConditionType.Stalled, 'False', Reason.NoRollout, 'nothing is stuck');
    set(ConditionType.Degraded, 'False', stableReady ? Reason.Available : Reason.Unavailable, stableReady ? 'the stable revision is available' : 'the stable revision is not fully ready');
    if (rolling) {
      set(ConditionType.Progressing, 'True', Reason.RolloutInProgress, `canary ${canary!.version} at weight ${state.weight}, step ${state.stepIndex + 1} of ${spec.rollout.steps.length}`);
      set(ConditionType.Reconciling, 'True', Reason.RolloutInProgress, 'a rollout is in progress');
      set(ConditionType.Ready, 'False', Reason.RolloutInProgress, 'a rollout is in progress');
    } else {
      set(ConditionType.Progressing, 'False', Reason.RolloutComplete, `stable ${stable.version} (${stable.name}) serves all traffic`);
      set(ConditionType.Reconciling, stableReady ? 'False' : 'True', stableReady ? Reason.Available : Reason.Converging, stableReady ? 'reconciled' : 'waiting for the stable revision to be ready');
      set(ConditionType.Ready, stableReady ? 'True' : 'False', stableReady ? Reason.Available : Reason.Unavailable, stableReady ? `${stable.version} is serving` : 'waiting for the stable revision to be ready');
    }
    if (!stableReady && requeueAfterMs === undefined) requeueAfterMs = POLL_MS;
  }

  const status: ModelDeploymentStatus = {
    observedGeneration: input.generation,
    phase: derivePhase(conditions, paused),
    conditions,
    stable,
    ...(canary ? { canary } : {}),
    canaryWeight: canary ? state.weight : 0,
    ...(canary ? { currentStepIndex: state.stepIndex, stepStartedAt: iso(state.stepStartedAt), ...(rolloutStartedAt ? { rolloutStartedAt } : {}) } : {}),
    ...(rawCommand !== undefined ? { lastCommand: rawCommand } : old.lastCommand !== undefined ? { lastCommand: old.lastCommand } : {}),
    replicas: input.observed.reduce((n, d) => n + d.replicas, 0),
    readyReplicas: input.observed.reduce((n, d) => n + d.readyReplicas, 0),
    selector: podSelector(owner.name),
    ...(history.length ? { history } : {}),
  };
  return { deployments, scales, services, deleteDeployments, status, events, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}

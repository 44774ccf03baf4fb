// The desired objects, derived from the decided context: serving Deployments (or only a new
// size for an older spec's revision), the Services, the routing ConfigMap, what to delete,
// and the pods' readiness gates.
import type { V1Deployment } from '@kubernetes/client-node';
import { Reason } from '../../api/reasons.ts';
import { servingDeployment } from '../../resources/deployment.ts';
import { disruptionBudgets } from '../../resources/disruptionBudget.ts';
import { routingConfigMap } from '../../resources/routingConfig.ts';
import { servingServices } from '../../resources/services.ts';
import type { ShadowRouting } from '../../../contract/routing.ts';
import { shadowAt } from '../../rollout/steps.ts';
import { servicesViaActivator } from './activation.ts';
import { admitted, observedOf, rolling, stableServes, type Plan, type PlanContext, type PodGate, type Revision } from './context.ts';

/** The revision before the last promotion stays, at zero, for a drift rollback; once gone, it is forgotten. */
export function keepPrevious(ctx: PlanContext): void {
  const prev = ctx.previous;
  if (!prev) return;
  const kept = Object.hasOwn(ctx.replicas, prev.name);
  if (prev.name !== ctx.stable.name && !kept && observedOf(ctx, prev.name)) ctx.replicas[prev.name] = 0;
  if (!observedOf(ctx, prev.name) && !kept) ctx.previous = undefined;
}

/** The objects that should exist, sized by ctx.replicas. */
export function desiredObjects(ctx: PlanContext): Pick<Plan, 'deployments' | 'scales' | 'deleteDeployments' | 'disruptionBudgets' | 'services' | 'configMaps' | 'routeWeight'> {
  const { input, spec } = ctx;
  const deployments: V1Deployment[] = [];
  const scales: Plan['scales'] = [];
  for (const [rev, n] of Object.entries(ctx.replicas)) {
    // The stable revision of an older spec keeps its Deployment as it is: only its size changes.
    // (An older revision whose Deployment vanished cannot be rebuilt from this spec: it stays gone.)
    const obs = observedOf(ctx, rev);
    if (rev === ctx.desiredRev) deployments.push(servingDeployment(input.owner, spec, rev, n, { defaultImage: input.defaultImage }));
    else if (obs) scales.push({ name: obs.name, replicas: n });
  }
  const deleteDeployments = input.observed.filter((d) => !Object.hasOwn(ctx.replicas, d.revision)).map((d) => d.name);
  const canary = rolling(ctx) ? ctx.canary : undefined;
  // A rolled-back canary keeps its traffic until the revision taking over has a ready pod
  // (after a drift rollback that revision starts from zero): the pod gates hold for replica
  // ratio, the canary Service and a full route weight hold for a Gateway API route.
  const holding = ctx.rolledBack && ctx.canary && !stableServes(ctx) ? ctx.canary : undefined;
  // Clients of the Service over all revisions reach the canary only once it has weight: at
  // weight 0 (a dark launch, the gates before the first setWeight) it sees mirrored requests only.
  const clientsReachCanary = (!!canary && ctx.step.weight > 0) || !!holding;
  // Without a rollout the canary Service follows the stable revision, so a Gateway API route
  // that still weighs it after a promotion never points at nothing.
  const services = servingServices(
    input.owner,
    { stable: ctx.stable.name, canary: (canary ?? holding)?.name ?? ctx.stable.name, ...(clientsReachCanary ? {} : { all: ctx.stable.name }) },
    servicesViaActivator(ctx),
  );
  const shadow = shadowRouting(ctx, canary);
  const routeWeight = ctx.traffic.routeWeight(holding ? 100 : admitted(spec, canary) ? ctx.step.weight : 0);
  // Older revisions keep their Deployment only if observed; a budget for one that is gone would select nothing.
  const budgeted = Object.fromEntries(Object.entries(ctx.replicas).filter(([rev]) => rev === ctx.desiredRev || observedOf(ctx, rev)));
  return { deployments, scales, deleteDeployments, disruptionBudgets: disruptionBudgets(input.owner, budgeted), services, configMaps: [routingConfigMap(input.owner, shadow)], ...(routeWeight !== undefined ? { routeWeight } : {}) };
}

/**
 * Where stable pods mirror a sample of their requests: to an admitted canary during a shadow
 * step (at the step's rate), or while its agreement with stable is judged.
 */
function shadowRouting(ctx: PlanContext, canary: Revision | undefined): ShadowRouting | undefined {
  const { spec, input } = ctx;
  const analysis = spec.rollout.analysis;
  const dark = canary ? shadowAt(spec.rollout.steps, ctx.step.stepIndex) : undefined;
  const judgesAgreement = !!analysis?.metrics.some((m) => m.kind === 'PredictionAgreement');
  const sampleRate = dark?.sampleRate ?? (judgesAgreement ? analysis?.shadowSampleRate : undefined);
  if (!admitted(spec, canary) || !input.canaryServiceIP || sampleRate === undefined) return undefined;
  return { url: `http://${input.canaryServiceIP}`, sampleRate, revision: canary.name };
}

/**
 * Readiness gates: a revision's pods are admitted once its gates passed; a rolled-back
 * canary's pods are taken out first, at the speed of an EndpointSlice update.
 */
export function podGates(ctx: PlanContext): PodGate[] {
  const { spec, stable, canary, rolledBack } = ctx;
  const gates: PodGate[] = [];
  for (const pod of ctx.input.pods ?? []) {
    if (pod.deleting) continue;
    const isCanary = !!canary && pod.revision === canary.name;
    if (isCanary && rolledBack) {
      if (pod.admitted !== 'False' && stableServes(ctx)) gates.push({ pod: pod.name, status: 'False', reason: rolledBack.reason, message: rolledBack.message.slice(0, 1024) });
    } else if (pod.revision === stable.name ? admitted(spec, stable) : isCanary && admitted(spec, canary)) {
      if (pod.admitted !== 'True') gates.push({ pod: pod.name, status: 'True', reason: Reason.Admitted, message: 'the revision passed its gates' });
    }
  }
  // False first: traffic is cut before anything else changes.
  return gates.sort((a, b) => (a.status === b.status ? 0 : a.status === 'False' ? -1 : 1));
}

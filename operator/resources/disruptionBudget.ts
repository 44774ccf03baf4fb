// Pure builder of one revision's PodDisruptionBudget: a node drain (or any eviction) takes the
// revision's serving pods one at a time, each replaced before the next goes — the way the
// chart protects the operator's own pods. Only revisions of more than one replica get one: a
// lone pod has no sibling to serve while it moves, so a budget could only block the drain.
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import { ownerReference, type Owner } from './deployment.ts';
import { LABEL_MODEL_DEPLOYMENT, LABEL_REVISION, commonLabels, revisionDeploymentName } from './labels.ts';

/** The budget of a revision's pods: at most one evicted at a time; a pod that is not Ready never blocks a drain. */
export function disruptionBudget(owner: Owner, revision: string): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {
      name: revisionDeploymentName(owner.name, revision),
      namespace: owner.namespace,
      labels: { ...commonLabels(owner.name), [LABEL_REVISION]: revision },
      ownerReferences: [ownerReference(owner)],
    },
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: { [LABEL_MODEL_DEPLOYMENT]: owner.name, [LABEL_REVISION]: revision } },
      // Pods held NotReady (a canary not yet admitted, one rolled back, one crash-looping) serve
      // nothing: evicting them costs no traffic, and counting them would stall every drain.
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}

/** The budgets a ModelDeployment should have: one per revision sized above one replica. */
export function disruptionBudgets(owner: Owner, replicas: Readonly<Record<string, number>>): V1PodDisruptionBudget[] {
  return Object.entries(replicas)
    .filter(([, n]) => n > 1)
    .map(([rev]) => disruptionBudget(owner, rev));
}

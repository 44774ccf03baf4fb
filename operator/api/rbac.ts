// The RBAC the operator needs, declared once: the Helm chart and the end-to-end suites
// grant exactly this, so a missing rule fails a test instead of a user's cluster.
import type { V1PolicyRule } from '@kubernetes/client-node';
import { GROUP, PLURAL } from './schema.ts';

/** The operator's ClusterRole rules. */
export const OPERATOR_RULES: V1PolicyRule[] = [
  { apiGroups: [GROUP], resources: [PLURAL], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
  { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ['get', 'update', 'patch'] },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'update', 'patch'] },
  { apiGroups: [''], resources: ['services', 'configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
  // The readiness gate: admitting a revision's pods, taking a rolled-back canary's out.
  { apiGroups: [''], resources: ['pods/status'], verbs: ['patch'] },
  // Retraining Jobs from spec.monitoring.retraining.jobTemplate.
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create'] },
  // GatewayAPI routing: the weights of the stable and canary backendRefs of the named HTTPRoute.
  { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['get', 'patch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
];

/** A built-in user-facing ClusterRole that aggregated roles can extend. */
export type AggregateTarget = 'view' | 'edit' | 'admin';

/** One aggregated ClusterRole for people: its rules join the built-in role `aggregateTo`. */
export interface UserRole {
  aggregateTo: AggregateTarget;
  rules: V1PolicyRule[];
}

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];

/**
 * The aggregated ClusterRoles the chart ships, as Argo Rollouts does: a namespace's `view`
 * users read ModelDeployments, its `edit` and `admin` users also create, change and delete
 * them — including the annotations that drive promote, abort, retry and pause, which is all
 * the kubectl plugin writes. Status stays the operator's: nobody's role may write it.
 */
export const USER_ROLES: UserRole[] = [
  { aggregateTo: 'view', rules: [{ apiGroups: [GROUP], resources: [PLURAL, `${PLURAL}/status`, `${PLURAL}/scale`], verbs: READ }] },
  {
    aggregateTo: 'edit',
    rules: [
      { apiGroups: [GROUP], resources: [PLURAL, `${PLURAL}/scale`], verbs: [...READ, ...WRITE] },
      { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: READ },
    ],
  },
  {
    aggregateTo: 'admin',
    rules: [
      { apiGroups: [GROUP], resources: [PLURAL, `${PLURAL}/scale`], verbs: [...READ, ...WRITE] },
      { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: READ },
    ],
  },
];

/** The label that adds a ClusterRole's rules to the built-in role `target`. */
export function aggregationLabel(target: AggregateTarget): string {
  return `rbac.authorization.k8s.io/aggregate-to-${target}`;
}

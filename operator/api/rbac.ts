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

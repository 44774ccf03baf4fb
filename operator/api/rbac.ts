// The RBAC the operator needs, declared once: the Helm chart and the end-to-end suites
// grant exactly this, so a missing rule fails a test instead of a user's cluster.
import type { V1PolicyRule } from '@kubernetes/client-node';
import { GROUP, PLURAL } from './schema.ts';

/**
 * The operator's rules in every namespace it watches: a ClusterRole by default, a Role in
 * the watched namespace with watchNamespace. Each rule names the code that needs it; a verb no
 * code path uses is not granted (the integration and e2e suites run the operator under exactly
 * these rules, so a missing one fails there). Nothing here reads Secrets: serving pods mount
 * the auth Secret themselves, by the kubelet's rights.
 */
export const OPERATOR_RULES: V1PolicyRule[] = [
  // controller/setup.ts: the ModelDeployment informer lists and watches; reconcile.ts reads one
  // object when it runs without the informers' cache. The operator never writes the spec.
  { apiGroups: [GROUP], resources: [PLURAL], verbs: ['get', 'list', 'watch'] },
  // reconcile.ts: the status write (a JSON patch guarded by resourceVersion).
  { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ['patch'] },
  // resources/deployment.ts sets blockOwnerDeletion on every owner reference; where the
  // OwnerReferencesPermissionEnforcement admission plugin runs (OpenShift, hardened clusters)
  // that needs update on the owner's finalizers. No code adds or removes a finalizer.
  { apiGroups: [GROUP], resources: [`${PLURAL}/finalizers`], verbs: ['update'] },
  // setup.ts (informer, list + watch); reconcile.ts: server-side apply of each revision's
  // Deployment (patch; create for the first apply of a new one) and delete of a revision
  // nobody needs any more.
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
  // setup.ts (informer); controller/apply.ts: server-side apply of the PodDisruptionBudget of
  // each revision above one replica (resources/disruptionBudget.ts: at most one of its own pods
  // evicted at a time, never blocking on a pod that is not Ready) and delete of one no longer
  // needed. It selects only that revision's pods.
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
  // reconcile.ts: replicas through the scale subresource (a JSON patch).
  { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['patch'] },
  // setup.ts (informers); reconcile.ts: server-side apply of the Services and the routing
  // ConfigMap, and a read of the canary Service's ClusterIP when running without the cache.
  // Owner references delete them; the operator never does.
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
  { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch', 'create', 'patch'] },
  // setup.ts (informer: the activator's slices and the EndpointSlice controller's, which carry
  // the Services' labels); controller/apply.ts: server-side apply of the EndpointSlice that
  // points a scaled-to-zero model's Services at the activator (the operator's own address,
  // resources/activatorSlice.ts), and its delete once the model's pods serve again.
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
  // setup.ts: the serving pods' informer (readiness, addresses for the signature read).
  { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
  // reconcile.ts: the siskin.dev/admitted readiness gate, set True once a revision's pod passed
  // its gates and False to take a rolled-back canary out of the endpoints at once. Needed in
  // every watched namespace: the pods live next to their ModelDeployment. A status patch can
  // change no pod's spec, image or mounts.
  { apiGroups: [''], resources: ['pods/status'], verbs: ['patch'] },
  // resources/retrainJob.ts via reconcile.ts: the retraining Job; a 409 means this cooldown
  // slot's Job exists, so no read is needed. Its pod is held to the restricted profile.
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create'] },
  // controller/apply.ts: the peer-key Secret each model's replicas share (feedback ids). Create
  // only: a 409 means it exists, so this operator never reads a Secret.
  { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  // routing/gatewayApi.ts: reads the named HTTPRoute and patches its backendRefs' weights.
  { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['get', 'patch'] },
  // reconcile.ts: one core/v1 Event per planned event (created, never updated).
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
];

/**
 * The leader-election rules (runtime/leaderElection.ts: read, create and renew one Lease), only
 * in the operator's own (release) namespace: a Role there, never cluster-wide.
 */
export const LEADER_ELECTION_RULES: V1PolicyRule[] = [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }];

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

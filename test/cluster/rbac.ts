// A ServiceAccount bound to exactly a given set of ClusterRole rules, with a kubeconfig for
// it: how suites and benchmarks run a component under the RBAC it declares.
import { RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import type { LocalCluster } from './cluster.ts';

/** Creates ClusterRole + binding named `name` for ServiceAccount namespace/name (and a Role + binding in that namespace for namespaceRules); returns its kubeconfig path. */
export async function serviceAccountWithRules(
  cluster: LocalCluster,
  opts: { namespace: string; name: string; rules: V1PolicyRule[]; namespaceRules?: V1PolicyRule[]; expirationSeconds?: number },
): Promise<string> {
  const rbac = cluster.kubeConfig().makeApiClient(RbacAuthorizationV1Api);
  await rbac.createClusterRole({ body: { metadata: { name: opts.name }, rules: opts.rules } });
  const kubeconfig = await cluster.serviceAccountKubeconfig(opts.namespace, opts.name, opts.expirationSeconds ? { expirationSeconds: opts.expirationSeconds } : {});
  // Rules only in the account's own namespace (the operator's Lease), as the chart grants them.
  if (opts.namespaceRules) {
    const namespace = opts.namespace;
    await rbac.createNamespacedRole({ namespace, body: { metadata: { name: opts.name, namespace }, rules: opts.namespaceRules } });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: opts.name, namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: opts.name },
        subjects: [{ kind: 'ServiceAccount', name: opts.name, namespace }],
      },
    });
  }
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: opts.name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: opts.name },
      subjects: [{ kind: 'ServiceAccount', name: opts.name, namespace: opts.namespace }],
    },
  });
  return kubeconfig;
}

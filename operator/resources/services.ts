// Pure builder of a ModelDeployment's Services: one over all revisions, one each for the
// stable and the canary revision (what Gateway API backendRefs and analysis queries target).
import type { V1Service } from '@kubernetes/client-node';
import { ownerReference, type Owner } from './deployment.ts';
import { LABEL_MODEL_DEPLOYMENT, LABEL_REVISION, commonLabels, serviceNames } from './labels.ts';

/**
 * The Services of a ModelDeployment: all revisions (or only `all`'s, while clients must not
 * reach a canary at weight 0), the stable one, the canary one. viaActivator (the model is at
 * zero) drops the selectors of the first two: their endpoints are then the activator's
 * EndpointSlice (activatorSlice.ts), written by the operator.
 */
export function servingServices(owner: Owner, revisions: { stable?: string; canary?: string; all?: string }, viaActivator = false): V1Service[] {
  const names = serviceNames(owner.name);
  // The Service over all revisions and the canary's take a ClusterIP (stable pods mirror shadow
  // traffic to the canary's virtual IP, balanced by kube-proxy); the stable one is headless —
  // Gateway API implementations reach its endpoints directly, and a cluster's Service range
  // is a budget.
  const svc = (name: string, revision: string | undefined, role: string): V1Service => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: owner.namespace, labels: { ...commonLabels(owner.name), 'siskin.dev/role': role }, ownerReferences: [ownerReference(owner)] },
    spec: {
      type: 'ClusterIP',
      ...(role === 'stable' ? { clusterIP: 'None' } : {}),
      ...(viaActivator && role !== 'canary' ? {} : { selector: { [LABEL_MODEL_DEPLOYMENT]: owner.name, ...(revision ? { [LABEL_REVISION]: revision } : {}) } }),
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    },
  });
  return [
    svc(names.all, revisions.all, 'all'),
    svc(names.stable, revisions.stable ?? 'none', 'stable'),
    svc(names.canary, revisions.canary ?? 'none', 'canary'),
  ];
}

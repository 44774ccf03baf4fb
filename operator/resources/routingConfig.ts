// Pure builder of the routing ConfigMap mounted into every serving pod: where stable servers
// mirror a sample of their requests during a rollout. The file's key, shape and bytes are
// contract/routing.ts, which the serving runtime parses with the same schema.
// The ConfigMap always exists, with `"shadow": null` outside a rollout, so turning shadowing
// off is an update the pods see, never a deleted file they must interpret.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { ROUTING_FILE_KEY, serializeRouting, type ShadowRouting } from '../../contract/routing.ts';
import { ownerReference, routingConfigMapName, type Owner } from './deployment.ts';
import { commonLabels } from './labels.ts';

/** The routing ConfigMap of a ModelDeployment; without shadow, mirroring is off. */
export function routingConfigMap(owner: Owner, shadow?: ShadowRouting): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: routingConfigMapName(owner.name),
      namespace: owner.namespace,
      labels: commonLabels(owner.name),
      ownerReferences: [ownerReference(owner)],
    },
    data: { [ROUTING_FILE_KEY]: serializeRouting(shadow) },
  };
}

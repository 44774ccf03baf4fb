// Pure builder of the routing ConfigMap mounted into every serving pod: where stable servers
// mirror a sample of their requests during a rollout (serving/shadow/routing.ts reads it).
// The ConfigMap always exists, with `"shadow": null` outside a rollout, so turning shadowing
// off is an update the pods see, never a deleted file they must interpret.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { ownerReference, routingConfigMapName, type Owner } from './deployment.ts';
import { commonLabels } from './labels.ts';

/** The ConfigMap key the serving pods read (SISKIN_ROUTING_FILE names it inside the mount). */
export const ROUTING_FILE_KEY = 'routing.json';

/** Where stable servers mirror traffic: the canary's base URL, the share mirrored, the canary's revision. */
export interface ShadowRouting {
  url: string;
  sampleRate: number;
  revision: string;
}

/** The routing ConfigMap of a ModelDeployment; without shadow, mirroring is off. */
export function routingConfigMap(owner: Owner, shadow?: ShadowRouting): V1ConfigMap {
  // Fields picked one by one in a fixed order: the same input always gives byte-identical
  // data, so an unchanged ConfigMap is never re-applied and pods never re-read it for nothing.
  const routing = { shadow: shadow ? { url: shadow.url, sampleRate: shadow.sampleRate, revision: shadow.revision } : null };
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: routingConfigMapName(owner.name),
      namespace: owner.namespace,
      labels: commonLabels(owner.name),
      ownerReferences: [ownerReference(owner)],
    },
    data: { [ROUTING_FILE_KEY]: `${JSON.stringify(routing)}\n` },
  };
}

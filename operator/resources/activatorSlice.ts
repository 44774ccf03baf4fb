// Pure builder of the EndpointSlice that points a model's Service at the operator's activator
// while the model is at zero (its Service then has no selector, so nothing else writes its
// endpoints). kube-proxy and Gateway API implementations route to it like to any pod.
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { isIPv6 } from 'node:net';
import { ownerReference, type Owner } from './deployment.ts';
import { commonLabels } from './labels.ts';

/** The managed-by value of the operator's EndpointSlices (the EndpointSlice controller leaves them alone). */
export const ENDPOINTSLICE_MANAGER = 'siskin.dev';
/** Label naming the Service an EndpointSlice belongs to (Kubernetes' own). */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
/** Label naming the EndpointSlice's manager (Kubernetes' own). */
export const LABEL_SLICE_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';

/** The name of the activator's EndpointSlice of a Service. */
export function activatorSliceName(service: string): string {
  return `${service}-activator`;
}

/** The EndpointSlice giving a Service one endpoint: the activator's address and this model's port. */
export function activatorSlice(owner: Owner, service: string, activator: { address: string; port: number }): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: activatorSliceName(service),
      namespace: owner.namespace,
      labels: { ...commonLabels(owner.name), [LABEL_SERVICE_NAME]: service, [LABEL_SLICE_MANAGED_BY]: ENDPOINTSLICE_MANAGER },
      ownerReferences: [ownerReference(owner)],
    },
    addressType: isIPv6(activator.address) ? 'IPv6' : 'IPv4',
    // The port is named as the Service's port: that is how kube-proxy matches a selector-less Service's endpoints.
    ports: [{ name: 'http', port: activator.port, protocol: 'TCP' }],
    endpoints: [{ addresses: [activator.address], conditions: { ready: true, serving: true, terminating: false } }],
  };
}

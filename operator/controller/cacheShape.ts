// What the informer caches keep of each object: the reconciler reads its caches only, so an
// object is kept in the shape its readers need and no larger. managedFields (often half an
// object) are read by nobody; of a Pod only what observePod() reads is kept.
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';

/** The object without metadata.managedFields (the rest as served). */
export function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata?.managedFields === undefined) return obj;
  const metadata = { ...obj.metadata };
  delete metadata.managedFields;
  return { ...obj, metadata };
}

/** A Pod as observePod() reads it: identity, labels, deletion, its IP and its conditions. */
export function podAsObserved(pod: V1Pod): V1Pod {
  const m = pod.metadata ?? {};
  const metadata: NonNullable<V1Pod['metadata']> = {};
  for (const k of ['name', 'namespace', 'uid', 'resourceVersion', 'labels', 'deletionTimestamp'] as const) if (m[k] !== undefined) Object.assign(metadata, { [k]: m[k] });
  const status: NonNullable<V1Pod['status']> = {};
  if (pod.status?.podIP !== undefined) status.podIP = pod.status.podIP;
  if (pod.status?.conditions !== undefined) status.conditions = pod.status.conditions.map(({ type, status: s }) => ({ type, status: s }));
  return { ...(pod.apiVersion ? { apiVersion: pod.apiVersion } : {}), ...(pod.kind ? { kind: pod.kind } : {}), metadata, status };
}

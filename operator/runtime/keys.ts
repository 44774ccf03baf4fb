// Queue keys: namespace/name, or name for cluster-scoped objects.
import type { KubernetesObject } from '@kubernetes/client-node';

/** The queue key of an object: namespace/name, or name for cluster-scoped objects. */
export function objectKey(obj: KubernetesObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error('object without metadata.name has no key');
  const namespace = obj.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

/** Splits a key back into namespace (empty for cluster-scoped objects) and name. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

// Maps an owned object's events to its controller owner's key by owner reference, never by name:
// a same-named object of another kind, or a non-controller owner, must not trigger a reconcile.
import type { KubernetesObject } from '@kubernetes/client-node';

/** The owner type to look for: apiVersion (group/version) and kind. */
export interface OwnerType {
  apiVersion: string;
  kind: string;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The key of obj's controller owner of the given type, or undefined when it has none. Versions of one group match, as in controller-runtime. */
export function controllerOwnerKey(obj: KubernetesObject, owner: OwnerType): string | undefined {
  const ref = obj.metadata?.ownerReferences?.find(
    (r) => r.controller === true && r.kind === owner.kind && groupOf(r.apiVersion) === groupOf(owner.apiVersion),
  );
  if (!ref) return undefined;
  // Owner references never cross namespaces: a namespaced owner lives in the object's namespace.
  const namespace = obj.metadata?.namespace;
  return namespace ? `${namespace}/${ref.name}` : ref.name;
}

/** A key mapper for Controller.watch that enqueues the controller owner of the given type. */
export function enqueueControllerOwner(owner: OwnerType): (obj: KubernetesObject) => string | undefined {
  return (obj) => controllerOwnerKey(obj, owner);
}

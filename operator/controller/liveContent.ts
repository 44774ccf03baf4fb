// Whether a live object still holds what the operator would apply. The applied-hash
// annotation says what the operator last sent, not what the object holds now: a hand edit
// of a ConfigMap's data or a Service's selector keeps the annotation and must still be undone.
import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * Whether `live` holds every value of `desired` (objects: each desired key, recursively;
 * arrays: same length, element by element; scalars: equal; an empty map or list is held by
 * an absent one). Fields the API server defaults
 * or other managers add are not the operator's, so extra live fields are fine.
 */
export function covers(live: unknown, desired: unknown): boolean {
  if (desired === undefined) return true;
  // The API server drops empty maps and lists: an empty desired one is held by an absent one.
  if ((live === undefined || live === null) && isEmpty(desired)) return true;
  if (Array.isArray(desired)) return Array.isArray(live) && live.length === desired.length && desired.every((d, i) => covers(live[i], d));
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
    const l = live as Record<string, unknown>;
    return Object.entries(desired).every(([k, v]) => covers(l[k], v));
  }
  return live === desired;
}

function isEmpty(v: unknown): boolean {
  return Array.isArray(v) ? v.length === 0 : v !== null && typeof v === 'object' && Object.keys(v).length === 0;
}

/** The parts of an object the operator states: labels, annotations, owners and the kind's content. */
function stated(o: KubernetesObject): Record<string, unknown> {
  const { labels, annotations, ownerReferences } = o.metadata ?? {};
  const { data, binaryData, spec, endpoints, ports } = o as { data?: unknown; binaryData?: unknown; spec?: unknown; endpoints?: unknown; ports?: unknown };
  return { labels, annotations, ownerReferences, data, binaryData, spec, endpoints, ports };
}

/** Whether the live object still holds everything the desired one states. */
export function liveHolds(live: KubernetesObject, desired: KubernetesObject): boolean {
  return covers(stated(live), stated(desired));
}

// A revision is identified by a hash of exactly what changes the pods: the model and the
// serving configuration — not replicas, rollout or monitoring settings, so scaling or
// retuning the analysis never starts a rollout.
import { createHash } from 'node:crypto';
import type { ModelDeploymentSpec } from '../api/schema.ts';

/** JSON with sorted keys and no undefined, so equal content always hashes equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The revision hash (10 hex chars, DNS-label safe) of a spec; defaultImage fills serving.image. */
export function revisionHash(spec: Pick<ModelDeploymentSpec, 'model' | 'serving'>, defaultImage: string): string {
  const podShaping = { model: spec.model, serving: { ...spec.serving, image: spec.serving.image ?? defaultImage } };
  return createHash('sha256').update(canonicalJson(podShaping)).digest('hex').slice(0, 10);
}

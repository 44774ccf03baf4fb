// Conditions as data: setting one keeps its lastTransitionTime unless its status changed,
// so status only changes when something did. Pure.
import type { ModelDeploymentStatus } from '../api/schema.ts';
import { ConditionType } from '../api/reasons.ts';

/** One status condition. */
export type Condition = NonNullable<ModelDeploymentStatus['conditions']>[number];

/** Returns conditions with c set (by type), preserving lastTransitionTime when the status is unchanged. */
export function setCondition(conditions: readonly Condition[], c: Omit<Condition, 'lastTransitionTime'>, now: string): Condition[] {
  const old = conditions.find((x) => x.type === c.type);
  const next: Condition = { ...c, lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now };
  return [...conditions.filter((x) => x.type !== c.type), next].sort((a, b) => a.type.localeCompare(b.type));
}

/** The condition of a type, if present. */
export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** The phase: a summary derived from the conditions and the rollout state, never stored state to branch on. */
export function derivePhase(conditions: readonly Condition[], rollout: { paused: boolean; rolledBack: boolean }): NonNullable<ModelDeploymentStatus['phase']> {
  const is = (t: string): boolean => getCondition(conditions, t)?.status === 'True';
  if (is(ConditionType.Stalled)) return rollout.rolledBack ? 'RolledBack' : 'Failed';
  if (is(ConditionType.Degraded)) return 'Degraded';
  if (is(ConditionType.Progressing)) return rollout.paused ? 'Paused' : 'Progressing';
  if (is(ConditionType.Ready)) return 'Healthy';
  return 'Pending';
}

// The rollout state as data in status (status.rollout): written every reconcile, and read back
// by the next one — a rolled-back canary stays out until a retry or a new spec because status
// says RolledBack, not because a condition's reason or message says so.
import { ANNOTATION_COMMAND, ConditionType, Reason } from '../../api/reasons.ts';
import type { ModelDeploymentStatus, RolloutStatus } from '../../api/schema.ts';
import { getCondition } from '../conditions.ts';

/** Why the canary was taken out. */
export interface RolledBack {
  reason: string;
  message: string;
}

/** The rolled-back state kept in status, if the canary was taken out. */
export function rolledBackOf(status: ModelDeploymentStatus): RolledBack | undefined {
  if (status.rollout) return status.rollout.state === 'RolledBack' ? { reason: status.rollout.reason, message: status.rollout.message } : undefined;
  return legacyRolledBack(status);
}

/** The status.rollout to write. */
export function rolloutStatus(s: { rolledBack: RolledBack | undefined; rolling: boolean; paused: boolean; progress: { reason: string; message: string } | undefined; serving: string }): RolloutStatus {
  if (s.rolledBack) return { state: 'RolledBack', ...s.rolledBack };
  const frozen = s.progress?.reason === Reason.FreezeWindow;
  if (s.rolling) {
    const state = frozen ? 'Frozen' : s.paused ? 'Paused' : 'Progressing';
    return { state, reason: s.progress?.reason ?? Reason.RolloutInProgress, message: s.progress?.message ?? 'a rollout is in progress' };
  }
  if (frozen && s.progress) return { state: 'Frozen', ...s.progress };
  return { state: 'Stable', reason: Reason.RolloutComplete, message: s.serving };
}

/** What a rolled-back condition tells the reader to do, appended to why it rolled back. */
export function retryHint(stableVersion: string): string {
  return `. Stable ${stableVersion} serves. Annotate ${ANNOTATION_COMMAND}=retry to try again, or change the spec`;
}

// Objects last written before status.rollout existed (v1alpha1 as first released) kept the
// rolled-back state only in the Stalled condition. Read it there once; the status written by
// this reconcile holds it as data, so nothing below runs for that object again.
const LEGACY_ROLLED_BACK_REASONS: readonly string[] = [
  Reason.RolloutAborted,
  Reason.AnalysisFailed,
  Reason.SchemaIncompatible,
  Reason.ProgressDeadlineExceeded,
  Reason.DriftRollback,
];

function legacyRolledBack(status: ModelDeploymentStatus): RolledBack | undefined {
  const c = getCondition(status.conditions, ConditionType.Stalled);
  if (!status.canary || c?.status !== 'True' || !LEGACY_ROLLED_BACK_REASONS.includes(c.reason)) return undefined;
  const hint = c.message.lastIndexOf('. Stable ');
  const message = hint >= 0 && c.message.endsWith('to try again, or change the spec') ? c.message.slice(0, hint) : c.message;
  return { reason: c.reason, message };
}

// What the operator writes when it cannot do what a spec asks, so every object the API server
// accepted is answered in status (never an empty row and a retry loop in the log):
// - a spec this operator cannot act on: Stalled, not Ready, a Warning once — and no retry
//   until the spec changes (its update event brings the key back);
// - an apply the API server refused: not Ready, Reconciling, the server's own message, a
//   Warning once per message — retried with backoff. The rest of status stays as it was: a
//   plan whose objects did not land must not move the rollout on.
import { ConditionType, Reason } from '../api/reasons.ts';
import type { ModelDeploymentStatus } from '../api/schema.ts';
import { apiErrorMessage } from '../runtime/apiErrors.ts';
import { emitEventsFor, patchStatus, type KubeApis, type StatusTarget } from './apply.ts';
import { getCondition, setCondition, type Condition } from './conditions.ts';
import type { InvalidModelDeployment } from './observe.ts';
import type { PlannedEvent } from './plan.ts';

/** Conditions carry at most this much of a message. */
const MESSAGE_LIMIT = 2_048;

function clip(message: string): string {
  return message.length <= MESSAGE_LIMIT ? message : `${message.slice(0, MESSAGE_LIMIT - 1)}…`;
}

type Status = Record<string, unknown> & { conditions?: Condition[] };

/** The status of a spec the operator cannot act on, and the Warning to emit (once per problem set). */
export function invalidSpecStatus(old: Status, problems: readonly string[], generation: number, at: string): { status: Status; event?: PlannedEvent } {
  const message = clip(`the spec cannot be acted on: ${problems.join('; ')}`);
  let conditions = Array.isArray(old.conditions) ? old.conditions : [];
  const set = (type: string, status: 'True' | 'False'): void => {
    conditions = setCondition(conditions, { type, status, reason: Reason.InvalidSpec, message, observedGeneration: generation }, at);
  };
  set(ConditionType.Stalled, 'True');
  set(ConditionType.Ready, 'False');
  set(ConditionType.Reconciling, 'False');
  set(ConditionType.Progressing, 'False');
  const before = getCondition(old.conditions, ConditionType.Stalled);
  const told = before?.reason === Reason.InvalidSpec && before.message === message;
  return { status: { ...old, observedGeneration: generation, phase: 'Failed', conditions }, ...(told ? {} : { event: { type: 'Warning', reason: Reason.InvalidSpec, message } }) };
}

/** The stored status with an apply failure in its conditions, and the Warning to emit (once per message). */
export function applyFailedStatus(old: ModelDeploymentStatus, err: unknown, generation: number, at: string): { status: ModelDeploymentStatus; event?: PlannedEvent } {
  const message = clip(`applying the desired objects failed: ${apiErrorMessage(err)}`);
  let conditions = old.conditions ?? [];
  for (const [type, status] of [[ConditionType.Ready, 'False'], [ConditionType.Reconciling, 'True']] as const) {
    conditions = setCondition(conditions, { type, status, reason: Reason.ApplyFailed, message, observedGeneration: generation }, at);
  }
  const before = getCondition(old.conditions, ConditionType.Ready);
  const told = before?.reason === Reason.ApplyFailed && before.message === message;
  return { status: { ...old, observedGeneration: generation, phase: old.phase ?? 'Pending', conditions }, ...(told ? {} : { event: { type: 'Warning', reason: Reason.ApplyFailed, message } }) };
}

/** Answers an invalid spec in status (and a Warning the first time). */
export async function reportInvalidSpec(apis: KubeApis, obj: InvalidModelDeployment, at: number, signal: AbortSignal): Promise<void> {
  const { status, event } = invalidSpecStatus(obj.status, obj.problems, obj.meta.generation ?? 0, new Date(at).toISOString());
  await patchStatus(apis, obj, obj.status, status, signal);
  if (event) await emitEventsFor(apis, obj, [event], at, signal);
}

/** Answers a refused apply in status (and a Warning the first time the message is seen). */
export async function reportApplyFailure(apis: KubeApis, obj: StatusTarget & { status: ModelDeploymentStatus | undefined }, err: unknown, at: number, signal: AbortSignal): Promise<void> {
  const { status, event } = applyFailedStatus(obj.status ?? {}, err, obj.meta.generation ?? 0, new Date(at).toISOString());
  await patchStatus(apis, obj, obj.status, status, signal);
  if (event) await emitEventsFor(apis, obj, [event], at, signal);
}

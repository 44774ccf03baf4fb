// Pipeline step: the schema gate — before any traffic, the canary's own signature (read from
// one of its ready pods) against the stable one's.
import { Reason } from '../../api/reasons.ts';
import { compareSignatures } from '../../analysis/schemaGate.ts';
import { canaryOf, emit, isSignature, rollBack, signatureOnly, type PlanContext } from './context.ts';

/** Admits the canary (records its signature), rolls it back, or notes what it waits for. */
export function reconcileSchemaGate(ctx: PlanContext): void {
  const canary = canaryOf(ctx);
  if (ctx.rolledBack || canary.signature) return;
  const read = ctx.input.signatures?.[canary.name];
  const mode = ctx.spec.rollout.schemaCheck;
  if (!isSignature(read)) {
    if (read) ctx.waitingNote = `cannot read the canary's model signature yet: ${read.error}`;
    return;
  }
  const stableSignature = ctx.stable.signature;
  if (mode !== 'Off' && !stableSignature) {
    ctx.waitingNote = `schema check waits for the stable revision's signature`;
    return;
  }
  const verdict = mode === 'Off' || !stableSignature ? ({ compatible: true } as const) : compareSignatures(stableSignature, read, mode);
  if (verdict.compatible) {
    ctx.canary = { ...canary, signature: signatureOnly(read) };
    emit(ctx, 'Normal', Reason.SchemaCheckPassed, `canary ${canary.version} passed the schema check (${mode}); admitting its pods`);
    // Its pods serve although no generated warm-up input ran: said once, as it is admitted;
    // the analysis judges it on its traffic.
    if (read.warmupFailure !== undefined) {
      emit(ctx, 'Warning', Reason.WarmupFailed, `canary ${canary.version} serves without a warm-up (${read.warmupFailure}); give spec.serving.warmup.inputs to warm it up`);
    }
  } else {
    rollBack(ctx, Reason.SchemaIncompatible, `schema check (${mode}) rejected ${canary.version} (${canary.name}): ${verdict.differences.join('; ')}`, 'RolledBack');
  }
}

// `kubectl siskin check`: the operator's schema gate run before a release is merged. The verdict
// is compareSignatures' own (operator/analysis/schemaGate.ts, the function the operator's
// reconcile calls), so CI passes exactly the models the gate would admit; this file only
// lays the tensors side by side so a reviewer sees what changed. Pure.
import { compareSignatures, type SchemaCheckMode, type SignatureLike, type Tensor } from '../analysis/schemaGate.ts';
import { formatTable } from './render.ts';

/** One input or output of either model, and what the gate makes of it. */
export interface TensorCheck {
  kind: 'input' | 'output';
  name: string;
  /** Absent: the stable model has no such tensor. */
  stable?: Tensor;
  /** Absent: the new model has no such tensor. */
  candidate?: Tensor;
  /** What changed, e.g. ["shape [-1,4] -> [-1,5]"]; empty when unchanged. */
  changes: string[];
  /** Whether this change alone fails the gate under the mode. */
  breaking: boolean;
}

/** The whole check: the operator's verdict and the tensors it judged. */
export interface CheckReport {
  mode: SchemaCheckMode;
  compatible: boolean;
  /** The gate's differences, as the operator's SchemaIncompatible message lists them. */
  differences: string[];
  tensors: TensorCheck[];
}

const shape = (t: Tensor): string => `[${t.shape.join(',')}]`;
const describeTensor = (t: Tensor | undefined): string => (t === undefined ? '-' : `${t.datatype}${shape(t)}`);

function changesOf(stable: Tensor | undefined, candidate: Tensor | undefined): string[] {
  if (stable === undefined) return ['added'];
  if (candidate === undefined) return ['removed'];
  const out: string[] = [];
  if (stable.datatype !== candidate.datatype) out.push(`datatype ${stable.datatype} -> ${candidate.datatype}`);
  if (shape(stable) !== shape(candidate)) out.push(`shape ${shape(stable)} -> ${shape(candidate)}`);
  return out;
}

/** Tensors of one kind in stable's order, then the new model's additions in its order. */
function pair(kind: 'input' | 'output', stable: readonly Tensor[], candidate: readonly Tensor[], mode: SchemaCheckMode): TensorCheck[] {
  const names = [...new Set([...stable.map((t) => t.name), ...candidate.map((t) => t.name)])];
  const list = kind === 'input' ? 'inputs' : 'outputs';
  return names.map((name) => {
    const s = stable.find((t) => t.name === name);
    const c = candidate.find((t) => t.name === name);
    // The same gate on this one tensor: the verdict per row is the operator's, not a copy of its rules.
    const alone = compareSignatures({ [list]: s ? [s] : [] }, { [list]: c ? [c] : [] }, mode);
    return { kind, name, ...(s ? { stable: s } : {}), ...(c ? { candidate: c } : {}), changes: changesOf(s, c), breaking: !alone.compatible };
  });
}

/** Runs the schema gate on a new model's signature against the stable one's. */
export function checkSignatures(stable: SignatureLike, candidate: SignatureLike, mode: SchemaCheckMode): CheckReport {
  const verdict = compareSignatures(stable, candidate, mode);
  return {
    mode,
    compatible: verdict.compatible,
    differences: verdict.compatible ? [] : verdict.differences,
    tensors: [...pair('input', stable.inputs ?? [], candidate.inputs ?? [], mode), ...pair('output', stable.outputs ?? [], candidate.outputs ?? [], mode)],
  };
}

/** Where each signature came from, for the heading. */
export interface CheckSources {
  /** e.g. "iris-3.onnx" */
  candidate: string;
  /** e.g. "md/iris in namespace ml: stable version 2 (revision 6f9c2b1d0a)" or "iris-2.onnx" */
  stable: string;
}

/** The table view: one row per tensor, then the verdict. */
export function renderCheck(report: CheckReport, sources: CheckSources): string {
  const rows = report.tensors.map((t) => [
    t.kind,
    t.name,
    describeTensor(t.stable),
    describeTensor(t.candidate),
    t.changes.length === 0 ? 'unchanged' : t.changes.join(', '),
    t.changes.length === 0 ? 'ok' : t.breaking ? 'BREAKING' : `allowed (${report.mode})`,
  ]);
  const verdict = report.compatible
    ? `Compatible: the schema gate (${report.mode}) admits ${sources.candidate}.`
    : `Breaking: the schema gate (${report.mode}) would roll ${sources.candidate} back (SchemaIncompatible): ${report.differences.join('; ')}`;
  return [
    `Schema check (${report.mode}): ${sources.candidate} against ${sources.stable}`,
    '',
    formatTable(['KIND', 'NAME', 'STABLE', 'NEW', 'CHANGE', 'VERDICT'], rows),
    '',
    verdict,
    '',
  ].join('\n');
}

// What "the prediction" of a row is, for drift, feedback and shadow agreement: a class
// index for classifiers, a value for regressors. Pure.
import { isBigIntData, numberAt } from '../protocol/tensor.ts';
import type { Tensor, TensorSpec } from '../protocol/tensor.ts';

/** Classifier or regressor, resolved from the config and the model's outputs. */
export type Task = 'classifier' | 'regressor';

/** Which output carries the prediction and how to read it. */
export interface PredictionRule {
  task: Task;
  output: string;
  /** Take the argmax of each row (score outputs) instead of reading the value. */
  argmax: boolean;
}

const INTEGER = new Set(['INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64']);

/**
 * Chooses the prediction output: an integer output is a class label; otherwise the first
 * float output is read as scores (argmax) when rows have several columns, else as a value.
 */
export function resolvePrediction(outputs: readonly TensorSpec[], task: 'auto' | Task): PredictionRule | undefined {
  const label = outputs.find((o) => INTEGER.has(o.datatype) && o.shape.length <= 2);
  if (label !== undefined && task !== 'regressor') return { task: 'classifier', output: label.name, argmax: false };
  const scores = outputs.find((o) => o.datatype === 'FP32' || o.datatype === 'FP64');
  if (scores === undefined) return undefined;
  const cols = scores.shape.length >= 2 ? (scores.shape[scores.shape.length - 1] ?? 1) : 1;
  const multi = cols !== 1;
  const resolved: Task = task === 'auto' ? (multi ? 'classifier' : 'regressor') : task;
  return { task: resolved, output: scores.name, argmax: resolved === 'classifier' && multi };
}

/** One prediction per row of the batch. */
export function predictionsOf(outputs: readonly Tensor[], rule: PredictionRule): number[] {
  const t = outputs.find((o) => o.name === rule.output);
  if (t === undefined) return [];
  const rows = t.shape.length === 0 ? 1 : (t.shape[0] ?? 0);
  if (rows === 0) return [];
  const width = t.data.length / rows;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    if (!rule.argmax || width === 1) {
      out.push(isBigIntData(t.data) ? Number(t.data[r * width]) : numberAt(t.data, r * width));
      continue;
    }
    let best = 0;
    let bestValue = -Infinity;
    for (let c = 0; c < width; c++) {
      const v = numberAt(t.data, r * width + c);
      if (v > bestValue) {
        bestValue = v;
        best = c;
      }
    }
    out.push(best);
  }
  return out;
}

/** Whether two predictions agree: same class, or values within a relative tolerance. */
export function agrees(task: Task, a: number, b: number, relTol = 0.01, absTol = 1e-6): boolean {
  if (task === 'classifier') return a === b;
  return Math.abs(a - b) <= Math.max(absTol, relTol * Math.max(Math.abs(a), Math.abs(b)));
}

// Watches inputs and predictions against the reference profile: rejects NaN/Inf where the
// profile forbids them, and keeps sliding-window histograms for per-feature PSI, missing
// rates and the prediction distribution.
import { invalidTensor } from '../errors.ts';
import { numberAt } from '../protocol/tensor.ts';
import type { Tensor } from '../protocol/tensor.ts';
import type { FeatureProfile, ReferenceProfile } from './profile.ts';
import { binIndex, psi } from './psi.ts';
import { SlidingHistogram } from './window.ts';

interface FeatureState {
  profile: FeatureProfile;
  window: SlidingHistogram;
}

/** A snapshot of one feature's statistics. */
export interface FeatureStats {
  name: string;
  psi: number;
  missingRatio: number;
  observations: number;
}

/** Per-model data-quality monitor. */
export class QualityMonitor {
  private readonly features: FeatureState[];
  private readonly profile: ReferenceProfile;
  private readonly prediction: SlidingHistogram | undefined;

  constructor(profile: ReferenceProfile, windowSize: number) {
    this.profile = profile;
    this.features = profile.features.map((f) => ({ profile: f, window: new SlidingHistogram(f.expected.length, windowSize) }));
    const p = profile.prediction;
    this.prediction = p === undefined ? undefined : new SlidingHistogram(p.expected.length, windowSize);
  }

  /** Throws a 400 naming the first feature value the profile forbids (NaN or ±Inf). */
  check(inputs: readonly Tensor[]): void {
    for (const f of this.features) {
      const fp = f.profile;
      if (fp.allowNaN && fp.allowInf) continue;
      forEachValue(inputs, fp, (v, row) => {
        if (!fp.allowNaN && Number.isNaN(v)) throw invalidTensor(`input "${fp.input}": feature "${fp.name}" is NaN in row ${row}, which the reference profile forbids`);
        if (!fp.allowInf && (v === Infinity || v === -Infinity)) {
          throw invalidTensor(`input "${fp.input}": feature "${fp.name}" is ${v} in row ${row}, which the reference profile forbids`);
        }
      });
    }
  }

  /** Adds the rows of an accepted request to the feature windows. */
  observeInputs(inputs: readonly Tensor[]): void {
    for (const f of this.features) {
      // NaN lands in bin -1 and counts as missing; ±Inf fall into the outer bins.
      forEachValue(inputs, f.profile, (v) => f.window.add(binIndex(f.profile.edges, v)));
    }
  }

  /** Adds predictions (class indexes or values) to the prediction window. */
  observePredictions(predictions: readonly number[]): void {
    const p = this.profile.prediction;
    if (p === undefined || this.prediction === undefined) return;
    for (const v of predictions) {
      if (p.kind === 'classes') {
        if (Number.isInteger(v) && v >= 0 && v < p.expected.length) this.prediction.add(v);
      } else {
        this.prediction.add(binIndex(p.edges, v));
      }
    }
  }

  /** Current statistics per feature. */
  featureStats(): FeatureStats[] {
    return this.features.map((f) => ({
      name: f.profile.name,
      psi: psi(f.profile.expected, f.window.counts()),
      missingRatio: f.window.missingRatio(),
      observations: f.window.size(),
    }));
  }

  /** PSI of the prediction distribution, NaN without a prediction profile or data. */
  predictionPsi(): number {
    const p = this.profile.prediction;
    if (p === undefined || this.prediction === undefined) return Number.NaN;
    return psi(p.expected, this.prediction.counts());
  }
}

/** Calls fn for each value of a feature: one column of its input per row. */
function forEachValue(inputs: readonly Tensor[], f: FeatureProfile, fn: (v: number, row: number) => void): void {
  const t = inputs.find((x) => x.name === f.input);
  if (t === undefined) return;
  if (t.shape.length <= 1) {
    for (let i = 0; i < t.data.length; i++) fn(numberAt(t.data, i), i);
    return;
  }
  const width = t.shape[t.shape.length - 1] ?? 1;
  if (f.index >= width) return;
  // For rank > 2 the feature is the index-th entry of every innermost vector.
  for (let i = f.index, row = 0; i < t.data.length; i += width, row++) fn(numberAt(t.data, i), row);
}

// Population Stability Index and the binning it needs. Pure functions.

/** Smallest share a bin is given so an empty bin does not make PSI infinite. */
export const PSI_EPSILON = 1e-4;

/**
 * Bin of `x` for sorted edges e0 < e1 < … < ek-1: bin 0 is (-∞, e0), bin i is
 * [e(i-1), e(i)), bin k is [e(k-1), +∞). NaN has no bin (-1).
 */
export function binIndex(edges: readonly number[], x: number): number {
  if (Number.isNaN(x)) return -1;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x < edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Normalises counts to shares; all zeros stays all zeros. */
export function shares(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total === 0 ? 0 : c / total));
}

/**
 * PSI = Σ (aᵢ − eᵢ)·ln(aᵢ / eᵢ) over bins, with shares floored at PSI_EPSILON. Rules of thumb:
 * < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 significant shift. Undefined (NaN) when
 * there is no actual data yet or the bin counts disagree.
 */
export function psi(expected: readonly number[], actualCounts: readonly number[]): number {
  if (expected.length !== actualCounts.length || expected.length === 0) return Number.NaN;
  const total = actualCounts.reduce((a, b) => a + b, 0);
  if (total === 0) return Number.NaN;
  const e = shares(expected);
  let sum = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = Math.max(e[i]!, PSI_EPSILON);
    const ai = Math.max(actualCounts[i]! / total, PSI_EPSILON);
    sum += (ai - ei) * Math.log(ai / ei);
  }
  return sum;
}

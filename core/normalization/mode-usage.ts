/**
 * Which components become modes, and in what one-hot order. Both are mergeable
 * sums over weighted points: how often each component is a row's most likely one
 * (`predict`), and how often each kept mode is expected to be sampled.
 */
import { mergeOnly } from '../combine';
import { logProbTerms, mostLikelyComponent, posteriorInto, type LogProbTerms, type VbgmmParams, type WeightedPoints } from '../mixture';

/** The research code adds this to every kept posterior before renormalising. */
export const SELECTION_FLOOR = 1e-6;

export function argmaxCounts(points: WeightedPoints, params: VbgmmParams): Float64Array {
  const terms = logProbTerms(params);
  const counts = new Float64Array(terms.k);
  const scratch = new Float64Array(terms.k);
  for (let i = 0; i < points.values.length; i++) {
    counts[mostLikelyComponent(terms, points.values[i], scratch)] += points.counts[i];
  }
  return counts;
}

/** Components with weight above eps that are some row's most likely one, ascending. */
export function keptComponents(weights: ArrayLike<number>, mostLikelyCounts: ArrayLike<number>, eps: number): number[] {
  const kept: number[] = [];
  for (let k = 0; k < weights.length; k++) if (weights[k] > eps && mostLikelyCounts[k] > 0) kept.push(k);
  return kept;
}

/**
 * The distribution a row's mode is sampled from: the posterior restricted to the
 * kept components, plus SELECTION_FLOOR, renormalised. Written into `out` in the
 * order of `kept`; `scratch` holds the k posteriors.
 */
export function selectionProbabilitiesInto(
  terms: LogProbTerms,
  kept: readonly number[],
  x: number,
  scratch: Float64Array,
  out: Float64Array,
): void {
  posteriorInto(terms, x, scratch);
  let total = 0;
  for (let i = 0; i < kept.length; i++) {
    out[i] = scratch[kept[i]] + SELECTION_FLOOR;
    total += out[i];
  }
  for (let i = 0; i < kept.length; i++) out[i] /= total;
}

/**
 * Index drawn by inverse CDF at u ∈ [0, 1), as numpy's choice does, from the running sums of
 * the probabilities (sums[at + i] = p_0 + … + p_i, added in that order): the first index whose
 * running sum exceeds u × the total, the last one if none does.
 */
export function drawFromRunningSums(sums: Float64Array, at: number, count: number, u: number): number {
  const target = u * sums[at + count - 1];
  let i = 0;
  while (i < count - 1 && !(target < sums[at + i])) i++;
  return i;
}

/** Expected number of rows that sample each kept mode (in the order of `kept`). */
export function expectedUsage(points: WeightedPoints, params: VbgmmParams, kept: readonly number[]): Float64Array {
  const terms = logProbTerms(params);
  const scratch = new Float64Array(terms.k);
  const probabilities = new Float64Array(kept.length);
  const usage = new Float64Array(kept.length);
  for (let i = 0; i < points.values.length; i++) {
    selectionProbabilitiesInto(terms, kept, points.values[i], scratch, probabilities);
    for (let j = 0; j < kept.length; j++) usage[j] += points.counts[i] * probabilities[j];
  }
  return usage;
}

/**
 * Argmax counts and expected usage are per-partition sums, merged by addition; empty
 * takes the length (k for argmax counts, the kept modes for usage).
 */
export const modeCountsCombine = mergeOnly<Float64Array, [length: number]>({
  empty: (length) => new Float64Array(length),
  merge: (a, b) => Float64Array.from(a, (n, i) => n + b[i]),
});

/** Slots sorted by usage, most used first; a stable sort keeps ties in their given order. */
export function byUsage<T extends { readonly usage: number }>(slots: readonly T[]): T[] {
  return [...slots].sort((a, b) => b.usage - a.usage);
}

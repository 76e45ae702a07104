/**
 * 1-D k-means for the initialisation: k-means++ seeding from a seed, Lloyd steps as
 * mergeable partials (per-centre count and sum), and the hard assignment of each
 * value to its nearest mean that turns centres into the fit's first responsibilities.
 */
import { mergeAll, mergeOnly } from '../combine';
import { statsFromResponsibilities, type ComponentStats } from './component-stats';
import type { WeightedPoints } from './weighted-points';

// Hot loops call these through module-level bindings: a global `Math` lookup per call
// is an order of magnitude slower inside vm contexts such as jest's.
const { abs, min } = Math;

/** Index of the nearest centre; the lowest index on ties, as numpy's argmin. */
export function nearestCentre(x: number, centres: Float64Array): number {
  let best = 0;
  let bestDistance = abs(x - centres[0]);
  for (let j = 1; j < centres.length; j++) {
    const d = abs(x - centres[j]);
    if (d < bestDistance) {
      best = j;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * The nearest-centre regions of the line (intervals between midpoints of consecutive centres),
 * for binned points whose rows straddle a boundary: such a point's rows are shared among the
 * centres in proportion to the part of its extent [low, high] in each region, as if spread
 * evenly over it, rather than all given to one centre. Still an estimate: which of a bin's rows
 * lie on which side is not in the summary. From given initial means it is never needed, as the
 * bins are split at their boundaries (bin-regions.ts).
 */
class NearestRegions {
  /** Per region, left to right: its centre's index and right end. */
  private readonly centre: number[] = [];
  private readonly right: number[] = [];

  constructor(private readonly centres: Float64Array) {
    // Ascending by value; equal centres keep the lowest index, as nearestCentre does.
    const order = Array.from(centres.keys()).sort((a, b) => centres[a] - centres[b] || a - b);
    for (const j of order) {
      const last = this.centre.length - 1;
      if (last >= 0 && centres[this.centre[last]] === centres[j]) continue;
      if (last >= 0) this.right[last] = (centres[this.centre[last]] + centres[j]) / 2;
      this.centre.push(j);
      this.right.push(Infinity);
    }
  }

  /** Calls share(j, fraction) for the centres a point's rows go to; one call with fraction 1 unless it straddles. */
  assign(points: WeightedPoints, i: number, share: (j: number, fraction: number) => void): void {
    const x = points.values[i];
    const nearest = nearestCentre(x, this.centres);
    const extent = points.binned;
    if (extent === undefined) return share(nearest, 1);
    const low = extent.lows[i];
    const high = extent.highs[i];
    if (!(high > low) || (nearestCentre(low, this.centres) === nearest && nearestCentre(high, this.centres) === nearest)) return share(nearest, 1);
    let left = -Infinity;
    for (let r = 0; r < this.centre.length; r++) {
      const overlap = Math.min(high, this.right[r]) - Math.max(low, left);
      if (overlap > 0) share(this.centre[r], overlap / (high - low));
      left = this.right[r];
    }
  }
}

/**
 * The statistic of a hard assignment of every point to its nearest centre (a binned point's
 * rows shared when they straddle two centres' regions, NearestRegions).
 */
export function hardAssignmentStats(points: WeightedPoints, centres: Float64Array): ComponentStats {
  const k = centres.length;
  const n = points.values.length;
  // Component-major, as statsFromResponsibilities takes it.
  const resp = new Float64Array(n * k);
  const regions = new NearestRegions(centres);
  for (let i = 0; i < n; i++) {
    regions.assign(points, i, (j, fraction) => {
      resp[j * n + i] += fraction;
    });
  }
  return statsFromResponsibilities(points.values, points.counts, resp, k, 0, points.binned?.spread);
}

/** A Lloyd step's partial: rows and value sum per centre. Merged by addition. */
export interface LloydPartial {
  readonly counts: Float64Array;
  readonly sums: Float64Array;
}

export function lloydPartial(points: WeightedPoints, centres: Float64Array): LloydPartial {
  const k = centres.length;
  const counts = new Float64Array(k);
  const sums = new Float64Array(k);
  if (points.binned !== undefined) {
    const regions = new NearestRegions(centres);
    for (let i = 0; i < points.values.length; i++) {
      const c = points.counts[i];
      const x = points.values[i];
      regions.assign(points, i, (j, fraction) => {
        counts[j] += c * fraction;
        sums[j] += c * fraction * x;
      });
    }
    return { counts, sums };
  }
  for (let i = 0; i < points.values.length; i++) {
    const j = nearestCentre(points.values[i], centres);
    counts[j] += points.counts[i];
    sums[j] += points.counts[i] * points.values[i];
  }
  return { counts, sums };
}

/** Only merged; empty takes the number of centres. */
export const lloydCombine = mergeOnly<LloydPartial, [k: number]>({
  empty: (k) => ({ counts: new Float64Array(k), sums: new Float64Array(k) }),
  merge: (a, b) => {
    const counts = Float64Array.from(a.counts, (c, j) => c + b.counts[j]);
    const sums = Float64Array.from(a.sums, (s, j) => s + b.sums[j]);
    return { counts, sums };
  },
});

/** New centres from a merged partial; an empty cluster keeps its centre. */
export function lloydUpdate(centres: Float64Array, merged: LloydPartial): { centres: Float64Array; shift: number } {
  const next = Float64Array.from(centres);
  let shift = 0;
  for (let j = 0; j < centres.length; j++) {
    if (merged.counts[j] > 0) next[j] = merged.sums[j] / merged.counts[j];
    const d = next[j] - centres[j];
    shift += d * d;
  }
  return { centres: next, shift };
}

/** A source of uniform draws on [0, 1). */
export type Uniform = () => number;

/** Index i with probability weights[i] / Σ weights, by inverse CDF. */
function drawIndex(weights: Float64Array, total: number, uniform: Uniform): number {
  const target = uniform() * total;
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i];
    if (target < acc) return i;
  }
  // Rounding can leave the target at the total: take the last point of positive weight.
  for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
  return weights.length - 1;
}

/**
 * Greedy k-means++ (Arthur & Vassilvitskii, with scikit-learn's 2 + ⌊ln k⌋ local
 * trials) over weighted points: a point's chance is its count times its squared
 * distance to the nearest chosen centre. Needs at least one point.
 */
export function kmeansPlusPlus(points: WeightedPoints, k: number, uniform: Uniform): Float64Array {
  const n = points.values.length;
  if (n === 0) throw new RangeError('k-means++ needs at least one point');
  const centres = new Float64Array(k);
  const trials = 2 + Math.floor(Math.log(k));
  let total = 0;
  for (let i = 0; i < n; i++) total += points.counts[i];
  centres[0] = points.values[drawIndex(points.counts, total, uniform)];

  const closest = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = points.values[i] - centres[0];
    closest[i] = points.counts[i] * d * d;
  }
  const candidate = new Float64Array(n);
  const best = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let potential = 0;
    for (let i = 0; i < n; i++) potential += closest[i];
    if (!(potential > 0)) {
      // Fewer distinct values than centres: repeat the last centre (they stay tied,
      // and ties go to the lowest index, as with duplicate k-means centres).
      centres[c] = centres[c - 1];
      continue;
    }
    let bestPotential = Infinity;
    let bestValue = centres[c - 1];
    for (let t = 0; t < trials; t++) {
      const value = points.values[drawIndex(closest, potential, uniform)];
      let candidatePotential = 0;
      for (let i = 0; i < n; i++) {
        const d = points.values[i] - value;
        candidate[i] = min(closest[i], points.counts[i] * d * d);
        candidatePotential += candidate[i];
      }
      if (candidatePotential < bestPotential) {
        bestPotential = candidatePotential;
        bestValue = value;
        best.set(candidate);
      }
    }
    centres[c] = bestValue;
    closest.set(best);
  }
  return centres;
}

export interface KMeansOptions {
  readonly maxIter: number;
  /** Stop when the squared centre shift falls below tol × the data variance (scikit-learn's rule). */
  readonly tol: number;
}

export const KMEANS_DEFAULTS: KMeansOptions = { maxIter: 300, tol: 1e-4 };

/** Lloyd iterations over partitions of weighted points, merged in the order given. */
export function lloyd(
  partitions: readonly WeightedPoints[],
  initial: Float64Array,
  variance: number,
  options: KMeansOptions = KMEANS_DEFAULTS,
): Float64Array {
  let centres = initial;
  const threshold = options.tol * variance;
  for (let iter = 0; iter < options.maxIter; iter++) {
    const merged = mergeAll(lloydCombine, partitions.map((part) => lloydPartial(part, centres)), centres.length);
    const step = lloydUpdate(centres, merged);
    centres = step.centres;
    if (step.shift <= threshold) break;
  }
  return centres;
}

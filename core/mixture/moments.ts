/**
 * Moments of a column as a mergeable partial: count, mean and centred second moment
 * (merged with Chan's formula, never Σx² − n·mean²), min and max.
 */
import type { CombineFn } from '../combine';
import { pointsMax, pointsMin, type WeightedPoints } from './weighted-points';

export interface Moments {
  readonly count: number;
  readonly mean: number;
  /** Σ count·(x − mean)². */
  readonly m2: number;
  readonly min: number;
  readonly max: number;
}

const EMPTY: Moments = { count: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity };

/** Moments of the rows weighted points stand for (a binned point's spread included, its exact range). */
export function momentsOf(points: WeightedPoints): Moments {
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < points.values.length; i++) {
    const x = points.values[i];
    count += points.counts[i];
    sum += points.counts[i] * x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (count === 0) return EMPTY;
  const mean = sum / count;
  let m2 = 0;
  for (let i = 0; i < points.values.length; i++) {
    const d = points.values[i] - mean;
    m2 += points.counts[i] * d * d;
  }
  if (points.binned !== undefined) {
    for (let i = 0; i < points.binned.spread.length; i++) m2 += points.binned.spread[i];
    min = pointsMin(points);
    max = pointsMax(points);
  }
  return { count, mean, m2, min, max };
}

function merge(a: Moments, b: Moments): Moments {
  if (a.count === 0) return b;
  if (b.count === 0) return a;
  const count = a.count + b.count;
  const delta = b.mean - a.mean;
  return {
    count,
    mean: a.mean + (delta * b.count) / count,
    m2: a.m2 + b.m2 + ((delta * delta * a.count) * b.count) / count,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
  };
}

/** Moments take the points of a partition as input: adding them merges their moments. */
export const momentsCombine: CombineFn<WeightedPoints, Moments> = {
  empty: () => EMPTY,
  add: (acc, points) => merge(acc, momentsOf(points)),
  merge,
  result: (acc) => acc,
};

/** Sample variance with ddof = 1, as numpy.cov computes scikit-learn's covariance prior. */
export function sampleVariance(m: Moments): number {
  return m.m2 / (m.count - 1);
}

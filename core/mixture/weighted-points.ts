/**
 * Weighted points: a column summarised as distinct values with their counts.
 * Identical values have identical responsibilities, so every statistic of the fit is
 * the same over the summary as over the rows, at the cost of the number of distinct
 * values instead of the number of rows (ARCHITECTURE.md, "The fit round protocol").
 */
import { mergeOnly } from '../combine';

export interface WeightedPoints {
  /** Distinct finite values, ascending. */
  readonly values: Float64Array;
  /** How many rows hold each value; same length as `values`, every entry > 0. */
  readonly counts: Float64Array;
}

/** Total number of rows the summary stands for. */
export function totalCount(points: WeightedPoints): number {
  let n = 0;
  for (let i = 0; i < points.counts.length; i++) n += points.counts[i];
  return n;
}

/**
 * Accumulates values into a summary. Keyed by the value itself, so 0 and -0 are one
 * point (they are equal numbers and get equal responsibilities).
 */
export class WeightedPointsBuilder {
  private readonly counts = new Map<number, number>();

  add(value: number, count = 1): void {
    if (!Number.isFinite(value)) {
      throw new RangeError(`weighted points take finite values only, got ${value}`);
    }
    const key = value === 0 ? 0 : value;
    this.counts.set(key, (this.counts.get(key) ?? 0) + count);
  }

  addAll(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) this.add(values[i]);
  }

  addPoints(points: WeightedPoints): void {
    for (let i = 0; i < points.values.length; i++) this.add(points.values[i], points.counts[i]);
  }

  get distinctCount(): number {
    return this.counts.size;
  }

  build(): WeightedPoints {
    const values = Float64Array.from(this.counts.keys()).sort();
    const counts = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) counts[i] = this.counts.get(values[i]) ?? 0;
    return { values, counts };
  }
}

export function summarise(values: ArrayLike<number>): WeightedPoints {
  const builder = new WeightedPointsBuilder();
  builder.addAll(values);
  return builder.build();
}

/**
 * Summaries (e.g. of several partitions) merge into one of distinct ascending values even
 * when an argument is not in that form (rows as unitPoints), so merging points with empty
 * also puts them in that form (samplePoints relies on it). Counts are row counts, whole
 * numbers, so their sums are exact in any order.
 */
export const weightedPointsCombine = mergeOnly<WeightedPoints>({
  empty: () => ({ values: new Float64Array(0), counts: new Float64Array(0) }),
  merge: (a, b) => {
    const builder = new WeightedPointsBuilder();
    builder.addPoints(a);
    builder.addPoints(b);
    return builder.build();
  },
});

/** Every value repeated by its count: the rows a summary stands for, in value order. */
export function expandPoints(points: WeightedPoints): Float64Array {
  const out = new Float64Array(totalCount(points));
  let at = 0;
  for (let i = 0; i < points.values.length; i++) {
    out.fill(points.values[i], at, at + points.counts[i]);
    at += points.counts[i];
  }
  return out;
}

/** Rows as weighted points of count 1 each, in row order (no deduplication). */
export function unitPoints(values: ArrayLike<number>): WeightedPoints {
  const v = Float64Array.from(values);
  return { values: v, counts: new Float64Array(v.length).fill(1) };
}

/**
 * Weighted points: a column summarised as distinct values with their counts.
 * Identical values have identical responsibilities, so every statistic of the fit is
 * the same over the summary as over the rows, at the cost of the number of distinct
 * values instead of the number of rows (ARCHITECTURE.md, "The fit round protocol").
 * A binned summary (binned-points.ts) is weighted points too: each point a bin's mean,
 * with the spread of the bin's rows around it and the exact range of all the rows.
 */
import { mergeOnly } from '../combine';

export interface WeightedPoints {
  /** Distinct finite values, ascending. */
  readonly values: Float64Array;
  /** How many rows hold each value; same length as `values`, every entry > 0. */
  readonly counts: Float64Array;
  /**
   * Binned points: per point, Σ (x − value)² over the rows it stands for, which the M-step and
   * the moments add to the centred second moments. Absent for exact points (all 0).
   */
  readonly spread?: Float64Array;
  /** Binned points: the exact least and greatest row (the values are bin means, inside them). */
  readonly range?: { readonly min: number; readonly max: number };
}

/** The least row a summary stands for (its range's, or its first value). */
export function pointsMin(points: WeightedPoints): number {
  return points.range?.min ?? (points.values.length === 0 ? Infinity : points.values[0]);
}

export function pointsMax(points: WeightedPoints): number {
  return points.range?.max ?? (points.values.length === 0 ? -Infinity : points.values[points.values.length - 1]);
}

/** Total number of rows the summary stands for. */
export function totalCount(points: WeightedPoints): number {
  let n = 0;
  for (let i = 0; i < points.counts.length; i++) n += points.counts[i];
  return n;
}

/**
 * Merges two summaries of distinct ascending values into one: equal values add their counts
 * (and spreads: points with the same value have no spread between them). Linear, and exact for
 * exact points (counts are whole numbers).
 */
export function mergeSortedPoints(a: WeightedPoints, b: WeightedPoints): WeightedPoints {
  if (a.values.length === 0 && a.range === undefined) return b;
  if (b.values.length === 0 && b.range === undefined) return a;
  const values = new Float64Array(a.values.length + b.values.length);
  const counts = new Float64Array(values.length);
  const withSpread = a.spread !== undefined || b.spread !== undefined;
  const spread = withSpread ? new Float64Array(values.length) : null;
  const spreadOf = (p: WeightedPoints, i: number): number => (p.spread === undefined ? 0 : p.spread[i]);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.values.length || j < b.values.length) {
    const fromA = j === b.values.length || (i < a.values.length && a.values[i] <= b.values[j]);
    const fromB = i === a.values.length || (j < b.values.length && b.values[j] <= a.values[i]);
    values[n] = fromA ? a.values[i] : b.values[j];
    counts[n] = (fromA ? a.counts[i] : 0) + (fromB ? b.counts[j] : 0);
    if (spread !== null) spread[n] = (fromA ? spreadOf(a, i) : 0) + (fromB ? spreadOf(b, j) : 0);
    if (fromA) i++;
    if (fromB) j++;
    n++;
  }
  const whole = n === values.length;
  const out: WeightedPoints = {
    values: whole ? values : values.slice(0, n),
    counts: whole ? counts : counts.slice(0, n),
    ...(spread === null ? {} : { spread: whole ? spread : spread.slice(0, n) }),
    ...(a.range === undefined && b.range === undefined ? {} : { range: { min: Math.min(pointsMin(a), pointsMin(b)), max: Math.max(pointsMax(a), pointsMax(b)) } }),
  };
  return out;
}

/** Values buffered before they are sorted into the summary: bounds a builder's memory to its distinct values plus this. */
const BUFFER_VALUES = 1 << 18;

/**
 * Accumulates values into a summary by sorting, not hashing: values gather in a buffer, and a
 * full buffer is sorted, run-length counted and merged into the summary so far. Memory is the
 * distinct values plus one buffer, whatever the number of rows. 0 and -0 are one point (equal
 * numbers get equal responsibilities).
 */
export class WeightedPointsBuilder {
  private summary: WeightedPoints = { values: new Float64Array(0), counts: new Float64Array(0) };
  private readonly buffer = new Float64Array(BUFFER_VALUES);
  private buffered = 0;

  add(value: number, count = 1): void {
    if (count === 1) {
      this.push(value);
      return;
    }
    this.addPoints({ values: Float64Array.of(value), counts: Float64Array.of(count) });
  }

  /** Adds every value of `values` once; the fast path for a batch's column. */
  addAll(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) this.push(values[i]);
  }

  /** Exact points only: a binned point's spread would be lost here. */
  addPoints(points: WeightedPoints): void {
    if (points.spread !== undefined) throw new RangeError('the exact points builder takes no binned points');
    for (let i = 0; i < points.values.length; i++) checkFinite(points.values[i]);
    const sorted = ascendingDistinct(points.values) ? points : sortPoints(points);
    this.summary = mergeSortedPoints(this.summary, sorted);
  }

  get distinctCount(): number {
    this.compact();
    return this.summary.values.length;
  }

  /** Distinct values in the summary so far, without sorting the buffer in. */
  get compactedCount(): number {
    return this.summary.values.length;
  }

  build(): WeightedPoints {
    this.compact();
    return { values: this.summary.values.slice(), counts: this.summary.counts.slice() };
  }

  private push(value: number): void {
    checkFinite(value);
    if (this.buffered === this.buffer.length) this.compact();
    // x + 0 turns -0 into 0 and leaves every other number as it is.
    this.buffer[this.buffered++] = value + 0;
  }

  private compact(): void {
    if (this.buffered === 0) return;
    const sorted = this.buffer.subarray(0, this.buffered).sort();
    this.summary = mergeSortedPoints(this.summary, runLengths(sorted));
    this.buffered = 0;
  }
}

function checkFinite(value: number): void {
  if (!Number.isFinite(value)) throw new RangeError(`weighted points take finite values only, got ${value}`);
}

function ascendingDistinct(values: Float64Array): boolean {
  for (let i = 1; i < values.length; i++) if (!(values[i - 1] < values[i])) return false;
  return true;
}

/** Sorted values → distinct values with their counts. */
function runLengths(sorted: Float64Array): WeightedPoints {
  let distinct = sorted.length === 0 ? 0 : 1;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  const values = new Float64Array(distinct);
  const counts = new Float64Array(distinct);
  let n = -1;
  for (let i = 0; i < sorted.length; i++) {
    if (n < 0 || sorted[i] !== values[n]) values[++n] = sorted[i];
    counts[n]++;
  }
  return { values, counts };
}

/** Points in any order (rows as unitPoints, say) → distinct ascending values with summed counts. */
function sortPoints(points: WeightedPoints): WeightedPoints {
  const order = Array.from(points.values.keys()).sort((a, b) => points.values[a] - points.values[b]);
  const values: number[] = [];
  const counts: number[] = [];
  for (const i of order) {
    const v = points.values[i] + 0;
    if (values.length > 0 && values[values.length - 1] === v) counts[counts.length - 1] += points.counts[i];
    else {
      values.push(v);
      counts.push(points.counts[i]);
    }
  }
  return { values: Float64Array.from(values), counts: Float64Array.from(counts) };
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

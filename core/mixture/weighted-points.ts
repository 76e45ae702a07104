/**
 * Weighted points: a column summarised as distinct values with their counts.
 * Identical values have identical responsibilities, so every statistic of the fit is
 * the same over the summary as over the rows, at the cost of the number of distinct
 * values instead of the number of rows (ARCHITECTURE.md, "The fit round protocol").
 * A binned summary (binned-points.ts) is weighted points too: each point a bin's mean,
 * with the spread of the bin's rows around it and the bin's least and greatest row.
 */
import { mergeOnly } from '../combine';

export interface WeightedPoints {
  /** Distinct finite values, ascending. */
  readonly values: Float64Array;
  /** How many rows hold each value; same length as `values`, every entry > 0. */
  readonly counts: Float64Array;
  /** Binned points: what each point's rows look like around it. Absent for exact points. */
  readonly binned?: BinnedExtent;
}

/** Per binned point (same length as `values`). */
export interface BinnedExtent {
  /** Σ (x − value)² over the point's rows, which the M-step and the moments add to the centred second moments. */
  readonly spread: Float64Array;
  /** The point's least and greatest row (exact; the value, a bin mean, lies between them). */
  readonly lows: Float64Array;
  readonly highs: Float64Array;
}

/** The least row a summary stands for. */
export function pointsMin(points: WeightedPoints): number {
  const n = points.values.length;
  return n === 0 ? Infinity : points.binned === undefined ? points.values[0] : points.binned.lows[0];
}

export function pointsMax(points: WeightedPoints): number {
  const n = points.values.length;
  return n === 0 ? -Infinity : points.binned === undefined ? points.values[n - 1] : points.binned.highs[n - 1];
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
  if (a.values.length === 0) return b;
  if (b.values.length === 0) return a;
  const values = new Float64Array(a.values.length + b.values.length);
  const counts = new Float64Array(values.length);
  const binned = a.binned !== undefined || b.binned !== undefined;
  const spread = binned ? new Float64Array(values.length) : null;
  const lows = binned ? new Float64Array(values.length) : null;
  const highs = binned ? new Float64Array(values.length) : null;
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.values.length || j < b.values.length) {
    const fromA = j === b.values.length || (i < a.values.length && a.values[i] <= b.values[j]);
    const fromB = i === a.values.length || (j < b.values.length && b.values[j] <= a.values[i]);
    values[n] = fromA ? a.values[i] : b.values[j];
    counts[n] = (fromA ? a.counts[i] : 0) + (fromB ? b.counts[j] : 0);
    if (spread !== null && lows !== null && highs !== null) {
      // An exact point is its own extent, with no spread.
      const ea = fromA ? extentAt(a, i) : null;
      const eb = fromB ? extentAt(b, j) : null;
      spread[n] = (ea?.spread ?? 0) + (eb?.spread ?? 0);
      lows[n] = Math.min(ea?.low ?? Infinity, eb?.low ?? Infinity);
      highs[n] = Math.max(ea?.high ?? -Infinity, eb?.high ?? -Infinity);
    }
    if (fromA) i++;
    if (fromB) j++;
    n++;
  }
  const cut = (x: Float64Array): Float64Array => (n === x.length ? x : x.slice(0, n));
  if (spread === null || lows === null || highs === null) return { values: cut(values), counts: cut(counts) };
  return { values: cut(values), counts: cut(counts), binned: { spread: cut(spread), lows: cut(lows), highs: cut(highs) } };
}

function extentAt(p: WeightedPoints, i: number): { spread: number; low: number; high: number } {
  const e = p.binned;
  return e === undefined ? { spread: 0, low: p.values[i], high: p.values[i] } : { spread: e.spread[i], low: e.lows[i], high: e.highs[i] };
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
    if (points.binned !== undefined) throw new RangeError('the exact points builder takes no binned points');
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

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
 * Merges two summaries of distinct ascending values into one: equal values add their counts.
 * Linear, and exact (counts are whole numbers).
 */
export function mergeSortedPoints(a: WeightedPoints, b: WeightedPoints): WeightedPoints {
  if (a.values.length === 0) return b;
  if (b.values.length === 0) return a;
  const values = new Float64Array(a.values.length + b.values.length);
  const counts = new Float64Array(values.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.values.length && j < b.values.length) {
    const x = a.values[i];
    const y = b.values[j];
    if (x < y) {
      values[n] = x;
      counts[n++] = a.counts[i++];
    } else if (y < x) {
      values[n] = y;
      counts[n++] = b.counts[j++];
    } else {
      values[n] = x;
      counts[n++] = a.counts[i++] + b.counts[j++];
    }
  }
  for (; i < a.values.length; i++, n++) {
    values[n] = a.values[i];
    counts[n] = a.counts[i];
  }
  for (; j < b.values.length; j++, n++) {
    values[n] = b.values[j];
    counts[n] = b.counts[j];
  }
  return n === values.length ? { values, counts } : { values: values.slice(0, n), counts: counts.slice(0, n) };
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

  addPoints(points: WeightedPoints): void {
    for (let i = 0; i < points.values.length; i++) checkFinite(points.values[i]);
    const sorted = ascendingDistinct(points.values) ? points : sortPoints(points);
    this.summary = mergeSortedPoints(this.summary, sorted);
  }

  get distinctCount(): number {
    this.compact();
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

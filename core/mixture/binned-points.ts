/**
 * A binned summary of a column: per bin (float-bits.ts) the row count and the exact sums of the
 * rows' offsets and squared offsets from the bin's key (exact-sums.ts). Merging two binned
 * summaries adds whole numbers, so any split of the same rows, merged in any order, gives the
 * same bins bit for bit; so does binning exact values or coarsening bins. From the sums come,
 * deterministically, each bin's mean (where the E-step evaluates responsibilities) and its
 * within-bin spread Σ(x − mean)² (which the M-step adds back, so it is exact given the
 * responsibilities). Memory is the number of bins, whatever the number of rows.
 */
import {
  binCountsByBits,
  binKey,
  binOffset,
  checkBinBits,
  compareKeys,
  EXACT_BITS,
  sameKey,
  signBit,
  ulpOf,
} from './float-bits';
import { addOffset, addShiftedBin, addSums, squareValue, SQUARE_LIMBS, sumValue, SUM_LIMBS } from './exact-sums';
import type { WeightedPoints } from './weighted-points';

export interface BinnedPoints {
  /** Mantissa bits the bins keep (MIN_BIN_BITS … 51). */
  readonly bits: number;
  /** Bin keys, ascending (-0 before 0). */
  readonly keys: Float64Array;
  /** Rows per bin, every entry > 0. */
  readonly counts: Float64Array;
  /** Per bin, Σ offset in SUM_LIMBS limbs (exact-sums.ts). */
  readonly sums: Float64Array;
  /** Per bin, Σ offset² in SQUARE_LIMBS limbs. */
  readonly squares: Float64Array;
  /** Per bin, its least and greatest row: exact, so any set of bins knows its rows' range. */
  readonly lows: Float64Array;
  readonly highs: Float64Array;
}

export function emptyBins(bits: number): BinnedPoints {
  checkBinBits(bits);
  if (bits === EXACT_BITS) throw new RangeError('bins keep fewer than 52 mantissa bits; exact values are weighted points');
  const none = new Float64Array(0);
  return { bits, keys: none, counts: none, sums: none, squares: none, lows: none, highs: none };
}

/** Bins written in key order into arrays of a known most size. */
class BinsWriter {
  readonly keys: Float64Array;
  readonly counts: Float64Array;
  readonly sums: Float64Array;
  readonly squares: Float64Array;
  readonly lows: Float64Array;
  readonly highs: Float64Array;
  n = 0;

  constructor(capacity: number) {
    this.keys = new Float64Array(capacity);
    this.counts = new Float64Array(capacity);
    this.sums = new Float64Array(capacity * SUM_LIMBS);
    this.squares = new Float64Array(capacity * SQUARE_LIMBS);
    this.lows = new Float64Array(capacity);
    this.highs = new Float64Array(capacity);
  }

  /**
   * The bin for `key`, widened to hold rows from `low` to `high`: the last bin when it has that
   * key (rows come in ascending order of key), else a new one.
   */
  binFor(key: number, low: number, high: number): number {
    const last = this.n - 1;
    if (last >= 0 && sameKey(this.keys[last], key)) {
      if (low < this.lows[last]) this.lows[last] = low;
      if (high > this.highs[last]) this.highs[last] = high;
      return last;
    }
    this.keys[this.n] = key;
    this.lows[this.n] = low;
    this.highs[this.n] = high;
    return this.n++;
  }

  finish(bits: number): BinnedPoints {
    const n = this.n;
    const whole = n === this.keys.length;
    return {
      bits,
      keys: whole ? this.keys : this.keys.slice(0, n),
      counts: whole ? this.counts : this.counts.slice(0, n),
      sums: whole ? this.sums : this.sums.slice(0, n * SUM_LIMBS),
      squares: whole ? this.squares : this.squares.slice(0, n * SQUARE_LIMBS),
      lows: whole ? this.lows : this.lows.slice(0, n),
      highs: whole ? this.highs : this.highs.slice(0, n),
    };
  }
}

/** Ascending values (rows, repeats allowed; no -0) → their bins at `bits`. */
export function binSortedValues(sorted: Float64Array, bits: number): BinnedPoints {
  if (sorted.length === 0) return emptyBins(bits);
  const out = new BinsWriter(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    const x = sorted[i];
    const bin = out.binFor(binKey(x, bits), x, x);
    out.counts[bin]++;
    addOffset(out.sums, out.squares, bin, binOffset(x, bits));
  }
  return out.finish(bits);
}

/** Exact weighted points (distinct, ascending) → their bins at `bits`. */
export function binExactPoints(points: WeightedPoints, bits: number): BinnedPoints {
  const n = points.values.length;
  if (n === 0) return emptyBins(bits);
  if (points.spread !== undefined) throw new RangeError('only exact points can be binned; bins are coarsened instead');
  checkBinBits(bits);
  const out = new BinsWriter(n);
  for (let i = 0; i < n; i++) {
    const x = points.values[i];
    const bin = out.binFor(binKey(x, bits), x, x);
    out.counts[bin] += points.counts[i];
    addShiftedBin(out.sums, out.squares, bin, points.counts[i], null, null, 0, binOffset(x, bits));
  }
  return out.finish(bits);
}

/** The same rows in the bins of a coarser resolution (the same bins when `bits` is theirs). */
export function coarsenBins(b: BinnedPoints, bits: number): BinnedPoints {
  if (bits === b.bits) return b;
  checkBinBits(bits);
  if (bits > b.bits) throw new RangeError(`bins of ${b.bits} bits cannot be refined to ${bits}`);
  const out = new BinsWriter(b.keys.length);
  for (let i = 0; i < b.keys.length; i++) {
    const key = b.keys[i];
    const bin = out.binFor(binKey(key, bits), b.lows[i], b.highs[i]);
    out.counts[bin] += b.counts[i];
    addShiftedBin(out.sums, out.squares, bin, b.counts[i], b.sums, b.squares, i, binOffset(key, bits));
  }
  return out.finish(bits);
}

/** Two binned summaries of disjoint rows → the summary of both, at the coarser of their resolutions. */
export function mergeBins(first: BinnedPoints, second: BinnedPoints): BinnedPoints {
  const bits = Math.min(first.bits, second.bits);
  const a = coarsenBins(first, bits);
  const b = coarsenBins(second, bits);
  if (b.keys.length === 0) return a;
  if (a.keys.length === 0) return b;
  const na = a.keys.length;
  const nb = b.keys.length;
  // Count first, so the arrays are made at their size: no copy at the end.
  let n = 0;
  for (let i = 0, j = 0; i < na || j < nb; n++) {
    const c = j === nb ? -1 : i === na ? 1 : compareKeys(a.keys[i], b.keys[j]);
    if (c <= 0) i++;
    if (c >= 0) j++;
  }
  const out = new BinsWriter(n);
  for (let i = 0, j = 0, k = 0; k < n; k++) {
    const c = j === nb ? -1 : i === na ? 1 : compareKeys(a.keys[i], b.keys[j]);
    if (c === 0) {
      out.keys[k] = a.keys[i];
      out.counts[k] = a.counts[i] + b.counts[j];
      out.lows[k] = Math.min(a.lows[i], b.lows[j]);
      out.highs[k] = Math.max(a.highs[i], b.highs[j]);
      addSums(out.sums, out.squares, k, a.sums, a.squares, i, b.sums, b.squares, j);
      i++;
      j++;
    } else {
      const from = c < 0 ? a : b;
      const at = c < 0 ? i++ : j++;
      out.keys[k] = from.keys[at];
      out.counts[k] = from.counts[at];
      out.lows[k] = from.lows[at];
      out.highs[k] = from.highs[at];
      for (let l = 0; l < SUM_LIMBS; l++) out.sums[k * SUM_LIMBS + l] = from.sums[at * SUM_LIMBS + l];
      for (let l = 0; l < SQUARE_LIMBS; l++) out.squares[k * SQUARE_LIMBS + l] = from.squares[at * SQUARE_LIMBS + l];
    }
  }
  out.n = n;
  return out.finish(bits);
}

/** Bins at every resolution from MIN_BIN_BITS to theirs (float-bits.ts, binCountsByBits). */
export function binCounts(b: BinnedPoints): number[] {
  return binCountsByBits(b.keys, b.bits);
}

export function binnedRows(b: BinnedPoints): number {
  let n = 0;
  for (let i = 0; i < b.counts.length; i++) n += b.counts[i];
  return n;
}

/**
 * The points the fit works on: per bin its mean, count and within-bin spread, plus the exact
 * range of the rows. The mean lies inside its bin, so the points stay ascending.
 */
export function binnedWeightedPoints(b: BinnedPoints): WeightedPoints {
  const n = b.keys.length;
  const values = new Float64Array(n);
  const spread = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const key = b.keys[i];
    const count = b.counts[i];
    const ulp = ulpOf(key);
    const offsets = sumValue(b.sums, i);
    const meanOffset = offsets / count;
    const magnitude = Math.abs(key) + meanOffset * ulp;
    values[i] = signBit(key) ? -magnitude : magnitude;
    // Σ(d − d̄)² = Σd² − d̄·Σd, in ulps²; only rounding can make it negative.
    const centred = squareValue(b.squares, i) - meanOffset * offsets;
    spread[i] = centred > 0 ? centred * ulp * ulp : 0;
  }
  return { values, counts: b.counts, spread, ...(n === 0 ? {} : { range: { min: b.lows[0], max: b.highs[n - 1] } }) };
}

/** Splits bins into groups by `groupOf(key)` (value shards, say); each group stays ascending. */
export function splitBins(b: BinnedPoints, groups: number, groupOf: (key: number) => number): BinnedPoints[] {
  const n = b.keys.length;
  const groupOfBin = new Uint32Array(n);
  const sizes = new Int32Array(groups);
  for (let i = 0; i < n; i++) sizes[(groupOfBin[i] = groupOf(b.keys[i]))]++;
  const out = Array.from(sizes, (size) => new BinsWriter(size));
  for (let i = 0; i < n; i++) {
    const w = out[groupOfBin[i]];
    const bin = w.binFor(b.keys[i], b.lows[i], b.highs[i]);
    w.counts[bin] = b.counts[i];
    w.sums.set(b.sums.subarray(i * SUM_LIMBS, (i + 1) * SUM_LIMBS), bin * SUM_LIMBS);
    w.squares.set(b.squares.subarray(i * SQUARE_LIMBS, (i + 1) * SQUARE_LIMBS), bin * SQUARE_LIMBS);
  }
  return out.map((w) => w.finish(b.bits));
}

/** Bins i in [from, to): the slices of a summary chunk. */
export function sliceBins(b: BinnedPoints, from: number, to: number): BinnedPoints {
  return {
    bits: b.bits,
    keys: b.keys.slice(from, to),
    counts: b.counts.slice(from, to),
    sums: b.sums.slice(from * SUM_LIMBS, to * SUM_LIMBS),
    squares: b.squares.slice(from * SQUARE_LIMBS, to * SQUARE_LIMBS),
    lows: b.lows.slice(from, to),
    highs: b.highs.slice(from, to),
  };
}

/** Consecutive slices of one summary back into it. */
export function concatBins(slices: readonly BinnedPoints[], bits: number): BinnedPoints {
  const n = slices.reduce((total, s) => total + s.keys.length, 0);
  const out = new BinsWriter(n);
  let at = 0;
  for (const s of slices) {
    if (s.bits !== bits) throw new RangeError(`bins of ${s.bits} bits among bins of ${bits}`);
    out.keys.set(s.keys, at);
    out.counts.set(s.counts, at);
    out.sums.set(s.sums, at * SUM_LIMBS);
    out.squares.set(s.squares, at * SQUARE_LIMBS);
    out.lows.set(s.lows, at);
    out.highs.set(s.highs, at);
    at += s.keys.length;
  }
  out.n = n;
  for (let i = 1; i < n; i++) if (compareKeys(out.keys[i - 1], out.keys[i]) >= 0) throw new RangeError('bin slices are not in ascending order of key');
  return out.finish(bits);
}

/**
 * A binned summary of a column: per bin (float-bits.ts, split by region: bin-regions.ts) the
 * row count, the exact sums of the rows' offsets and squared offsets from the bin's key
 * (exact-sums.ts) and the bin's least and greatest row. Merging two binned summaries adds
 * whole numbers, so any split of the same rows, merged in any order, gives the same bins bit
 * for bit; so does binning exact values or coarsening bins. From the sums come,
 * deterministically, each bin's mean (where the E-step evaluates responsibilities) and its
 * within-bin spread Σ(x − mean)² (which the M-step adds back, so it is exact given the
 * responsibilities). Memory is the number of bins, whatever the number of rows.
 */
import { BinRegions } from './bin-regions';
import { addOffset, addShiftedBin, addSums, squareValue, SQUARE_LIMBS, sumValue, SUM_LIMBS } from './exact-sums';
import { BinCutter, binCountsByBits, checkBinBits, compareKeys, EXACT_BITS, sameKey, signBit, ulpOf } from './float-bits';
import type { WeightedPoints } from './weighted-points';

// Module-level bindings: a global lookup per call is slow inside vm contexts such as jest's.
const { abs, max, min } = Math;

export interface BinnedPoints {
  /** Mantissa bits the bins keep (MIN_BIN_BITS … 51). */
  readonly bits: number;
  /** The initial means whose regions split the bins (bin-regions.ts); empty: no split. */
  readonly centres: Float64Array;
  /** Bin keys, ascending (-0 before 0); a key repeats once per region it meets. */
  readonly keys: Float64Array;
  /** Per bin, its region (ascending within a key). */
  readonly regions: Float64Array;
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

export function emptyBins(bits: number, regions: BinRegions = BinRegions.none): BinnedPoints {
  checkBinBits(bits);
  if (bits === EXACT_BITS) throw new RangeError('bins keep fewer than 52 mantissa bits; exact values are weighted points');
  const none = new Float64Array(0);
  return { bits, centres: regions.centres, keys: none, regions: none, counts: none, sums: none, squares: none, lows: none, highs: none };
}

/** Bin order: by key, then by region. */
function compareBins(a: BinnedPoints, i: number, b: BinnedPoints, j: number): number {
  return compareKeys(a.keys[i], b.keys[j]) || a.regions[i] - b.regions[j];
}

/** Bins written in order into arrays of a known most size. */
class BinsWriter {
  readonly keys: Float64Array;
  readonly regions: Float64Array;
  readonly counts: Float64Array;
  readonly sums: Float64Array;
  readonly squares: Float64Array;
  readonly lows: Float64Array;
  readonly highs: Float64Array;
  n = 0;

  constructor(capacity: number) {
    this.keys = new Float64Array(capacity);
    this.regions = new Float64Array(capacity);
    this.counts = new Float64Array(capacity);
    this.sums = new Float64Array(capacity * SUM_LIMBS);
    this.squares = new Float64Array(capacity * SQUARE_LIMBS);
    this.lows = new Float64Array(capacity);
    this.highs = new Float64Array(capacity);
  }

  /**
   * The bin of (key, region), widened to hold rows from `low` to `high`: the last bin when it is
   * that one (rows come in bin order), else a new one.
   */
  binFor(key: number, region: number, low: number, high: number): number {
    const last = this.n - 1;
    if (last >= 0 && this.regions[last] === region && sameKey(this.keys[last], key)) {
      if (low < this.lows[last]) this.lows[last] = low;
      if (high > this.highs[last]) this.highs[last] = high;
      return last;
    }
    const bin = this.n++;
    this.keys[bin] = key;
    this.regions[bin] = region;
    this.lows[bin] = low;
    this.highs[bin] = high;
    return bin;
  }

  /** Appends bin i of `from` as it is. */
  copy(from: BinnedPoints, i: number): void {
    const bin = this.n++;
    this.keys[bin] = from.keys[i];
    this.regions[bin] = from.regions[i];
    this.counts[bin] = from.counts[i];
    this.lows[bin] = from.lows[i];
    this.highs[bin] = from.highs[i];
    for (let l = 0; l < SUM_LIMBS; l++) this.sums[bin * SUM_LIMBS + l] = from.sums[i * SUM_LIMBS + l];
    for (let l = 0; l < SQUARE_LIMBS; l++) this.squares[bin * SQUARE_LIMBS + l] = from.squares[i * SQUARE_LIMBS + l];
  }

  finish(bits: number, centres: Float64Array): BinnedPoints {
    const n = this.n;
    const cut = (a: Float64Array, per = 1): Float64Array => (n === this.keys.length ? a : a.slice(0, n * per));
    return {
      bits,
      centres,
      keys: cut(this.keys),
      regions: cut(this.regions),
      counts: cut(this.counts),
      sums: cut(this.sums, SUM_LIMBS),
      squares: cut(this.squares, SQUARE_LIMBS),
      lows: cut(this.lows),
      highs: cut(this.highs),
    };
  }
}

/** Ascending values (rows, repeats allowed; no -0) → their bins at `bits`. */
export function binSortedValues(sorted: Float64Array, bits: number, regions: BinRegions = BinRegions.none): BinnedPoints {
  if (sorted.length === 0) return emptyBins(bits, regions);
  const out = new BinsWriter(sorted.length);
  const cutter = new BinCutter(bits);
  for (let i = 0; i < sorted.length; i++) {
    const x = sorted[i];
    const bin = out.binFor(cutter.cut(x), regions.of(x), x, x);
    out.counts[bin]++;
    addOffset(out.sums, out.squares, bin, cutter.offset);
  }
  return out.finish(bits, regions.centres);
}

/** Exact weighted points (distinct, ascending) → their bins at `bits`. */
export function binExactPoints(points: WeightedPoints, bits: number, regions: BinRegions = BinRegions.none): BinnedPoints {
  const n = points.values.length;
  if (n === 0) return emptyBins(bits, regions);
  if (points.binned !== undefined) throw new RangeError('only exact points can be binned; bins are coarsened instead');
  checkBinBits(bits);
  const out = new BinsWriter(n);
  const cutter = new BinCutter(bits);
  for (let i = 0; i < n; i++) {
    const x = points.values[i];
    const bin = out.binFor(cutter.cut(x), regions.of(x), x, x);
    out.counts[bin] += points.counts[i];
    addShiftedBin(out.sums, out.squares, bin, points.counts[i], null, null, 0, cutter.offset);
  }
  return out.finish(bits, regions.centres);
}

/** The same rows in the bins of a coarser resolution (the same bins when `bits` is theirs). */
export function coarsenBins(b: BinnedPoints, bits: number): BinnedPoints {
  if (bits === b.bits) return b;
  checkBinBits(bits);
  if (bits > b.bits) throw new RangeError(`bins of ${b.bits} bits cannot be refined to ${bits}`);
  const out = new BinsWriter(b.keys.length);
  const cutter = new BinCutter(bits);
  for (let i = 0; i < b.keys.length; i++) {
    const key = b.keys[i];
    const bin = out.binFor(cutter.cut(key), b.regions[i], b.lows[i], b.highs[i]);
    out.counts[bin] += b.counts[i];
    addShiftedBin(out.sums, out.squares, bin, b.counts[i], b.sums, b.squares, i, cutter.offset);
  }
  return out.finish(bits, b.centres);
}

function checkSameRegions(a: BinnedPoints, b: BinnedPoints): void {
  if (!new BinRegions(a.centres).sameAs(b.centres)) throw new RangeError('cannot merge bins split at different initial means');
}

/** Two binned summaries of disjoint rows → the summary of both, at the coarser of their resolutions. */
export function mergeBins(first: BinnedPoints, second: BinnedPoints): BinnedPoints {
  checkSameRegions(first, second);
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
    const c = j === nb ? -1 : i === na ? 1 : compareBins(a, i, b, j);
    if (c <= 0) i++;
    if (c >= 0) j++;
  }
  const out = new BinsWriter(n);
  for (let i = 0, j = 0; i < na || j < nb; ) {
    const c = j === nb ? -1 : i === na ? 1 : compareBins(a, i, b, j);
    if (c === 0) {
      const k = out.n++;
      out.keys[k] = a.keys[i];
      out.regions[k] = a.regions[i];
      out.counts[k] = a.counts[i] + b.counts[j];
      out.lows[k] = min(a.lows[i], b.lows[j]);
      out.highs[k] = max(a.highs[i], b.highs[j]);
      addSums(out.sums, out.squares, k, a.sums, a.squares, i, b.sums, b.squares, j);
      i++;
      j++;
    } else if (c < 0) {
      out.copy(a, i++);
    } else {
      out.copy(b, j++);
    }
  }
  return out.finish(bits, a.centres);
}

/** Bins at every resolution from MIN_BIN_BITS to theirs (float-bits.ts, binCountsByBits). */
export function binCounts(b: BinnedPoints): number[] {
  return binCountsByBits(b.keys, b.bits, b.regions);
}

/**
 * The points the fit works on: per bin its mean, count, within-bin spread and extremes. A mean
 * lies between its bin's extremes, and bins are disjoint intervals, so the points stay ascending.
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
    const magnitude = abs(key) + meanOffset * ulp;
    // The rounded mean stays within the rows' extremes, which are on the same grid of ulps.
    values[i] = min(b.highs[i], max(b.lows[i], signBit(key) ? -magnitude : magnitude));
    // Σ(d − d̄)² = Σd² − d̄·Σd, in ulps²; only rounding can make it negative.
    const centred = squareValue(b.squares, i) - meanOffset * offsets;
    spread[i] = centred > 0 ? centred * ulp * ulp : 0;
  }
  return { values, counts: b.counts, binned: { spread, lows: b.lows, highs: b.highs } };
}

/** Splits bins into groups by `groupOf(key)` (value shards, say); each group stays in order. */
export function splitBins(b: BinnedPoints, groups: number, groupOf: (key: number) => number): BinnedPoints[] {
  const n = b.keys.length;
  const groupOfBin = new Uint32Array(n);
  const sizes = new Int32Array(groups);
  for (let i = 0; i < n; i++) sizes[(groupOfBin[i] = groupOf(b.keys[i]))]++;
  const out = Array.from(sizes, (size) => new BinsWriter(size));
  for (let i = 0; i < n; i++) out[groupOfBin[i]].copy(b, i);
  return out.map((w) => w.finish(b.bits, b.centres));
}

/** Bins i in [from, to): the slices of a summary chunk. */
export function sliceBins(b: BinnedPoints, from: number, to: number): BinnedPoints {
  const out = new BinsWriter(Math.max(0, to - from));
  for (let i = from; i < to; i++) out.copy(b, i);
  return out.finish(b.bits, b.centres);
}

/** Consecutive slices of one summary back into it. */
export function concatBins(slices: readonly BinnedPoints[], bits: number, centres: Float64Array): BinnedPoints {
  const out = new BinsWriter(slices.reduce((total, s) => total + s.keys.length, 0));
  for (const s of slices) {
    if (s.bits !== bits) throw new RangeError(`bins of ${s.bits} bits among bins of ${bits}`);
    if (!new BinRegions(centres).sameAs(s.centres)) throw new RangeError('bin slices split at different initial means');
    for (let i = 0; i < s.keys.length; i++) {
      const last = out.n - 1;
      if (last >= 0 && (compareKeys(out.keys[last], s.keys[i]) || out.regions[last] - s.regions[i]) >= 0) {
        throw new RangeError('bin slices are not in ascending order');
      }
      out.copy(s, i);
    }
  }
  return out.finish(bits, centres);
}

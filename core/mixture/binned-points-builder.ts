/**
 * Accumulates rows into a binned summary (binned-points.ts) in bounded memory: values gather in
 * a buffer, and a full buffer is sorted, binned and merged into the bins so far. With a bin
 * bound, bins that outgrow it are coarsened to the finest resolution that fits, so memory is at
 * most the bound (plus one buffer) whatever the rows. The result depends on the rows only, not
 * on their order; with a bound, its resolution is never coarser than that of all the column's
 * rows together (a subset of the rows never has more bins than the whole).
 */
import { BinRegions } from './bin-regions';
import { binCounts, binExactPoints, coarsenBins, emptyBins, mergeBins, binSortedValues, type BinnedPoints } from './binned-points';
import { finestResolution } from './float-bits';
import type { WeightedPoints } from './weighted-points';

/** Rows buffered before they are sorted into the bins; grows with the bins (to at most 2^20) so that merging stays cheap per row. */
const BUFFER_VALUES = 1 << 18;
const MAX_BUFFER_VALUES = 1 << 20;

export class BinnedPointsBuilder {
  private summary: BinnedPoints;
  private buffer: Float64Array | null = null;
  private buffered = 0;

  /** `bits`: the starting (finest) resolution; `maxBins`: coarsen beyond it (Infinity: never); `regions`: split bins at them. */
  constructor(
    bits: number,
    private readonly maxBins = Infinity,
    private readonly regions: BinRegions = BinRegions.none,
  ) {
    this.summary = emptyBins(bits, regions);
  }

  get bits(): number {
    this.flush();
    return this.summary.bits;
  }

  add(value: number): void {
    if (!Number.isFinite(value)) throw new RangeError(`binned points take finite values only, got ${value}`);
    let buffer = (this.buffer ??= new Float64Array(BUFFER_VALUES));
    if (this.buffered === buffer.length) {
      this.flush();
      // A flush may give the builder a larger buffer.
      buffer = this.buffer;
    }
    // x + 0 turns -0 into 0 and leaves every other number as it is.
    buffer[this.buffered++] = value + 0;
  }

  addAll(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) this.add(values[i]);
  }

  addBins(bins: BinnedPoints): void {
    this.flush();
    this.summary = mergeBins(this.summary, bins);
    this.bound();
  }

  /** Exact points (distinct, ascending) of other rows, binned at the current resolution. */
  addExact(points: WeightedPoints): void {
    this.flush();
    this.summary = mergeBins(this.summary, binExactPoints(points, this.summary.bits, this.regions));
    this.bound();
  }

  build(): BinnedPoints {
    this.flush();
    return this.summary;
  }

  private flush(): void {
    if (this.buffered === 0 || this.buffer === null) return;
    const sorted = this.buffer.subarray(0, this.buffered).sort();
    this.summary = mergeBins(this.summary, binSortedValues(sorted, this.summary.bits, this.regions));
    this.buffered = 0;
    this.bound();
    const wanted = Math.min(MAX_BUFFER_VALUES, this.summary.keys.length);
    if (wanted > this.buffer.length) this.buffer = new Float64Array(wanted);
  }

  private bound(): void {
    if (this.summary.keys.length <= this.maxBins) return;
    this.summary = coarsenBins(this.summary, finestResolution(binCounts(this.summary), this.maxBins));
  }
}

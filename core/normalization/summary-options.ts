/**
 * How numeric columns are summarised for the fit: exactly (distinct values with counts), or
 * binned (core/mixture/binned-points.ts) when a column has too many distinct values to visit
 * all of them in every EM iteration. The choice is per column and a function of the column's
 * rows alone, so every partitioning and worker count gives the same model.
 */
import { EXACT_BITS, MIN_BIN_BITS } from '../mixture';

/**
 * - auto: exact while a column has at most `maxBins` distinct (non-modal) values; above that,
 *   binned at the finest resolution that gives at most `maxBins` bins.
 * - exact: always exact (memory grows with the distinct values).
 * - binned: always binned at `binBits` (memory grows with the bins occupied, at most
 *   2^(binBits+1) per binade, i.e. per power of two of |x|).
 */
export type SummaryMode = 'auto' | 'exact' | 'binned';

export const SUMMARY_MODES: readonly SummaryMode[] = ['auto', 'exact', 'binned'];

export interface SummaryOptions {
  readonly mode: SummaryMode;
  /** auto: the bound on a column's distinct values, and then on its bins. */
  readonly maxBins: number;
  /** binned: the resolution, in kept mantissa bits (MIN_BIN_BITS … 51). */
  readonly binBits: number;
}

/**
 * Defaults chosen by measurement (README, "High-cardinality columns", `npm run bench:binning`):
 * with at most 2^18 bins the three 1M-distinct-value columns of the accuracy table fit within
 * 1e-6 of their exact fits from the same initial means (2^17 was not enough for the normal
 * mixture: 1.8e-6), at about a quarter of the exact fit's points per EM iteration there and a
 * bounded number however many rows. 16 bits for a forced binned fit: 7.9e-8 on the same columns.
 */
export const DEFAULT_SUMMARY_OPTIONS: SummaryOptions = { mode: 'auto', maxBins: 262_144, binBits: 16 };

/** What an old model or job without summary options meant: exact summaries. */
export const EXACT_SUMMARY_OPTIONS: SummaryOptions = { mode: 'exact', maxBins: DEFAULT_SUMMARY_OPTIONS.maxBins, binBits: DEFAULT_SUMMARY_OPTIONS.binBits };

/**
 * How the fit sees one numeric column: `bits` of resolution (EXACT_BITS: its exact values), bins
 * split at the regions of `centres`, its initial means when given (core/mixture/bin-regions.ts).
 */
export interface Resolution {
  readonly bits: number;
  readonly centres: readonly number[];
}

export const EXACT_RESOLUTION: Resolution = { bits: EXACT_BITS, centres: [] };

export function checkSummaryOptions(o: SummaryOptions): void {
  if (!SUMMARY_MODES.includes(o.mode)) throw new RangeError(`summary mode must be auto, exact or binned, not ${String(o.mode)}`);
  if (!Number.isSafeInteger(o.maxBins) || o.maxBins < 1) throw new RangeError(`the bin bound must be a whole number ≥ 1, not ${o.maxBins}`);
  if (!Number.isInteger(o.binBits) || o.binBits < MIN_BIN_BITS || o.binBits >= EXACT_BITS) {
    throw new RangeError(`bin bits must be a whole number from ${MIN_BIN_BITS} to ${EXACT_BITS - 1}, not ${o.binBits}`);
  }
}

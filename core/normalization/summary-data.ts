/**
 * What a stats worker holds for one value shard: the one-pass summary of each column, and the
 * points the fit works on derived from it once per column, point set and resolution: for
 * mixed columns the split into modal counts and non-modal points, and for a binned fit the
 * bins (coarsened, or made from exact values) as weighted points with their spreads.
 */
import { binCounts, binCountsByBits, binExactPoints, binnedWeightedPoints, coarsenBins, EXACT_BITS, mergeSortedPoints, type WeightedPoints } from '../mixture';
import { numericParts, type ColumnSummary } from './column-summary';

/** Which points of a numeric column a mixture is fitted to. */
export type PointSet = 'all' | 'nonModal';

interface Derived {
  readonly modalCounts: number[];
  readonly nonModal: WeightedPoints;
  readonly all: WeightedPoints;
}

export class SummaryData {
  private readonly derived = new Map<string, Derived>();

  constructor(readonly summaries: readonly ColumnSummary[]) {}

  private numeric(column: number): Exclude<ColumnSummary, { categories: ReadonlyMap<string, number> }> {
    const summary = this.summaries[column];
    if ('categories' in summary) throw new RangeError(`column ${summary.spec.name} is categorical`);
    return summary;
  }

  /** The column's modal counts and points at resolution `bits` (EXACT_BITS: exact values). */
  split(column: number, bits = EXACT_BITS): Derived {
    const key = `${column}/${bits}`;
    let derived = this.derived.get(key);
    if (derived === undefined) {
      derived = this.derive(column, bits);
      this.derived.set(key, derived);
    }
    return derived;
  }

  points(column: number, set: PointSet, bits = EXACT_BITS): WeightedPoints {
    const split = this.split(column, bits);
    return set === 'all' ? split.all : split.nonModal;
  }

  /** Bins of the column's non-modal values at each resolution from MIN_BIN_BITS to the summary's own. */
  binCounts(column: number): number[] {
    const parts = numericParts(this.numeric(column));
    return parts.rest.kind === 'bins' ? binCounts(parts.rest.bins) : binCountsByBits(parts.rest.points.values, EXACT_BITS);
  }

  private derive(column: number, bits: number): Derived {
    const summary = this.numeric(column);
    if (bits === EXACT_BITS && 'points' in summary) {
      const parts = numericParts(summary);
      if (parts.rest.kind !== 'points') throw new Error('unreachable');
      return { modalCounts: parts.modalCounts, nonModal: parts.rest.points, all: summary.points };
    }
    const parts = numericParts(summary);
    const rest = parts.rest;
    if (rest.kind === 'bins' && rest.bins.bits < bits) {
      throw new RangeError(`column ${summary.spec.name}: this shard's bins have ${rest.bins.bits} bits, the fit asks for ${bits}`);
    }
    const bins = rest.kind === 'bins' ? coarsenBins(rest.bins, bits) : binExactPoints(rest.points, bits);
    const nonModal = binnedWeightedPoints(bins);
    return { modalCounts: parts.modalCounts, nonModal, all: mergeSortedPoints(nonModal, parts.modal) };
  }
}

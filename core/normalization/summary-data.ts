/**
 * What a stats worker holds for one value shard: the one-pass summary of each column, and the
 * points the fit works on derived from it once per column, point set and resolution: for
 * mixed columns the split into modal counts and non-modal points, and for a binned fit the
 * bins (coarsened, or made from exact values) as weighted points with their spreads.
 */
import { binCounts, binExactPoints, binnedWeightedPoints, binRegions, coarsenBins, EXACT_BITS, mergeSortedPoints, type WeightedPoints } from '../mixture';
import { exactBinCounts, numericParts, type ColumnSummary } from './column-summary';
import { EXACT_RESOLUTION, type Resolution } from './summary-options';

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

  /** The column's modal counts and points at `resolution`. */
  split(column: number, resolution: Resolution = EXACT_RESOLUTION): Derived {
    const key = `${column}/${resolution.bits}/${resolution.centres.join(',')}`;
    let derived = this.derived.get(key);
    if (derived === undefined) {
      derived = this.derive(column, resolution);
      this.derived.set(key, derived);
    }
    return derived;
  }

  points(column: number, set: PointSet, resolution: Resolution = EXACT_RESOLUTION): WeightedPoints {
    const split = this.split(column, resolution);
    return set === 'all' ? split.all : split.nonModal;
  }

  /**
   * Bins of the column's non-modal values at each resolution from MIN_BIN_BITS to the summary's
   * own, split at the regions of `centres`.
   */
  binCounts(column: number, centres: readonly number[]): number[] {
    const parts = numericParts(this.numeric(column));
    if (parts.rest.kind === 'points') return exactBinCounts(parts.rest.points.values, binRegions(centres));
    this.checkCentres(column, parts.rest.bins.centres, centres);
    return binCounts(parts.rest.bins);
  }

  private checkCentres(column: number, held: Float64Array, wanted: readonly number[]): void {
    if (!binRegions(wanted).sameAs(held)) {
      throw new RangeError(`column ${this.summaries[column].spec.name}: this shard's bins are split at other initial means than the fit's`);
    }
  }

  private derive(column: number, resolution: Resolution): Derived {
    const summary = this.numeric(column);
    const bits = resolution.bits;
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
    if (rest.kind === 'bins') this.checkCentres(column, rest.bins.centres, resolution.centres);
    const bins = rest.kind === 'bins' ? coarsenBins(rest.bins, bits) : binExactPoints(rest.points, bits, binRegions(resolution.centres));
    const nonModal = binnedWeightedPoints(bins);
    return { modalCounts: parts.modalCounts, nonModal, all: mergeSortedPoints(nonModal, parts.modal) };
  }
}

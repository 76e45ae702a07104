/**
 * The regions of the line nearest to each of a mixture's initial means. A fit from given means
 * starts by giving every row to its nearest mean (the hard assignment); a bin that straddled
 * the boundary between two regions would give all its rows to one of them, a first-order
 * error that the following EM iterations carry along. So bins are split at these boundaries
 * (a bin is a key and a region): the hard assignment of a binned fit is then that of the rows,
 * exactly, and only the E-step is evaluated per bin.
 */
import { nearestCentre } from './kmeans';

export class BinRegions {
  /** Per component (index into `centres`), the rank of its region from the left. */
  private readonly rankOf: Int32Array;

  /** `centres`: the initial means in component order (none: one region, the whole line). */
  constructor(readonly centres: Float64Array) {
    const distinct = [...new Set(Array.from(centres, (c) => c + 0))].sort((a, b) => a - b);
    this.rankOf = Int32Array.from(centres, (c) => distinct.indexOf(c + 0));
  }

  static readonly none = new BinRegions(new Float64Array(0));

  /**
   * The region of x: the rank of its nearest centre (as nearestCentre decides, ties and rounding
   * included). Nearest-centre regions are intervals, so the region never decreases as x grows.
   */
  of(x: number): number {
    return this.centres.length === 0 ? 0 : this.rankOf[nearestCentre(x, this.centres)];
  }

  /** Whether two summaries' regions are the same (so their bins can be merged). */
  sameAs(centres: Float64Array): boolean {
    if (centres.length !== this.centres.length) return false;
    for (let i = 0; i < centres.length; i++) if (!Object.is(centres[i], this.centres[i])) return false;
    return true;
  }
}

export function binRegions(centres: ArrayLike<number> | undefined): BinRegions {
  return centres === undefined || centres.length === 0 ? BinRegions.none : new BinRegions(Float64Array.from(centres));
}

/**
 * What the mode draw of a numeric value needs, remembered per distinct value: the cumulative
 * selection probabilities of the kept modes, and the alpha of the value under each kept mode.
 *
 * Everything in a row's encoding except the uniform it draws with depends on the value alone,
 * and real columns repeat their values (card amounts: about 68k distinct values per 1M rows),
 * so the posterior (k logs, k exps) is taken once per value instead of once per row. The cache
 * is direct-mapped over a fixed number of slots, so its memory does not grow with the data; a
 * column whose values are all distinct only pays a lookup per row. Cached numbers are the ones
 * the uncached path computes, by the same operations in the same order: the bits do not change.
 */

/** Slots per column by default: 2^16 of 8 B × (1 + 2 × kept modes) each (≤ 11 MB for 10 modes). */
export const DEFAULT_SELECTION_CACHE_BITS = 16;

export class SelectionCache {
  /**
   * One record per slot, side by side so that a lookup touches one or two cache lines: the
   * value it holds (NaN: empty; NaN never equals a value, so it never hits), then `kept`
   * cumulative probabilities (what drawFromRunningSums takes), then the alpha under each kept
   * mode (NaN until that mode is first drawn).
   */
  readonly table: Float64Array;
  /** Numbers per slot: 1 + 2 × kept. */
  readonly stride: number;
  private readonly mask: number;
  private readonly bits = new Float64Array(1);
  private readonly words = new Uint32Array(this.bits.buffer);

  constructor(
    /** Kept modes of the column. */
    readonly kept: number,
    slotBits = DEFAULT_SELECTION_CACHE_BITS,
  ) {
    if (!Number.isInteger(slotBits) || slotBits < 0 || slotBits > 24) throw new RangeError(`slot bits ${slotBits} not in [0, 24]`);
    const slots = 2 ** slotBits;
    this.mask = slots - 1;
    this.stride = 1 + 2 * kept;
    this.table = new Float64Array(slots * this.stride).fill(NaN);
  }

  /** Where the record of the slot that holds, or would hold, `x` starts in `table`. */
  recordOf(x: number): number {
    this.bits[0] = x;
    let h = Math.imul((this.words[0] as number) ^ Math.imul(this.words[1] as number, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    return (h & this.mask) * this.stride;
  }

  /** Whether the record at `at` holds `x` (bit for bit: −0 and +0 encode differently when a mean is 0). */
  holds(at: number, x: number): boolean {
    const key = this.table[at] as number;
    return key === x && (x !== 0 || 1 / key === 1 / x);
  }

  /** Gives the record at `at` to `x`: its probabilities are to be written, its alphas are unknown. */
  claim(at: number, x: number): void {
    this.table[at] = x;
    this.table.fill(NaN, at + 1 + this.kept, at + this.stride);
  }
}

/**
 * The float64 bit patterns binning is built on. A bin at resolution `bits` is the set of values
 * that agree in sign, exponent and the top `bits` mantissa bits; its key is any of them with
 * the other 52 − bits mantissa bits cleared. So every worker bins alike without agreeing on a
 * range first, bins nest (a bin at b bits lies inside one bin at every coarser resolution), and
 * a value's bin width is relative to its magnitude: ±1e6 outliers get bins of their own scale.
 * Within a bin, |x| = |key| + offset·ulp with a whole offset below 2^(52 − bits).
 */

/** The coarsest resolution there is: bins keep at least this many mantissa bits (offsets stay below 2^40). */
export const MIN_BIN_BITS = 12;
/** A float64's mantissa bits: at this resolution every bin is one value, i.e. the summary is exact. */
export const EXACT_BITS = 52;

// Hot loops call these through module-level bindings: a global lookup per call is an order of
// magnitude slower inside vm contexts such as jest's.
const { clz32, max, min } = Math;
const { is } = Object;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// The low word of a float64 is the first on a little-endian machine; every worker must agree.
const LOW = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 0 : 1;
const HIGH = 1 - LOW;
const TWO_32 = 4294967296;

export function checkBinBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < MIN_BIN_BITS || bits > EXACT_BITS) {
    throw new RangeError(`bin resolution must be a whole number of mantissa bits from ${MIN_BIN_BITS} to ${EXACT_BITS}, not ${bits}`);
  }
}

/** The key of x's bin: x with its low 52 − bits mantissa bits cleared (towards zero). */
export function binKey(x: number, bits: number): number {
  const drop = EXACT_BITS - bits;
  if (drop <= 0) return x;
  f64[0] = x;
  if (drop >= 32) {
    u32[LOW] = 0;
    u32[HIGH] &= ~(2 ** (drop - 32) - 1);
  } else {
    u32[LOW] &= ~(2 ** drop - 1);
  }
  return f64[0];
}

/** How many ulps |x| lies above |binKey(x, bits)|: the low 52 − bits mantissa bits as a whole number. */
export function binOffset(x: number, bits: number): number {
  const drop = EXACT_BITS - bits;
  if (drop <= 0) return 0;
  f64[0] = x;
  if (drop > 32) return (u32[HIGH] & (2 ** (drop - 32) - 1)) * TWO_32 + u32[LOW];
  if (drop === 32) return u32[LOW];
  return (u32[LOW] & (2 ** drop - 1)) >>> 0;
}

/**
 * binKey and binOffset of the values of one resolution, from one read of each value's bits (the
 * hot loop of binning rows calls both for every row): `cut(x)` returns x's bin key and leaves
 * its offset in `offset`. The same numbers as the two functions, bit for bit.
 */
export class BinCutter {
  /** binOffset of the last value cut. */
  offset = 0;
  private readonly drop: number;
  /** Mask of the dropped bits in the high word (drop > 32) or the low word (drop ≤ 32). */
  private readonly mask: number;

  constructor(bits: number) {
    this.drop = EXACT_BITS - bits;
    this.mask = this.drop > 32 ? 2 ** (this.drop - 32) - 1 : this.drop > 0 ? 2 ** this.drop - 1 : 0;
  }

  cut(x: number): number {
    const drop = this.drop;
    if (drop <= 0) {
      this.offset = 0;
      return x;
    }
    f64[0] = x;
    const low = u32[LOW];
    if (drop > 32) {
      const high = u32[HIGH];
      this.offset = (high & this.mask) * TWO_32 + low;
      u32[LOW] = 0;
      u32[HIGH] = high & ~this.mask;
    } else if (drop === 32) {
      this.offset = low;
      u32[LOW] = 0;
    } else {
      this.offset = (low & this.mask) >>> 0;
      u32[LOW] = low & ~this.mask;
    }
    return f64[0];
  }
}

/** The spacing of float64s around x (its binade's ulp; 2^-1074 for subnormals and zero), made from bits. */
export function ulpOf(x: number): number {
  f64[0] = x;
  const exponent = max(1, (u32[HIGH] >>> 20) & 0x7ff) - 1075;
  if (exponent >= -1022) {
    u32[HIGH] = (exponent + 1023) * 2 ** 20;
    u32[LOW] = 0;
  } else {
    const bit = exponent + 1074;
    u32[HIGH] = bit >= 32 ? 2 ** (bit - 32) : 0;
    u32[LOW] = bit < 32 ? 2 ** bit : 0;
  }
  return f64[0];
}

/** Whether x has its sign bit set (true for -0, which a negative value's key can be). */
export function signBit(x: number): boolean {
  return x < 0 || is(x, -0);
}

/** Bin keys in ascending order, -0 (the key of tiny negative values) before 0. */
export function compareKeys(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a !== 0) return 0;
  const sa = is(a, -0);
  return sa === is(b, -0) ? 0 : sa ? -1 : 1;
}

/** Same bin key (-0 and 0 are different bins: their values have different signs). */
export function sameKey(a: number, b: number): boolean {
  return a === b && (a !== 0 || is(a, -0) === is(b, -0));
}

/**
 * The finest resolution at which a and b (ascending neighbours) share a bin: the number of
 * leading mantissa bits they agree on, or -1 when sign or exponent differ (never one bin).
 */
function sharedBits(a: number, b: number): number {
  f64[0] = a;
  const ah = u32[HIGH];
  const al = u32[LOW];
  f64[0] = b;
  const h = (ah ^ u32[HIGH]) >>> 0;
  const first = h !== 0 ? clz32(h) : 32 + clz32((al ^ u32[LOW]) >>> 0);
  return first < 12 ? -1 : first - 12;
}

/**
 * How many bins ascending distinct keys (at resolution `bits`, or exact values at 52) fall into at
 * every resolution from MIN_BIN_BITS to `bits`: out[i] is the count at MIN_BIN_BITS + i. Bins
 * are runs in value order, so one pass over neighbours counts them all. With `regions` (per
 * key, bin-regions.ts), neighbours in different regions are in different bins at every resolution.
 */
export function binCountsByBits(keys: Float64Array, bits: number, regions?: ArrayLike<number>): number[] {
  const out = new Array<number>(bits - MIN_BIN_BITS + 1).fill(keys.length === 0 ? 0 : 1);
  if (keys.length === 0) return out;
  // splits[s] = neighbours that share exactly s leading mantissa bits (s = -1 stored at 0).
  const splits = new Float64Array(EXACT_BITS + 2);
  for (let i = 1; i < keys.length; i++) {
    const shared = regions !== undefined && regions[i] !== regions[i - 1] ? -1 : min(sharedBits(keys[i - 1], keys[i]), EXACT_BITS);
    splits[shared + 1]++;
  }
  // Neighbours are in different bins at resolution b when they share fewer than b bits.
  let below = 0;
  for (let s = -1, b = MIN_BIN_BITS; b <= bits; b++) {
    for (; s < b; s++) below += splits[s + 1];
    out[b - MIN_BIN_BITS] += below;
  }
  return out;
}

/** The finest resolution (at most `bits`) whose bin count is at most `maxBins`; MIN_BIN_BITS when none is. */
export function finestResolution(countsByBits: readonly number[], maxBins: number): number {
  for (let i = countsByBits.length - 1; i > 0; i--) if (countsByBits[i] <= maxBins) return MIN_BIN_BITS + i;
  return MIN_BIN_BITS;
}

/**
 * exp(x) for x ≤ 0 with the bits of Math.exp, as plain arithmetic the JIT inlines into a loop.
 *
 * Why: the E-step takes one exp per point and component, and Math.exp is a call out of the
 * optimised loop into V8's C++ (about two thirds of the E-step's time here). V8 computes exp
 * with fdlibm's algorithm (src/base/ieee754.cc); this is that algorithm in JavaScript: reduce
 * x to r = x − k·ln2 with |r| ≤ ln2/2 (ln2 in two parts, so k·ln2 is exact), a rational
 * approximation of exp(r), then scale by 2^k. Double arithmetic is IEEE in both, so the result
 * is the same bits (tests/unit/inline-exp.test.ts checks millions of arguments); positive
 * arguments, which the E-step never has, go to Math.exp itself.
 */

const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.4426950408889634074;
// The coefficients of fdlibm's approximation of r·(exp(r) + 1)/(exp(r) − 1) on |r| ≤ ln2/2.
const P1 = 1.66666666666666019037e-1;
const P2 = -2.77777777770155933842e-3;
const P3 = 6.61375632143793436117e-5;
const P4 = -1.65339022054652515390e-6;
const P5 = 4.13813679705723846039e-8;
/** Below this, exp(x) rounds to 0. */
const UNDERFLOW = -7.45133219101941108420e2;
/** 2^-1000: the last factor of a result near the subnormal range, scaled in two steps as fdlibm does. */
const TWO_M1000 = 9.33263618503218878990e-302;

/** The double whose high 32 bits are `high` and low 32 bits 0: fdlibm compares high words. */
function withHighWord(high: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, high);
  return view.getFloat64(0);
}
/** |x| ≥ this: fdlibm's "|x| > 0.5 ln2" (high word above 0x3fd62e42). */
const HALF_LN2 = withHighWord(0x3fd62e43);
/** |x| < this: fdlibm's "|x| < 1.5 ln2" (high word below 0x3ff0a2b2), where k is ±1. */
const ONE_AND_HALF_LN2 = withHighWord(0x3ff0a2b2);
/** |x| < 2^-28: exp(x) is 1 + x. */
const TINY = withHighWord(0x3e300000);

/** 2^-n at index n, for n in [0, 1021]: exact powers of two (halving a power of two is exact). */
const NEGATIVE_POWERS_OF_TWO = (() => {
  const out = new Float64Array(1022);
  let p = 1;
  for (let n = 0; n < out.length; n++, p /= 2) out[n] = p;
  return out;
})();

export function inlineExp(x: number): number {
  if (!(x <= 0)) return Math.exp(x); // positive or NaN
  if (x < UNDERFLOW) return 0;
  let hi = 0;
  let lo = 0;
  let k = 0;
  if (x <= -HALF_LN2) {
    if (x > -ONE_AND_HALF_LN2) {
      hi = x + LN2_HI;
      lo = -LN2_LO;
      k = -1;
    } else {
      // Truncation toward zero, as C's (int) cast.
      k = Math.trunc(INV_LN2 * x - 0.5);
      hi = x - k * LN2_HI;
      lo = k * LN2_LO;
    }
    x = hi - lo;
  } else if (x > -TINY) {
    return 1 + x;
  }
  const t = x * x;
  const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k === 0) return 1 - ((x * c) / (c - 2) - x);
  const y = 1 - (lo - (x * c) / (2 - c) - hi);
  if (k >= -1021) return y * (NEGATIVE_POWERS_OF_TWO[-k] as number);
  return y * (NEGATIVE_POWERS_OF_TWO[-(k + 1000)] as number) * TWO_M1000;
}

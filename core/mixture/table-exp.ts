/**
 * exp(x) for the E-step's x ≤ 0, table-driven, as plain arithmetic the JIT inlines into a loop.
 *
 * Why: the E-step takes one exp per point and component, and that exp was half of its time.
 * Math.exp is a call out of the optimised loop into V8's C++ fdlibm; fdlibm's algorithm inlined
 * in JavaScript still spends a division and several data-dependent branches per call. This is
 * the table method of today's libms (musl, ARM's optimized-routines), without the division:
 * x = (k·128 + i)·ln2/128 + r with |r| ≤ ln2/256, so exp(x) = 2^k · 2^(i/128) · exp(r), with
 * 2^(i/128) from a table of correctly rounded doubles and exp(r) − 1 from a degree-5 Taylor
 * polynomial (the next term is below 2^-60 relative).
 *
 * Accuracy: within about one ulp of the true value (tests/unit/table-exp.test.ts measures it
 * against an exact reference), as fdlibm's; the bits can differ from Math.exp's in the last
 * place. Deterministic, which is what the model needs: every fit computes responsibilities
 * with this same function, embedded or on Kafka, on any thread.
 *
 * Arguments outside [−708.39, 0] (positive, NaN, or a result below the smallest normal double,
 * where the scaling would round twice) go to Math.exp itself; the E-step's shifted
 * log-probabilities are never positive and rarely that small.
 */

const TABLE_BITS = 7;
const TABLE_SIZE = 1 << TABLE_BITS;
const INDEX_MASK = TABLE_SIZE - 1;
/** 128/ln2: x·this is x in units of ln2/128. */
const SCALED_INV_LN2 = TABLE_SIZE / Math.LN2;
/**
 * ln2/128 in two parts (fdlibm's ln2 split, divided by 128 exactly): the high part has its low
 * 21 bits zero, so k·LN2_HI_N is exact for the |k| < 2^17 that reach it.
 */
const LN2_HI_N = 6.93147180369123816490e-1 / TABLE_SIZE;
const LN2_LO_N = 1.90821492927058770002e-10 / TABLE_SIZE;
/** 1.5·2^52: adding and subtracting it rounds a double of magnitude < 2^51 to an integer. */
const ROUND_SHIFT = 6755399441055744;
/** ln(2^-1022): below it the result is subnormal. */
const SMALLEST_NORMAL_ARG = -708.3964185322641;
// The Taylor coefficients of exp(r) − 1 after r.
const C2 = 1 / 2;
const C3 = 1 / 6;
const C4 = 1 / 24;
const C5 = 1 / 120;

/**
 * 2^(i/128) rounded to the nearest double, i in [0, 128). Math.pow is not always correctly
 * rounded, so each entry is checked exactly: the double M·2^-52 is the nearest to 2^(i/128)
 * when the midpoints on either side, (2M ± 1)·2^-53, raised to the 128th power, bracket 2^i.
 */
function powersOfTwoTable(): Float64Array {
  const table = new Float64Array(TABLE_SIZE);
  for (let i = 0; i < TABLE_SIZE; i++) {
    let m = BigInt(Math.round(Math.pow(2, i / TABLE_SIZE) * 2 ** 52));
    const target = 1n << BigInt(i + 53 * TABLE_SIZE);
    const exponent = BigInt(TABLE_SIZE);
    for (;;) {
      if ((2n * m + 1n) ** exponent <= target) m++;
      else if ((2n * m - 1n) ** exponent >= target) m--;
      else break;
    }
    table[i] = Number(m) / 2 ** 52;
  }
  return table;
}
const POWERS = powersOfTwoTable();

/** 2^-n at index n, for n in [0, 1022]: exact powers of two. */
const NEGATIVE_POWERS_OF_TWO = (() => {
  const out = new Float64Array(1023);
  let p = 1;
  for (let n = 0; n < out.length; n++, p /= 2) out[n] = p;
  return out;
})();

export function tableExp(x: number): number {
  if (!(x <= 0 && x >= SMALLEST_NORMAL_ARG)) return Math.exp(x);
  const kd = x * SCALED_INV_LN2 + ROUND_SHIFT - ROUND_SHIFT;
  const r = x - kd * LN2_HI_N - kd * LN2_LO_N;
  const k = kd | 0;
  const t = POWERS[k & INDEX_MASK] as number;
  const p = r + r * r * (C2 + r * (C3 + r * (C4 + r * C5)));
  // k >> 7 is floor(k/128) ≤ 0; its negation is an index (| 0 turns −0 into 0).
  return (t + t * p) * (NEGATIVE_POWERS_OF_TWO[-(k >> TABLE_BITS) | 0] as number);
}

/**
 * tableExp is the E-step's exp: it must be as accurate as a libm's (within about an ulp of the
 * true value) over the whole range the E-step calls it on, and exactly Math.exp outside it.
 * The truth here is an exact computation in 200-bit fixed point with BigInt.
 */
import { tableExp } from '../../core/mixture/table-exp';
import { mulberry32 } from '../support/random';

const PRECISION = 200n;
const ONE = 1n << PRECISION;

/** ln 2 · 2^200, from ln 2 = Σ_{k≥1} 1/(k·2^k). */
const LN2 = (() => {
  let sum = 0n;
  for (let k = 1n; k < PRECISION + 20n; k++) sum += ONE / (k << k);
  return sum;
})();

/** The double x ≤ 0 as an exact 2^200 fixed-point BigInt (|x| ≥ 2^-100 here). */
function fixed(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, -x);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn) - 1075;
  const mantissa = (bits & ((1n << 52n) - 1n)) | (1n << 52n);
  const shift = BigInt(exponent) + PRECISION;
  return -(shift >= 0n ? mantissa << shift : mantissa >> -shift);
}

/** exp(x) for a double x ≤ 0, as a double-free pair: exp(x) = m · 2^(e − 200), m exact to ~2^-190. */
function exactExp(x: number): { m: bigint; e: number } {
  const fx = fixed(x);
  // x = q·ln2 + r with r in [0, ln2): exp(x) = 2^q · exp(r), and exp(r) by its Taylor series.
  let q = fx / LN2;
  if (fx < q * LN2) q -= 1n;
  const r = fx - q * LN2;
  let term = ONE;
  let sum = ONE;
  for (let k = 1n; term !== 0n; k++) {
    term = (term * r) / (ONE * k);
    sum += term;
  }
  return { m: sum, e: Number(q) };
}

/** |y − exp(x)| in units in the last place of y (y a positive normal double). */
function ulpError(x: number, y: number): number {
  const { m, e } = exactExp(x);
  // y = Y · 2^(ye) with Y a 53-bit integer; one ulp of y is 2^(ye).
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, y);
  const bits = view.getBigUint64(0);
  const ye = Number((bits >> 52n) & 0x7ffn) - 1075;
  const Y = (bits & ((1n << 52n) - 1n)) | (1n << 52n);
  // exp(x) in units of 2^(ye), scaled by 2^40 to keep a fraction of an ulp.
  const shift = BigInt(e - Number(PRECISION) - ye + 40);
  const truth = shift >= 0n ? m << shift : m >> -shift;
  const diff = (Y << 40n) - truth;
  return Number(diff < 0n ? -diff : diff) / 2 ** 40;
}

function* uniform(n: number, lo: number, hi: number, seed: number): Generator<number> {
  const rand = mulberry32(seed);
  for (let i = 0; i < n; i++) yield lo + (hi - lo) * rand();
}

function worstUlp(xs: Iterable<number>): { worst: number; at: number } {
  let worst = 0;
  let at = NaN;
  for (const x of xs) {
    const error = ulpError(x, tableExp(x));
    if (!(error <= worst)) [worst, at] = [error, x];
  }
  return { worst, at };
}

describe('tableExp', () => {
  it('reproduces the exact reference on values known in closed form', () => {
    // The reference itself: exp(−ln 2 · j) = 2^-j up to the rounding of ln 2's double.
    expect(ulpError(-Math.LN2, 0.5)).toBeLessThan(0.5);
    expect(ulpError(-1, Math.exp(-1))).toBeLessThan(1);
  });

  it.each([
    ['the bulk of the E-step range', 20_000, -50, 0],
    ['near zero, where the table index is 0', 5_000, -0.01, 0],
    ['a few table steps', 5_000, -0.1, 0],
    ['down to the smallest normal result', 10_000, -708.39, -50],
  ])('is within an ulp of exp over %s (%i draws)', (_, n, lo, hi) => {
    const { worst, at } = worstUlp(uniform(n, lo, hi, n + Math.round(-lo)));
    expect({ worst: worst < 1.02, at }).toEqual({ worst: true, at });
  });

  it('is within an ulp at every table entry and its neighbours', () => {
    const xs: number[] = [];
    for (let k = -140; k <= 0; k++) {
      const x = (k * Math.LN2) / 128;
      xs.push(x, x * (1 + 2 ** -50), x * (1 - 2 ** -50), x - Math.LN2 / 256, x + Math.LN2 / 256);
    }
    const { worst, at } = worstUlp(xs.filter((x) => x < 0));
    expect({ worst: worst < 1.02, at }).toEqual({ worst: true, at });
  });

  it('is exactly 1 at 0 and at −0', () => {
    expect(tableExp(0)).toBe(1);
    expect(tableExp(-0)).toBe(1);
  });

  it('is Math.exp outside [−708.39, 0]: positive, subnormal results, underflow, infinities, NaN', () => {
    for (const x of [1e-300, 0.5, 1, 700, 710, Infinity, -708.4, -709.78, -720, -745.1332191019411, -745.14, -1e6, -Infinity, NaN]) {
      expect(Object.is(tableExp(x), Math.exp(x))).toBe(true);
    }
  });
});

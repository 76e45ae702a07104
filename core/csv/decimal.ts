/**
 * Decimal numbers straight from CSV bytes, for the common case only: an exact and fast answer
 * where one is cheap, NaN where the caller must take the general path (the text and
 * parseFiniteNumber). Whatever it accepts, parseFiniteNumber accepts with the same value.
 * parseFiniteNumberBytes joins the two.
 */
import { parseFiniteNumber } from '../normalization/column-spec';

const ZERO = 0x30;
const NINE = 0x39;
const DOT = 0x2e;
const PLUS = 0x2b;
const MINUS = 0x2d;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

/** Powers of ten that are exact doubles (10^22 is the largest). */
const EXACT_POWERS = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
/** Significant digits whose integer stays below 2^53 (so it is exact). */
const MAX_EXACT_DIGITS = 15;
/** Significant digits read in all: the integer stays below 2^64, exact as a double-double. */
const MAX_DIGITS = 19;

/** Dekker's splitter, 2^27 + 1: splits a double into two halves whose products are exact. */
const SPLITTER = 134217729;

// The two parts of the last double-double result, kept here rather than in a new object per value.
let hiPart = 0;
let loPart = 0;

/** a · b exactly, as hiPart + loPart (Dekker's two-product; no fused multiply-add in JavaScript). */
function twoProduct(a: number, b: number): void {
  const p = a * b;
  let c = SPLITTER * a;
  const aHi = c - (c - a);
  const aLo = a - aHi;
  c = SPLITTER * b;
  const bHi = c - (c - b);
  const bLo = b - bHi;
  hiPart = p;
  loPart = aHi * bHi - p + aHi * bLo + aLo * bHi + aLo * bLo;
}

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * The double nearest to hi + lo, where hi + lo (|lo| ≤ half an ulp of hi, hi = fl(hi + lo)) is
 * within 2^-100 of the exact value; NaN when the exact value may lie on the other side of a
 * midpoint between two doubles (a tie or all but one), or hi is a power of two (where the ulp
 * changes), so that the caller takes the general path.
 */
function nearest(hi: number, lo: number): number {
  if (lo === 0) return hi;
  bits[0] = hi;
  const high = words[HIGH] as number;
  const exponent = (high >>> 20) & 0x7ff;
  // Subnormal, infinite or a power of two: leave it to Number.
  if (exponent <= 53 || exponent === 0x7ff || ((high & 0xfffff) === 0 && words[1 - HIGH] === 0)) return NaN;
  // Half an ulp of hi is 2^(exponent - 1023 - 53).
  words[HIGH] = (exponent - 53) << 20;
  words[1 - HIGH] = 0;
  const halfUlp = bits[0] as number;
  return Math.abs(Math.abs(lo) - halfUlp) <= halfUlp * 2 ** -44 ? NaN : hi;
}

/**
 * (mHi + mLo) · 10^scale correctly rounded, for |scale| ≤ 22 (10^|scale| exact), or NaN when
 * the rounding cannot be decided (see nearest). The product or quotient is carried as a
 * double-double (about 105 bits), far more than the 64 of the integer, so only values within
 * 2^-97 of a midpoint are undecided.
 */
function scaled(mHi: number, mLo: number, scale: number): number {
  if (scale >= 0) {
    const power = EXACT_POWERS[scale] as number;
    twoProduct(mHi, power);
    const lo = loPart + mLo * power;
    const hi = hiPart + lo;
    return nearest(hi, lo - (hi - hiPart));
  }
  const power = EXACT_POWERS[-scale] as number;
  const q1 = mHi / power;
  twoProduct(q1, power);
  // mHi - hiPart is exact (they are within a factor of two of each other).
  const q2 = (mHi - hiPart - loPart + mLo) / power;
  const hi = q1 + q2;
  return nearest(hi, q2 - (hi - q1));
}

/**
 * The value of bytes[from, to) when it is a plain decimal — an optional sign, digits with an
 * optional point, an optional exponent, no blanks — with at most 19 significant digits and a
 * scale within 10^±22; otherwise NaN. Up to 15 digits the mantissa and the power of ten are both
 * exact doubles, so one multiplication or division rounds once and gives the correctly rounded
 * value, the same as Number() (Clinger's fast path). From 16 to 19 digits (full-precision
 * floats print 17) the mantissa is an exact double-double and the product or quotient is
 * rounded from a double-double, again the value Number() gives; the rare value too close to a
 * midpoint to tell is NaN.
 */
export function parseDecimalBytes(bytes: Uint8Array, from: number, to: number): number {
  let i = from;
  if (i >= to) return NaN;
  let negative = false;
  let c = bytes[i] as number;
  if (c === MINUS || c === PLUS) {
    negative = c === MINUS;
    i++;
  }
  // The first 15 significant digits in `mantissa`, the next ones (up to 4) in `tail`.
  let mantissa = 0;
  let tail = 0;
  let tailDigits = 0;
  let significant = 0;
  let digits = 0;
  let scale = 0;
  let point = false;
  for (; i < to; i++) {
    c = bytes[i] as number;
    if (c === DOT && !point) {
      point = true;
      continue;
    }
    if (c < ZERO || c > NINE) break;
    digits++;
    if (point) scale--;
    if (significant === 0 && c === ZERO) continue;
    if (++significant > MAX_EXACT_DIGITS) {
      if (significant > MAX_DIGITS) return NaN;
      tail = tail * 10 + (c - ZERO);
      tailDigits++;
    } else {
      mantissa = mantissa * 10 + (c - ZERO);
    }
  }
  if (digits === 0) return NaN;
  if (i < to) {
    c = bytes[i] as number;
    if (c !== LOWER_E && c !== UPPER_E) return NaN;
    i++;
    let expNegative = false;
    if (i < to && (bytes[i] === MINUS || bytes[i] === PLUS)) {
      expNegative = bytes[i] === MINUS;
      i++;
    }
    if (i >= to || to - i > 4) return NaN;
    let exponent = 0;
    for (; i < to; i++) {
      c = bytes[i] as number;
      if (c < ZERO || c > NINE) return NaN;
      exponent = exponent * 10 + (c - ZERO);
    }
    scale += expNegative ? -exponent : exponent;
  }
  let value: number;
  if (mantissa === 0) value = 0;
  else if (tailDigits > 0) {
    // The integer: mantissa · 10^tailDigits + tail, exactly, as a double-double.
    if (scale > 22 || scale < -22) return NaN;
    twoProduct(mantissa, EXACT_POWERS[tailDigits] as number);
    const sum = hiPart + tail;
    // Both errors are whole numbers below 2^12: their sum is exact.
    const mLo = loPart + (tail - (sum - hiPart));
    const mHi = sum + mLo;
    value = scaled(mHi, mLo - (mHi - sum), scale);
    if (value !== value) return NaN;
  } else if (scale >= 0 && scale <= 22) value = mantissa * (EXACT_POWERS[scale] as number);
  else if (scale < 0 && scale >= -22) value = mantissa / (EXACT_POWERS[-scale] as number);
  else return NaN;
  return negative ? -value : value;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * parseFiniteNumber of the trimmed UTF-8 text of bytes[from, to), read straight from the bytes
 * where that is exact (parseDecimalBytes) and from the text otherwise; null also for bytes that
 * are not UTF-8.
 */
export function parseFiniteNumberBytes(bytes: Uint8Array, from: number, to: number): number | null {
  const fast = parseDecimalBytes(bytes, from, to);
  if (fast === fast) return fast;
  let text: string;
  try {
    text = fatalUtf8.decode(bytes.subarray(from, to));
  } catch {
    return null;
  }
  return parseFiniteNumber(text.trim());
}

/**
 * Decimal numbers straight from CSV bytes, for the common case only: an exact and fast answer
 * where one is cheap, NaN where the caller must take the general path (the text and
 * parseFiniteNumber). Whatever it accepts, parseFiniteNumber accepts with the same value.
 */

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
const MAX_DIGITS = 15;

/**
 * The value of bytes[from, to) when it is a plain decimal — an optional sign, digits with an
 * optional point, an optional exponent, no blanks — with at most 15 significant digits and a
 * scale within 10^±22; otherwise NaN. Then mantissa and power of ten are both exact doubles,
 * so one multiplication or division rounds once and gives the correctly rounded value, the same
 * as Number() (Clinger's fast path).
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
  let mantissa = 0;
  let significant = 0;
  let digits = 0;
  let scale = 0;
  for (; i < to; i++) {
    c = bytes[i] as number;
    if (c < ZERO || c > NINE) break;
    digits++;
    if (mantissa === 0 && c === ZERO) continue;
    if (++significant > MAX_DIGITS) return NaN;
    mantissa = mantissa * 10 + (c - ZERO);
  }
  if (i < to && bytes[i] === DOT) {
    for (i++; i < to; i++) {
      c = bytes[i] as number;
      if (c < ZERO || c > NINE) break;
      digits++;
      scale--;
      if (mantissa === 0 && c === ZERO) continue;
      if (++significant > MAX_DIGITS) return NaN;
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
  else if (scale >= 0 && scale <= 22) value = mantissa * (EXACT_POWERS[scale] as number);
  else if (scale < 0 && scale >= -22) value = mantissa / (EXACT_POWERS[-scale] as number);
  else return NaN;
  return negative ? -value : value;
}

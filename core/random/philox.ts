/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", 2011):
 * a counter-based generator. The output for (key, counter) is a pure function of
 * both, so a random draw keyed by (seed, row id, column) is the same whichever
 * worker computes it and however the rows are batched.
 */

// Bound once: a global `Math` lookup per call is an order of magnitude slower inside
// vm contexts such as jest's.
const { floor, imul } = Math;
const { isSafeInteger } = Number;

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

export type Words4 = [number, number, number, number];

// The multipliers in 16-bit halves, for the 64-bit products below.
const M0_LO = M0 & 0xffff;
const M0_HI = M0 >>> 16;
const M1_LO = M1 & 0xffff;
const M1_HI = M1 >>> 16;

/** Output words of the last philoxInto call: no array allocated per draw. */
const words = new Uint32Array(4);

/**
 * Ten rounds on the counter (c0..c3) with the key (k0, k1); the 4 output words go to `words`.
 * The high word of each 32×32-bit product is put together from 16-bit partial products (each
 * exact in a double), the low word is Math.imul's; all in locals, as this runs once per draw.
 */
function philoxInto(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): void {
  for (let round = 0; round < 10; round++) {
    const a = c0 & 0xffff;
    const b = c0 >>> 16;
    const ll0 = M0_LO * a;
    const lh0 = M0_LO * b;
    const hl0 = M0_HI * a;
    const hi0 = (M0_HI * b + (lh0 >>> 16) + (hl0 >>> 16) + (((ll0 >>> 16) + (lh0 & 0xffff) + (hl0 & 0xffff)) >>> 16)) >>> 0;
    const lo0 = imul(M0, c0) >>> 0;
    const c = c2 & 0xffff;
    const d = c2 >>> 16;
    const ll1 = M1_LO * c;
    const lh1 = M1_LO * d;
    const hl1 = M1_HI * c;
    const hi1 = (M1_HI * d + (lh1 >>> 16) + (hl1 >>> 16) + (((ll1 >>> 16) + (lh1 & 0xffff) + (hl1 & 0xffff)) >>> 16)) >>> 0;
    const lo1 = imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  words[0] = c0;
  words[1] = c1;
  words[2] = c2;
  words[3] = c3;
}

/** The 4 output words for a 4-word counter and a 2-word key. */
export function philox4x32(counter: Readonly<Words4>, key0: number, key1: number): Words4 {
  philoxInto(counter[0] >>> 0, counter[1] >>> 0, counter[2] >>> 0, counter[3] >>> 0, key0 >>> 0, key1 >>> 0);
  return [words[0], words[1], words[2], words[3]];
}

/** A double uniform on [0, 1) with 53 random bits from two output words. */
export function wordsToUnit(hi: number, lo: number): number {
  return ((hi >>> 5) * 67108864 + (lo >>> 6)) / 9007199254740992;
}

const TWO_32 = 4294967296;

/** Splits a non-negative integer below 2^53 into its low and high 32-bit words. */
export function splitUint53(n: number): [number, number] {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`expected a safe non-negative integer, got ${n}`);
  return [n % TWO_32, floor(n / TWO_32)];
}

/**
 * A uniform draw on [0, 1) that depends only on (seed, stream, index, lane):
 * e.g. (seed, source partition, row offset, column).
 */
export function counterUniform(seed: number, stream: number, index: number, lane: number): number {
  const [seedLo, seedHi] = splitUint53(seed);
  const [indexLo, indexHi] = splitUint53(index);
  philoxInto(indexLo, indexHi, stream >>> 0, lane >>> 0, seedLo, seedHi);
  return wordsToUnit(words[0], words[1]);
}

/**
 * counterUniform for many counters at once: out[i] = counterUniform(seed, streams[i],
 * indices[i], lanes[i]) for i < count, bit for bit, without an object per draw.
 */
export function counterUniformsInto(
  seed: number,
  streams: ArrayLike<number>,
  indices: ArrayLike<number>,
  lanes: ArrayLike<number>,
  count: number,
  out: Float64Array,
): void {
  const [seedLo, seedHi] = splitUint53(seed);
  for (let i = 0; i < count; i++) {
    const index = indices[i];
    if (!isSafeInteger(index) || index < 0) splitUint53(index); // throws the same RangeError
    philoxInto(index % TWO_32, floor(index / TWO_32), streams[i] >>> 0, lanes[i] >>> 0, seedLo, seedHi);
    out[i] = wordsToUnit(words[0], words[1]);
  }
}

/** A sequential stream over Philox: draw i of stream s of a seed is counterUniform(seed, s, i, 0). */
export class CounterRandom {
  private index = 0;

  constructor(
    private readonly seed: number,
    private readonly stream = 0,
  ) {
    splitUint53(seed);
  }

  next(): number {
    return counterUniform(this.seed, this.stream, this.index++, 0);
  }
}

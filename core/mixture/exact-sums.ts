/**
 * Exact sums of a bin's offsets and squared offsets, as whole numbers in float64 limbs of base
 * 2^40. Exact arithmetic is what makes a binned summary a function of its rows alone: adding
 * the same rows in any order, in any split, gives the same limbs bit for bit (float sums would
 * depend on the order, and so would the model).
 *
 * Per bin: the offset sum in 2 limbs (below 2^93: counts below 2^53 times offsets below 2^40)
 * and the squared-offset sum in 3 (below 2^133). Lower limbs are kept below 2^40 after every
 * operation (so equal sums have equal limbs); every partial product is below 2^42, so no step
 * rounds.
 */

export const SUM_LIMBS = 2;
export const SQUARE_LIMBS = 3;

const LIMB = 2 ** 40;
const HALF = 2 ** 20;
const EXACT = 2 ** 53;
const { floor } = Math;

/** Moves what lies above 2^40 in each lower limb into the next one; the top limb must stay exact. */
function normalise(limbs: Float64Array, at: number, length: number): void {
  for (let i = at; i < at + length - 1; i++) {
    const v = limbs[i];
    if (v >= LIMB) {
      const carry = floor(v / LIMB);
      limbs[i] = v - carry * LIMB;
      limbs[i + 1] += carry;
    }
  }
  if (limbs[at + length - 1] >= EXACT) throw new RangeError('exact bin sum overflow');
}

/** Adds p (whole, below 2^43) times 2^(20·half) into the limbs (not yet normalised). */
function addAtHalf(limbs: Float64Array, at: number, length: number, p: number, half: number): void {
  if (p === 0) return;
  const limb = half >> 1;
  if (limb >= length) throw new RangeError('exact bin sum overflow');
  if ((half & 1) === 0) {
    limbs[at + limb] += p;
  } else if (limb === length - 1) {
    // The top limb holds any whole number below 2^53: no need to split.
    limbs[at + limb] += p * HALF;
  } else {
    const high = floor(p / HALF);
    limbs[at + limb] += (p - high * HALF) * HALF;
    limbs[at + limb + 1] += high;
  }
}

/** Adds c·x·2^(20·half) exactly, for whole c below 2^53 and x below 2^42 (partial products below 2^43), then normalises. */
export function addProduct(limbs: Float64Array, at: number, length: number, c: number, x: number, half = 0): void {
  if (c === 0 || x === 0) return;
  const c0 = c % HALF;
  const c1 = floor(c / HALF) % HALF;
  const c2 = floor(c / LIMB);
  const x0 = x % HALF;
  const x1 = floor(x / HALF);
  addAtHalf(limbs, at, length, c0 * x0, half);
  addAtHalf(limbs, at, length, c0 * x1 + c1 * x0, half + 1);
  addAtHalf(limbs, at, length, c1 * x1 + c2 * x0, half + 2);
  addAtHalf(limbs, at, length, c2 * x1, half + 3);
  normalise(limbs, at, length);
}

/** target[t..t+length) += source[s..s+length), exactly. */
export function addLimbs(target: Float64Array, t: number, source: Float64Array, s: number, length: number): void {
  for (let i = 0; i < length; i++) target[t + i] += source[s + i];
  normalise(target, t, length);
}

/** Bin t of (sums, squares) = bin i of a + bin j of b, exactly: the merge of two equal keys. */
export function addSums(
  sums: Float64Array,
  squares: Float64Array,
  t: number,
  aSums: Float64Array,
  aSquares: Float64Array,
  i: number,
  bSums: Float64Array,
  bSquares: Float64Array,
  j: number,
): void {
  for (let l = 0; l < SUM_LIMBS; l++) sums[t * SUM_LIMBS + l] = aSums[i * SUM_LIMBS + l] + bSums[j * SUM_LIMBS + l];
  for (let l = 0; l < SQUARE_LIMBS; l++) squares[t * SQUARE_LIMBS + l] = aSquares[i * SQUARE_LIMBS + l] + bSquares[j * SQUARE_LIMBS + l];
  normalise(sums, t * SUM_LIMBS, SUM_LIMBS);
  normalise(squares, t * SQUARE_LIMBS, SQUARE_LIMBS);
}

/** Adds one row's offset d (whole, below 2^40) and d² to a bin's sums: the builder's hot path. */
export function addOffset(sums: Float64Array, squares: Float64Array, bin: number, d: number): void {
  if (d === 0) return;
  const s = bin * SUM_LIMBS;
  let lo = sums[s] + d;
  if (lo >= LIMB) {
    lo -= LIMB;
    sums[s + 1] += 1;
  }
  sums[s] = lo;
  // d² = a²·2^40 + 2ab·2^20 + b², with d = a·2^20 + b.
  const a = floor(d / HALF);
  const b = d - a * HALF;
  const cross = 2 * a * b;
  const crossHigh = floor(cross / HALF);
  const q = bin * SQUARE_LIMBS;
  let l0 = squares[q] + b * b + (cross - crossHigh * HALF) * HALF;
  let l1 = squares[q + 1] + a * a + crossHigh;
  if (l0 >= LIMB) {
    const carry = floor(l0 / LIMB);
    l0 -= carry * LIMB;
    l1 += carry;
  }
  if (l1 >= LIMB) {
    const carry = floor(l1 / LIMB);
    l1 -= carry * LIMB;
    squares[q + 2] += carry;
  }
  squares[q] = l0;
  squares[q + 1] = l1;
}

/**
 * Adds to bin `t` the rows of a bin with `count` rows and offset sums (sums, squares at `s`),
 * each offset increased by delta (whole, below 2^40): Σ(d+δ) = Σd + nδ and
 * Σ(d+δ)² = Σd² + 2δΣd + nδ². Merging (δ = 0), coarsening (δ = the old key's offset in the
 * coarser bin) and binning an exact value (no sums, δ = its offset) are all this.
 */
export function addShiftedBin(
  sums: Float64Array,
  squares: Float64Array,
  t: number,
  count: number,
  fromSums: Float64Array | null,
  fromSquares: Float64Array | null,
  s: number,
  delta: number,
): void {
  const ts = t * SUM_LIMBS;
  const tq = t * SQUARE_LIMBS;
  if (fromSums !== null && fromSquares !== null) {
    addLimbs(sums, ts, fromSums, s * SUM_LIMBS, SUM_LIMBS);
    addLimbs(squares, tq, fromSquares, s * SQUARE_LIMBS, SQUARE_LIMBS);
    if (delta > 0) {
      // 2δ·Σd, limb by limb.
      addProduct(squares, tq, SQUARE_LIMBS, fromSums[s * SUM_LIMBS], 2 * delta, 0);
      addProduct(squares, tq, SQUARE_LIMBS, fromSums[s * SUM_LIMBS + 1], 2 * delta, 2);
    }
  }
  if (delta > 0) {
    addProduct(sums, ts, SUM_LIMBS, count, delta, 0);
    const a = floor(delta / HALF);
    const b = delta - a * HALF;
    addProduct(squares, tq, SQUARE_LIMBS, count, b * b, 0);
    addProduct(squares, tq, SQUARE_LIMBS, count, 2 * a * b, 1);
    addProduct(squares, tq, SQUARE_LIMBS, count, a * a, 2);
  }
}

/** A limb sum as a float64 (rounded once, in a fixed order, so equal limbs give equal numbers). */
export function sumValue(sums: Float64Array, bin: number): number {
  const s = bin * SUM_LIMBS;
  return sums[s + 1] * LIMB + sums[s];
}

export function squareValue(squares: Float64Array, bin: number): number {
  const q = bin * SQUARE_LIMBS;
  return (squares[q + 2] * LIMB + squares[q + 1]) * LIMB + squares[q];
}

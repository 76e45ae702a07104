/**
 * Property tests of the partial statistics (ARCHITECTURE.md, "The fit round protocol"): for the golden fixtures' data, split
 * the rows into random partitions (random sizes, empty ones included), compute each
 * partition's partial, merge the partials in random orders and random tree shapes, and
 * check that everything computed from the merge (M-step, lower bound, moments, Lloyd
 * centres, the whole fit) equals the same computed from one partition to rtol 1e-12.
 * Also: the merges are numerically stable.
 *
 * Everything random comes from seeded Philox streams, so a failure reproduces exactly.
 */
import { mergeAll } from '../../core/combine';
import {
  componentStatsCombine,
  eStepStats,
  expandPoints,
  fitVbgmm,
  hardAssignmentStats,
  lloydCombine,
  lloydPartial,
  lloydUpdate,
  logProbTerms,
  lowerBound,
  momentsCombine,
  momentsOf,
  mStep,
  nearestCentre,
  posteriorInto,
  resolvePriors,
  SAMPLE_POINTS_PER_SHARD,
  summarise,
  unitPoints,
  type ComponentStats,
  type FitInit,
  type LloydPartial,
  type Moments,
  type VbgmmFit,
  type VbgmmOptions,
  type VbgmmParams,
  type WeightedPoints,
} from '../../core/mixture';
import { CounterRandom } from '../../core/random/philox';
import { expectAllClose } from '../support/close-to';
import { fixtureOptions, loadSklearnFixtures, type SklearnFixture } from '../support/sklearn-fixtures';

const RTOL = 1e-12;
const fixtures = loadSklearnFixtures();

// ---------------------------------------------------------------------------------------
// Random partitions and random merge shapes
// ---------------------------------------------------------------------------------------

class Rng {
  private readonly random: CounterRandom;
  constructor(seed: number, stream = 0) {
    this.random = new CounterRandom(seed, stream);
  }
  next(): number {
    return this.random.next();
  }
  int(n: number): number {
    return Math.floor(this.random.next() * n);
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Splits rows into 1..maxParts partitions of random sizes; about a quarter of the partitions
 * are empty. Rows are taken in a random affine order i ↦ (a·i + b) mod n (gcd(a, n) = 1), so
 * a partition is a scattered subset of the rows, neither a value range nor a run of the
 * input. (A full shuffle would need a Philox draw per row, which costs seconds per split
 * under jest; this needs a handful of draws per split.)
 */
function randomPartitions(rows: readonly number[], rng: Rng, maxParts = 8): number[][] {
  const n = rows.length;
  const parts = 1 + rng.int(maxParts);
  const weights: number[] = Array.from({ length: parts }, () => (rng.next() < 0.25 ? 0 : rng.next() ** 2 + 1e-3));
  if (!weights.some((w) => w > 0)) weights[rng.int(parts)] = 1;
  const total = weights.reduce((x, y) => x + y, 0);
  let a = 1;
  if (n > 2) {
    do a = 1 + rng.int(n - 1);
    while (gcd(a, n) !== 1);
  }
  const b = rng.int(n);
  const out: number[][] = [];
  let cumulative = 0;
  let start = 0;
  for (let p = 0; p < parts; p++) {
    cumulative += weights[p];
    const end = p === parts - 1 ? n : Math.round((n * cumulative) / total);
    const part: number[] = [];
    for (let i = start; i < end; i++) part.push(rows[(a * i + b) % n]);
    out.push(part);
    start = end;
  }
  return out;
}

/** Σ|x| / n: the scale to which any summation order can compute the mean of the column. */
function meanAbs(rows: readonly number[]): number {
  return rows.reduce((acc, x) => acc + Math.abs(x), 0) / rows.length;
}

/** Merges by repeatedly combining two random items (in random argument order): a random tree. */
function randomTreeMerge<T>(items: readonly T[], merge: (a: T, b: T) => T, rng: Rng): T {
  if (items.length === 0) throw new Error('nothing to merge');
  const pool = [...items];
  while (pool.length > 1) {
    const i = rng.int(pool.length);
    const a = pool.splice(i, 1)[0];
    const j = rng.int(pool.length);
    const b = pool.splice(j, 1)[0];
    pool.splice(rng.int(pool.length + 1), 0, rng.next() < 0.5 ? merge(a, b) : merge(b, a));
  }
  return pool[0];
}

/** Canonical order, two random left folds and two random trees. */
function mergeShapes<T>(items: readonly T[], fold: (items: readonly T[]) => T, merge: (a: T, b: T) => T, rng: Rng): [string, T][] {
  return [
    ['partition order', fold(items)],
    ['random order 1', fold(rng.shuffle(items))],
    ['random order 2', fold(rng.shuffle(items))],
    ['random tree 1', randomTreeMerge(items, merge, rng)],
    ['random tree 2', randomTreeMerge(items, merge, rng)],
  ];
}

// ---------------------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------------------

/**
 * Means (of the data, hence of the mean prior, hence of every component) can sit near 0 in a
 * column whose values are large (bimodal_outliers: mean 1.8, values up to ±1e6). A sum can
 * only be computed to a small multiple of eps·Σ|x| whatever the order, so means are compared
 * relative to max(|mean|, Σ|x|/n) — `meanScale`. Everything else here is a sum of positive
 * terms and is compared purely relatively.
 */
function expectParamsClose(actual: VbgmmParams, expected: VbgmmParams, what: string, meanScale: number): void {
  expect(actual.priorType).toBe(expected.priorType);
  expectAllClose(actual.means, expected.means, RTOL, `${what}: means`, meanScale);
  expectAllClose(actual.covariances, expected.covariances, RTOL, `${what}: covariances`);
  expectAllClose(actual.precisionsCholesky, expected.precisionsCholesky, RTOL, `${what}: precisions_cholesky`);
  expectAllClose(actual.weightConcentrationA, expected.weightConcentrationA, RTOL, `${what}: weight_concentration[0]`);
  expectAllClose(actual.weightConcentrationB, expected.weightConcentrationB, RTOL, `${what}: weight_concentration[1]`);
  expectAllClose(actual.meanPrecision, expected.meanPrecision, RTOL, `${what}: mean_precision`);
  expectAllClose(actual.degreesOfFreedom, expected.degreesOfFreedom, RTOL, `${what}: degrees_of_freedom`);
}

function expectFitsClose(actual: VbgmmFit, expected: VbgmmFit, what: string, meanScale: number): void {
  expect(actual.nIter).toBe(expected.nIter);
  expect(actual.converged).toBe(expected.converged);
  expectAllClose(actual.weights, expected.weights, RTOL, `${what}: weights`);
  expectAllClose(actual.params.means, expected.params.means, RTOL, `${what}: means`, meanScale);
  expectAllClose(actual.params.covariances, expected.params.covariances, RTOL, `${what}: variances`);
  expectAllClose([actual.lowerBound], [expected.lowerBound], RTOL, `${what}: lower bound`);
  expectAllClose(actual.lowerBounds, expected.lowerBounds, RTOL, `${what}: lower bounds`);
  expectAllClose(actual.initialMeans, expected.initialMeans, RTOL, `${what}: initial means`, meanScale);
  expectAllClose([actual.priors.meanPrior], [expected.priors.meanPrior], RTOL, `${what}: mean prior`, meanScale);
  expectAllClose([actual.priors.covariancePrior], [expected.priors.covariancePrior], RTOL, `${what}: covariance prior`);
}

function expectMomentsClose(actual: Moments, expected: Moments, what: string, meanScale: number): void {
  // Counts are integers below 2^53 and min/max are selections: these are exact.
  expect(actual.count).toBe(expected.count);
  expect(actual.min).toBe(expected.min);
  expect(actual.max).toBe(expected.max);
  expectAllClose([actual.mean], [expected.mean], RTOL, `${what}: mean`, meanScale);
  // A constant column has m2 ≈ 0 up to the rounding of its mean (|x|·eps per row), where
  // no relative bound can hold; the floor is that resolution.
  const resolution = expected.count * (Math.max(Math.abs(expected.min), Math.abs(expected.max)) * 1e-15) ** 2;
  expectAllClose([actual.m2], [expected.m2], RTOL, `${what}: m2`, resolution);
}

function paramsFor(f: SklearnFixture, points: WeightedPoints): { initial: VbgmmParams; later: VbgmmParams } {
  const options = fixtureOptions(f);
  const priors = resolvePriors(options, momentsOf(points));
  const initial = mStep(hardAssignmentStats(points, Float64Array.from(f.init_means)), priors, options);
  // Two EM iterations later: softer responsibilities, components that have moved.
  let later = initial;
  for (let i = 0; i < 2; i++) later = mStep(eStepStats(points, later), priors, options);
  return { initial, later };
}

// ---------------------------------------------------------------------------------------
// Merges of partials equal the single-partition statistic
// ---------------------------------------------------------------------------------------

describe.each(fixtures.map((f, i) => [f.name, f, i] as const))('partials of fixture %s', (_name, f, index) => {
  const points = summarise(f.data);
  const options = fixtureOptions(f);
  const priors = resolvePriors(options, momentsOf(points));
  let params: { initial: VbgmmParams; later: VbgmmParams };
  beforeAll(() => {
    params = paramsFor(f, points);
  });
  const k = options.nComponents;
  const SPLITS = 3;
  const scale = meanAbs(f.data);

  test.each([
    ['after the initial M-step', 'initial', 0],
    ['two EM iterations later', 'later', 1],
  ] as const)('E-step partials under the params %s: M-step and lower bound of every merge equal the single-partition ones', (_label, which, stream) => {
    const rng = new Rng(1000 + index, stream);
    const eParams = params[which];
    const whole = eStepStats(points, eParams);
    const wholeParams = mStep(whole, priors, options);
    const wholeBound = lowerBound(wholeParams, whole);
    let merges = 0;
    for (let split = 0; split < SPLITS; split++) {
      const parts = randomPartitions(f.data, rng).map((rows) => eStepStats(summarise(rows), eParams));
      const shapes = mergeShapes<ComponentStats>(parts, (items) => mergeAll(componentStatsCombine, items, k), componentStatsCombine.merge, rng);
      for (const [shape, merged] of shapes) {
        const what = `split ${split} (${parts.length} partitions), ${shape}`;
        expect(merged.rows).toBe(f.data.length);
        expectAllClose(merged.mass, whole.mass, RTOL, `${what}: N_k`);
        const mergedParams = mStep(merged, priors, options);
        expectParamsClose(mergedParams, wholeParams, what, scale);
        expectAllClose([lowerBound(mergedParams, merged)], [wholeBound], RTOL, `${what}: lower bound`);
        merges++;
      }
    }
    expect(merges).toBe(SPLITS * 5);
  });

  test('hard-assignment (initialisation) partials: the initial M-step of every merge equals the single-partition one', () => {
    const rng = new Rng(2000 + index);
    const centres = Float64Array.from(f.init_means);
    const wholeParams = mStep(hardAssignmentStats(points, centres), priors, options);
    for (let split = 0; split < SPLITS; split++) {
      const parts = randomPartitions(f.data, rng).map((rows) => hardAssignmentStats(summarise(rows), centres));
      for (const [shape, merged] of mergeShapes<ComponentStats>(parts, (items) => mergeAll(componentStatsCombine, items, k), componentStatsCombine.merge, rng)) {
        // Hard responsibilities are 0 or 1, so N_k are integer counts: exact in any order.
        expect(Array.from(merged.mass)).toEqual(Array.from(hardAssignmentStats(points, centres).mass));
        expect(merged.entropyTerm).toBe(0);
        expectParamsClose(mStep(merged, priors, options), wholeParams, `split ${split}, ${shape}`, scale);
      }
    }
  });

  test('moments partials: every merge equals the moments of the whole column', () => {
    const rng = new Rng(3000 + index);
    const whole = momentsOf(points);
    expect(whole.count).toBe(f.data.length);
    for (let split = 0; split < SPLITS; split++) {
      const parts = randomPartitions(f.data, rng).map((rows) => momentsOf(summarise(rows)));
      const fold = (items: readonly Moments[]) => mergeAll(momentsCombine, items);
      for (const [shape, merged] of mergeShapes(parts, fold, momentsCombine.merge, rng)) {
        expectMomentsClose(merged, whole, `split ${split}, ${shape}`, scale);
      }
    }
  });

  test('Lloyd partials: counts are exact and the new centres equal the single-partition ones', () => {
    const rng = new Rng(4000 + index);
    const centres = Float64Array.from(f.init_means);
    const whole = lloydPartial(points, centres);
    const wholeCentres = lloydUpdate(centres, whole).centres;
    // Sums of mixed-sign values: compared relative to Σ|x| of each cluster (see expectParamsClose).
    const absSums = new Float64Array(k);
    for (let i = 0; i < points.values.length; i++) {
      absSums[nearestCentre(points.values[i], centres)] += points.counts[i] * Math.abs(points.values[i]);
    }
    for (let split = 0; split < SPLITS; split++) {
      const parts = randomPartitions(f.data, rng).map((rows) => lloydPartial(summarise(rows), centres));
      const fold = (items: readonly LloydPartial[]) => mergeAll(lloydCombine, items, k);
      for (const [shape, merged] of mergeShapes(parts, fold, lloydCombine.merge, rng)) {
        const what = `split ${split}, ${shape}`;
        expect(Array.from(merged.counts)).toEqual(Array.from(whole.counts));
        const next = lloydUpdate(centres, merged).centres;
        for (let j = 0; j < k; j++) {
          expectAllClose([merged.sums[j]], [whole.sums[j]], RTOL, `${what}: sums[${j}]`, absSums[j]);
          const meanAbsJ = whole.counts[j] > 0 ? absSums[j] / whole.counts[j] : 0;
          expectAllClose([next[j]], [wholeCentres[j]], RTOL, `${what}: centres[${j}]`, meanAbsJ);
        }
      }
    }
  });
});

test('the random partitions include empty partitions, a single partition and many partitions', () => {
  // Guards the generator above: the properties are only as strong as the splits they see.
  const rng = new Rng(5);
  const sizes = new Set<number>();
  let empty = 0;
  for (let i = 0; i < 200; i++) {
    const parts = randomPartitions(fixtures[0].data, rng);
    sizes.add(parts.length);
    empty += parts.filter((p) => p.length === 0).length;
    expect(parts.reduce((n, p) => n + p.length, 0)).toBe(fixtures[0].data.length);
    expect(parts.map((p) => p.length).some((n) => n > 0)).toBe(true);
  }
  expect([...sizes].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  expect(empty).toBeGreaterThan(20);
  // Every row lands in exactly one partition (the affine order is a permutation).
  const parts = randomPartitions(fixtures[0].data, new Rng(6));
  const byValue = (x: number, y: number) => x - y;
  expect(parts.flat().sort(byValue)).toEqual([...fixtures[0].data].sort(byValue));
});

// ---------------------------------------------------------------------------------------
// The whole fit over partitions
// ---------------------------------------------------------------------------------------

/**
 * The fixtures that run 100 iterations over thousands of rows are capped at 12 iterations
 * here (the property is the same at every iteration) to keep the suite fast; the others run
 * to convergence as in scikit-learn.
 */
const MAX_ITER_CAP = 12;

describe.each(fixtures.map((f, i) => [f.name, f, i] as const))('fitVbgmm of fixture %s', (_name, f, index) => {
  const capped = f.expected.n_iter > 20 && f.data.length > 1000;
  const options: VbgmmOptions = { ...fixtureOptions(f), maxIter: capped ? MAX_ITER_CAP : f.params.max_iter };
  const points = summarise(f.data);
  const init: FitInit = { kind: 'means', means: f.init_means };
  const scale = meanAbs(f.data);
  let single: VbgmmFit;
  beforeAll(() => {
    single = fitVbgmm([points], options, init);
  });

  test('over several partitions equals the fit over one partition', () => {
    if (!capped) {
      // Uncapped: the fit ran as scikit-learn's did.
      expect(single.nIter).toBe(f.expected.n_iter);
      expect(single.converged).toBe(f.expected.converged);
    }
    const rng = new Rng(6000 + index);
    for (let split = 0; split < 2; split++) {
      const parts = randomPartitions(f.data, rng, 8).map((r) => summarise(r));
      // The first split in partition order, the second with its partitions shuffled.
      const ordered = split === 0 ? parts : rng.shuffle(parts);
      expectFitsClose(fitVbgmm(ordered, options, init), single, `split ${split} into ${parts.length}`, scale);
    }
  });

  test('fit over weighted points equals the fit over the expanded rows', () => {
    const rows = unitPoints(expandPoints(points));
    expect(rows.values.length).toBe(f.data.length);
    expectFitsClose(fitVbgmm([rows], options, init), single, 'expanded rows', scale);
  });
});

describe('fitVbgmm with k-means++ initialisation', () => {
  // k-means++ seeds from each partition's seeding sample (core/mixture/sample.ts), which is
  // the partition's summary itself up to SAMPLE_POINTS_PER_SHARD distinct values and a
  // coarsened one beyond. Below that size the merged sample is the whole column's summary
  // whatever the partitioning, so the fit must not depend on it.
  test('over partitions equals over one partition and over the raw rows (columns within the exact-sample size)', () => {
    const f = fixtures.find((x) => x.name === 'mixed_nonmodal') ?? fixtures[0];
    expect(f.data.length).toBeLessThanOrEqual(SAMPLE_POINTS_PER_SHARD);
    const options: VbgmmOptions = { ...fixtureOptions(f), maxIter: MAX_ITER_CAP, nInit: 2 };
    const init: FitInit = { kind: 'kmeans', seed: 1234 };
    const single = fitVbgmm([summarise(f.data)], options, init);
    const rng = new Rng(7000);
    const parts = randomPartitions(f.data, rng, 8).map((r) => summarise(r));
    expect(parts.length).toBeGreaterThan(1);
    expectFitsClose(fitVbgmm(parts, options, init), single, `k-means init, ${parts.length} partitions`, meanAbs(f.data));
    expectFitsClose(fitVbgmm([unitPoints(f.data)], options, init), single, 'k-means init, raw rows', meanAbs(f.data));
    // A different seed gives a different initialisation (the seed is used at all).
    const other = fitVbgmm([summarise(f.data)], options, { kind: 'kmeans', seed: 99 });
    expect(Array.from(other.initialMeans)).not.toEqual(Array.from(single.initialMeans));
  });

  test('does not depend on the order of the partitions (columns beyond the exact-sample size)', () => {
    const f = fixtures.find((x) => x.name === 'bimodal_outliers') ?? fixtures[0];
    const options: VbgmmOptions = { ...fixtureOptions(f), maxIter: MAX_ITER_CAP };
    const init: FitInit = { kind: 'kmeans', seed: 1234 };
    // Two partitions, one above the exact-sample size, so one sample is coarsened.
    const rows = f.data;
    const parts = [summarise(rows.slice(0, 4500)), summarise(rows.slice(4500))];
    expect(parts[0].values.length).toBeGreaterThan(SAMPLE_POINTS_PER_SHARD);
    const forward = fitVbgmm(parts, options, init);
    expectFitsClose(fitVbgmm([parts[1], parts[0]], options, init), forward, 'k-means init, partitions reversed', meanAbs(rows));
  });
});

// ---------------------------------------------------------------------------------------
// Numerical stability of the merges
// ---------------------------------------------------------------------------------------

/**
 * Values 1e9 + N(0, 1). The spacing of doubles near 1e9 is 1.2e-7, and x − 1e9 is exact
 * (Sterbenz), so a two-pass over the exact shifted values z = x − 1e9 is an accurate
 * reference for the variance (which is shift-invariant).
 *
 * The naive formula Σx² − n·mean² fails here: x² ≈ 1e18, so each square is already rounded
 * to a multiple of 128 and the sum over 8,000 rows (≈ 8e21) to a multiple of ~1e6, while the
 * true M2 (≈ 8e3) is the tiny remainder of subtracting two such numbers, so rounding swamps
 * it (observed: −1048576 for a true M2 of 8044, a negative "variance"). Chan's formula only
 * squares deviations from a mean (O(1) here) and the difference of two partition means, so
 * nothing large is squared.
 *
 * What is left of Chan's error comes from the partition means: a mean of 1e9-sized values
 * computed as Σx/n is off by about ulp(Σx)·√n/n, a few 1e-6 here (not the 6e-8 of a
 * correctly rounded mean), which moves the merge term δ²·nₐn_b/n (δ, the difference of two
 * partition means, is ~1e-2) by ~1e-4 of an M2 of ~1e4, i.e. ~1e-8 relative, more for
 * components with a small M2. Hence the 1e-6 bound (observed: 1e-9 to 2e-7), against naive
 * errors of 1e2 to 4e3.
 */
const OFFSET = 1e9;

function offsetColumn(seed: number, n: number, centres: readonly number[]): { rows: number[]; shifted: number[] } {
  const random = new CounterRandom(seed);
  const rows: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = 1 - random.next();
    const v = random.next();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    rows.push(OFFSET + centres[i % centres.length] + z);
  }
  return { rows, shifted: rows.map((x) => x - OFFSET) };
}

/** Two-pass weighted mean and centred M2 (the reference). */
function twoPass(xs: readonly number[], ws: ArrayLike<number>): { n: number; mean: number; m2: number } {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < xs.length; i++) {
    n += ws[i];
    sum += ws[i] * xs[i];
  }
  const mean = sum / n;
  let m2 = 0;
  for (let i = 0; i < xs.length; i++) m2 += ws[i] * (xs[i] - mean) ** 2;
  return { n, mean, m2 };
}

/** The naive one-pass formula: partials (Σw, Σwx, Σwx²) merged by addition, then Σwx² − (Σwx)²/Σw. */
function naiveM2(xs: readonly number[], ws: ArrayLike<number>): number {
  let n = 0;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < xs.length; i++) {
    n += ws[i];
    s1 += ws[i] * xs[i];
    s2 += ws[i] * xs[i] * xs[i];
  }
  return s2 - (s1 * s1) / n;
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('stability of the merges with a huge offset (1e9 + noise)', () => {
  const CHAN_BOUND = 1e-6;
  const NAIVE_AT_LEAST = 10; // the naive M2 is off by more than 10 times its own value

  test('moments: Chan merge keeps the variance accurate where Σx² − n·mean² does not', () => {
    const { rows, shifted } = offsetColumn(9000, 8_000, [0]);
    const ones = new Float64Array(rows.length).fill(1);
    const reference = twoPass(shifted, ones);
    const rng = new Rng(9001);
    const partitions = randomPartitions(rows, rng);
    const parts = partitions.map((p) => momentsOf(summarise(p)));
    let worst = 0;
    for (const [shape, merged] of mergeShapes(parts, (items) => mergeAll(momentsCombine, items), momentsCombine.merge, rng)) {
      expect(merged.count).toBe(rows.length);
      // The mean to ~1e-14 relative (1e-5 absolute at 1e9).
      expect(Math.abs(merged.mean - OFFSET - reference.mean)).toBeLessThan(1e-5);
      const err = relErr(merged.m2, reference.m2);
      if (!(err < CHAN_BOUND)) throw new Error(`${shape}: m2 ${merged.m2} vs two-pass ${reference.m2} (relative error ${err})`);
      worst = Math.max(worst, err);
    }
    // The same rows without the offset: the merge is then as accurate as the reference.
    const plain = mergeAll(momentsCombine, randomPartitions(shifted, new Rng(9001)).map((p) => momentsOf(summarise(p))));
    expect(relErr(plain.m2, reference.m2)).toBeLessThan(1e-12);
    // And the naive formula over the offset rows is far worse than Chan's merge.
    const naive = relErr(naiveM2(rows, ones), reference.m2);
    expect(naive).toBeGreaterThan(NAIVE_AT_LEAST);
    expect(naive).toBeGreaterThan(1e8 * worst);
  });

  test('component stats: Chan merge keeps each component variance accurate (hard and soft responsibilities)', () => {
    const centres = [-4, 0, 5];
    const k = centres.length;
    const { rows, shifted } = offsetColumn(9100, 6_000, centres);
    const rng = new Rng(9101);
    const partitions = randomPartitions(rows, rng);

    // Hard assignment to the nearest of three centres near 1e9 ...
    const hardCentres = Float64Array.from(centres, (c) => OFFSET + c);
    const hardParts = partitions.map((p) => hardAssignmentStats(summarise(p), hardCentres));
    // ... and the E-step under the M-step of those hard statistics (a real fit's first E-step).
    const points = summarise(rows);
    const options: VbgmmOptions = { ...fixtureOptions(fixtures[0]), nComponents: k };
    const params = mStep(hardAssignmentStats(points, hardCentres), resolvePriors(options, momentsOf(points)), options);
    const softParts = partitions.map((p) => eStepStats(summarise(p), params));

    // Per-row weights of each component, as the hard assignment and the E-step compute them.
    const terms = logProbTerms(params);
    const scratch = new Float64Array(k);
    const hardWeights = Array.from({ length: k }, () => new Float64Array(rows.length));
    const softWeights = Array.from({ length: k }, () => new Float64Array(rows.length));
    rows.forEach((x, i) => {
      hardWeights[nearestCentre(x, hardCentres)][i] = 1;
      posteriorInto(terms, x, scratch);
      for (let j = 0; j < k; j++) softWeights[j][i] = scratch[j];
    });

    for (const [kind, parts, weights] of [
      ['hard', hardParts, hardWeights],
      ['soft', softParts, softWeights],
    ] as const) {
      const references = weights.map((w) => twoPass(shifted, w));
      let worst = 0;
      for (const [shape, merged] of mergeShapes<ComponentStats>(parts, (items) => mergeAll(componentStatsCombine, items, k), componentStatsCombine.merge, rng)) {
        for (let j = 0; j < k; j++) {
          const reference = references[j];
          expect(relErr(merged.mass[j], reference.n)).toBeLessThan(1e-12);
          expect(Math.abs(merged.mean[j] - OFFSET - reference.mean)).toBeLessThan(1e-5);
          const err = relErr(merged.m2[j], reference.m2);
          if (!(err < CHAN_BOUND)) {
            throw new Error(`${kind}, ${shape}, component ${j}: m2 ${merged.m2[j]} vs two-pass ${reference.m2} (relative error ${err})`);
          }
          worst = Math.max(worst, err);
        }
      }
      const naive = Math.max(...weights.map((w, j) => relErr(naiveM2(rows, w), references[j].m2)));
      expect(naive).toBeGreaterThan(NAIVE_AT_LEAST);
      expect(naive).toBeGreaterThan(1e8 * worst);
    }
  });
});

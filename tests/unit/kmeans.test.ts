/**
 * The k-means initialisation: nearest-centre assignment, k-means++ seeding from a seed,
 * and Lloyd iterations over partitions of weighted points.
 */
import {
  hardAssignmentStats,
  kmeansPlusPlus,
  lloyd,
  lloydCombine,
  lloydPartial,
  lloydUpdate,
  nearestCentre,
} from '../../core/mixture/kmeans';
import { momentsOf } from '../../core/mixture/moments';
import { summarise, unitPoints, type WeightedPoints } from '../../core/mixture/weighted-points';
import { CounterRandom } from '../../core/random/philox';
import { expectAllClose } from '../support/close-to';

const f64 = (...xs: number[]) => Float64Array.from(xs);

/** Standard normal draws (Box–Muller) from a fixed Philox stream. */
function normals(random: CounterRandom, n: number): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const u = 1 - random.next(); // (0, 1]
    const v = random.next();
    const r = Math.sqrt(-2 * Math.log(u));
    out.push(r * Math.cos(2 * Math.PI * v), r * Math.sin(2 * Math.PI * v));
  }
  return out.slice(0, n);
}

/** Three clusters 100 standard deviations apart, values rounded to cents (so some repeat). */
function threeClusters(seed: number): { rows: number[]; means: number[] } {
  const random = new CounterRandom(seed);
  const centres = [-100, 5, 120];
  const sizes = [700, 400, 900];
  const rows: number[] = [];
  const means: number[] = [];
  centres.forEach((c, j) => {
    const cluster = normals(random, sizes[j]).map((z) => Math.round((c + z) * 100) / 100);
    // Two-pass reference mean of the cluster, in a different summation order.
    means.push(cluster.reduce((s, x) => s + x, 0) / cluster.length);
    rows.push(...cluster);
  });
  // Interleave the clusters so that row order says nothing about membership.
  const order = rows.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return { rows: order.map((i) => rows[i]), means };
}

/** Splits rows into `parts` partitions of random sizes (some may be empty). */
function randomPartitions(rows: readonly number[], parts: number, random: CounterRandom): number[][] {
  const out: number[][] = Array.from({ length: parts }, () => []);
  for (const x of rows) out[Math.floor(random.next() * parts)].push(x);
  return out;
}

describe('nearestCentre', () => {
  test('finds the nearest centre', () => {
    expect(nearestCentre(0.9, f64(0, 1, 2))).toBe(1);
    expect(nearestCentre(-5, f64(3, -4, 10))).toBe(1);
    expect(nearestCentre(100, f64(3, -4, 10))).toBe(2);
  });

  test('ties go to the lowest index, as numpy.argmin', () => {
    expect(nearestCentre(1, f64(0, 2))).toBe(0);
    expect(nearestCentre(1, f64(2, 0))).toBe(0);
    expect(nearestCentre(4, f64(9, 3, 5))).toBe(1);
    expect(nearestCentre(4, f64(9, 5, 3))).toBe(1);
    // Duplicate centres: the first copy wins, wherever it is.
    expect(nearestCentre(7, f64(1, 7, 7, 7))).toBe(1);
    expect(nearestCentre(6, f64(7, 5, 7, 5))).toBe(0);
    // The tie is exact in floating point: 0.5 from 0.25 and 0.75.
    expect(nearestCentre(0.5, f64(0.75, 0.25))).toBe(0);
  });

  test('hard assignment uses the same rule (the tied value goes to the first centre)', () => {
    const stats = hardAssignmentStats({ values: f64(0, 1, 2), counts: f64(1, 3, 1) }, f64(2, 0));
    // 1 is tied between centre 0 (at 2) and centre 1 (at 0): it goes to centre 0.
    expect(Array.from(stats.mass)).toEqual([4, 1]);
    expect(Array.from(stats.mean)).toEqual([1.25, 0]);
  });
});

describe('kmeansPlusPlus', () => {
  const data = summarise(threeClusters(1).rows);

  test('is deterministic for a fixed seed', () => {
    const a = kmeansPlusPlus(data, 5, ((r) => () => r.next())(new CounterRandom(77)));
    const b = kmeansPlusPlus(data, 5, ((r) => () => r.next())(new CounterRandom(77)));
    expect(Array.from(b)).toEqual(Array.from(a));
    const c = kmeansPlusPlus(data, 5, ((r) => () => r.next())(new CounterRandom(78)));
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  test('returns k centres drawn from the data', () => {
    const values = new Set(data.values);
    for (const k of [1, 2, 3, 10]) {
      const random = new CounterRandom(k);
      const centres = kmeansPlusPlus(data, k, () => random.next());
      expect(centres).toHaveLength(k);
      for (const c of centres) expect(values.has(c)).toBe(true);
      expect(new Set(centres).size).toBe(k); // distinct values are plentiful here
    }
  });

  test('seeds one centre in each of three well separated clusters', () => {
    for (let seed = 0; seed < 10; seed++) {
      const random = new CounterRandom(seed);
      const centres = Array.from(kmeansPlusPlus(data, 3, () => random.next())).sort((x, y) => x - y);
      expect(centres[0]).toBeLessThan(-50);
      expect(centres[1]).toBeGreaterThan(-50);
      expect(centres[1]).toBeLessThan(60);
      expect(centres[2]).toBeGreaterThan(60);
    }
  });

  test('handles fewer distinct values than k: every value is a centre, the rest repeat', () => {
    const few: WeightedPoints = { values: f64(-1, 2.5, 40), counts: f64(10, 1, 3) };
    const random = new CounterRandom(3);
    const centres = kmeansPlusPlus(few, 6, () => random.next());
    expect(centres).toHaveLength(6);
    expect(centres.every((c) => Number.isFinite(c))).toBe(true);
    expect(new Set(centres)).toEqual(new Set([-1, 2.5, 40]));
    // Repeats come after the distinct values, as copies of the last one chosen.
    expect(new Set(centres.subarray(0, 3)).size).toBe(3);
    expect(Array.from(centres.subarray(3))).toEqual([centres[2], centres[2], centres[2]]);
  });

  test('a constant column gives k copies of the constant', () => {
    const random = new CounterRandom(4);
    expect(Array.from(kmeansPlusPlus(summarise([7, 7, 7, 7]), 4, () => random.next()))).toEqual([7, 7, 7, 7]);
  });

  test('never picks a point of zero weight', () => {
    // A first draw from counts alone; the huge count makes the heavy value the first centre.
    const skewed: WeightedPoints = { values: f64(0, 1000), counts: f64(1e12, 1) };
    const random = new CounterRandom(5);
    const centres = kmeansPlusPlus(skewed, 2, () => random.next());
    expect(centres[0]).toBe(0);
    expect(centres[1]).toBe(1000);
  });

  test("draws 2 + ⌊ln k⌋ candidates per centre after the first (scikit-learn's greedy k-means++)", () => {
    for (const [k, trials] of [
      [2, 2],
      [3, 3],
      [10, 4],
      [21, 5],
    ] as const) {
      const random = new CounterRandom(6);
      let draws = 0;
      kmeansPlusPlus(data, k, () => {
        draws++;
        return random.next();
      });
      expect(draws).toBe(1 + (k - 1) * trials);
    }
  });

  test('rejects empty data', () => {
    expect(() => kmeansPlusPlus({ values: f64(), counts: f64() }, 2, () => 0.5)).toThrow(RangeError);
  });
});

describe('lloyd', () => {
  const { rows, means } = threeClusters(2);
  const points = summarise(rows);
  const moments = momentsOf(points);
  const variance = moments.m2 / moments.count;
  const sortedMeans = [...means].sort((a, b) => a - b);

  test('finds the means of three well separated clusters', () => {
    const random = new CounterRandom(21);
    const seeds = kmeansPlusPlus(points, 3, () => random.next());
    const centres = Array.from(lloyd([points], seeds, variance)).sort((a, b) => a - b);
    // Once the assignment is right, a Lloyd step returns exactly the cluster means.
    expectAllClose(centres, sortedMeans, 1e-12, 'centres');
  });

  test('from a poor start (all centres in one cluster) a centre moves out to the other clusters', () => {
    const start = f64(-101, -100, -99);
    const centres = Array.from(lloyd([points], start, variance)).sort((a, b) => a - b);
    // The last centre takes every value above -99.5 in the first step, so it leaves
    // for the mean of the two right-hand clusters; the first stays in the left cluster.
    expect(centres[0]).toBeLessThan(-50);
    expect(centres[2]).toBeGreaterThan(0);
  });

  test('keeps the centre of an empty cluster', () => {
    const step = lloydUpdate(f64(0, 1000), lloydPartial({ values: f64(1, 2), counts: f64(1, 1) }, f64(0, 1000)));
    expect(Array.from(step.centres)).toEqual([1.5, 1000]);
    expect(step.shift).toBe(2.25);
  });

  test('over partitions equals lloyd over one partition (and over the raw rows)', () => {
    const random = new CounterRandom(22);
    const seeds = kmeansPlusPlus(points, 3, () => random.next());
    const single = lloyd([points], seeds, variance);
    expectAllClose(lloyd([unitPoints(rows)], seeds, variance), single, 1e-12, 'rows vs summary');
    for (let trial = 0; trial < 6; trial++) {
      const parts = randomPartitions(rows, 1 + trial, random).map((p) => summarise(p));
      expectAllClose(lloyd(parts, seeds, variance), single, 1e-12, `${parts.length} partitions`);
      expectAllClose(lloyd([...parts].reverse(), seeds, variance), single, 1e-12, `${parts.length} partitions reversed`);
    }
  });

  test('Lloyd partials merge by addition: associative and commutative up to rounding', () => {
    const random = new CounterRandom(23);
    const centres = f64(-90, 0, 90, 200);
    const whole = lloydPartial(points, centres);
    const parts = randomPartitions(rows, 5, random).map((p) => lloydPartial(summarise(p), centres));
    const left = parts.reduce(lloydCombine.merge);
    const right = parts.reduceRight(lloydCombine.merge);
    expect(Array.from(left.counts)).toEqual(Array.from(whole.counts));
    expect(Array.from(right.counts)).toEqual(Array.from(whole.counts));
    expect(whole.counts[3]).toBe(0);
    expectAllClose(left.sums, whole.sums, 1e-12, 'sums, left fold');
    expectAllClose(right.sums, whole.sums, 1e-12, 'sums, right fold');
  });
});

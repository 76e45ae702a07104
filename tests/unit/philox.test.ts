/**
 * Philox4x32-10 against the known-answer vectors of the Random123 distribution
 * (kat_vectors, "philox4x32 10"), and the properties the rest of vgmflow relies on:
 * uniform doubles in [0, 1), draws that are a pure function of (seed, stream, index, lane),
 * and seeds/indices limited to safe integers.
 */
import { CounterRandom, counterUniform, philox4x32, splitUint53, wordsToUnit, type Words4 } from '../../core/random/philox';

const hex = (words: readonly number[]) => words.map((w) => `0x${(w >>> 0).toString(16).padStart(8, '0')}`);

describe('philox4x32 (Random123 known answers)', () => {
  const KAT: ReadonlyArray<readonly [string, Words4, [number, number], Words4]> = [
    ['zeros', [0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
    [
      'all ones',
      [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
      [0xffffffff, 0xffffffff],
      [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
    ],
    [
      'pi digits',
      [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
      [0xa4093822, 0x299f31d0],
      [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
    ],
  ];

  test.each(KAT)('%s', (_name, counter, [k0, k1], expected) => {
    const out = philox4x32(counter, k0, k1);
    expect(hex(out)).toEqual(hex(expected));
    // Words are unsigned 32-bit numbers, not the signed results of JS bit operators.
    for (const w of out) expect(w >= 0 && w <= 0xffffffff && Number.isInteger(w)).toBe(true);
  });

  test('is a pure function of its inputs (no state kept between calls)', () => {
    const counter: Words4 = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344];
    const first = philox4x32(counter, 0xa4093822, 0x299f31d0);
    philox4x32([1, 2, 3, 4], 5, 6);
    expect(philox4x32(counter, 0xa4093822, 0x299f31d0)).toEqual(first);
    expect(counter).toEqual([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344]);
  });
});

describe('wordsToUnit', () => {
  test('maps the extreme words to 0 and to the largest double below 1', () => {
    expect(wordsToUnit(0, 0)).toBe(0);
    const top = wordsToUnit(0xffffffff, 0xffffffff);
    expect(top).toBe(1 - 2 ** -53);
    expect(top).toBeLessThan(1);
  });

  test('uses 53 bits: the top 27 of hi and the top 26 of lo', () => {
    expect(wordsToUnit(0x80000000, 0)).toBe(0.5);
    expect(wordsToUnit(0, 0x80000000)).toBe(2 ** -28);
    expect(wordsToUnit(0, 0x40)).toBe(2 ** -53); // lowest bit used
    expect(wordsToUnit(0x1f, 0x3f)).toBe(0); // bits dropped
  });

  test('stays in [0, 1) for Philox output words', () => {
    let outside = 0;
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < 5000; i++) {
      const [a, b, c, d] = philox4x32([i, 0, 0, 0], 7, 0);
      for (const u of [wordsToUnit(a, b), wordsToUnit(c, d)]) {
        if (!(u >= 0 && u < 1)) outside++;
        lo = Math.min(lo, u);
        hi = Math.max(hi, u);
      }
    }
    expect(outside).toBe(0);
    // 10,000 draws spread over the whole interval.
    expect(lo).toBeLessThan(1e-3);
    expect(hi).toBeGreaterThan(1 - 1e-3);
  });
});

describe('counterUniform', () => {
  test('is deterministic', () => {
    expect(counterUniform(42, 3, 1000, 2)).toBe(counterUniform(42, 3, 1000, 2));
    expect(counterUniform(2 ** 53 - 1, 0xffffffff, 2 ** 53 - 1, 0xffffffff)).toBe(
      counterUniform(2 ** 53 - 1, 0xffffffff, 2 ** 53 - 1, 0xffffffff),
    );
  });

  test('is the documented function of Philox words', () => {
    // seed → key (lo, hi), counter = (index lo, index hi, stream, lane); first two words.
    const seed = 2 ** 40 + 17;
    const index = 2 ** 35 + 5;
    const out = philox4x32([5, 2 ** 3, 9, 4], 17, 2 ** 8);
    expect(counterUniform(seed, 9, index, 4)).toBe(wordsToUnit(out[0], out[1]));
  });

  test('changes with each argument, including the high words of seed and index', () => {
    const base = counterUniform(42, 3, 1000, 2);
    const variants = [
      counterUniform(43, 3, 1000, 2),
      counterUniform(42 + 2 ** 32, 3, 1000, 2), // seed high word
      counterUniform(42, 4, 1000, 2),
      counterUniform(42, 3, 1001, 2),
      counterUniform(42, 3, 1000 + 2 ** 32, 2), // index high word
      counterUniform(42, 3, 1000, 3),
    ];
    for (const v of variants) expect(v).not.toBe(base);
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  test('arguments are not interchangeable (stream and lane, index and stream)', () => {
    expect(counterUniform(1, 2, 3, 4)).not.toBe(counterUniform(1, 4, 3, 2));
    expect(counterUniform(1, 2, 3, 4)).not.toBe(counterUniform(1, 3, 2, 4));
    expect(counterUniform(1, 2, 3, 4)).not.toBe(counterUniform(3, 2, 1, 4));
  });

  test('rejects seeds and indices that are not safe non-negative integers', () => {
    expect(() => counterUniform(-1, 0, 0, 0)).toThrow(RangeError);
    expect(() => counterUniform(0, 0, 2 ** 53, 0)).toThrow(RangeError);
    expect(() => counterUniform(0.5, 0, 0, 0)).toThrow(RangeError);
  });

  test('passes a chi-square uniformity test over 1e5 draws (fixed seed, so it cannot flake)', () => {
    const BINS = 100;
    const N = 100_000;
    const observed = new Float64Array(BINS);
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < N; i++) {
      const u = counterUniform(20240601, 7, i, 0);
      observed[Math.floor(u * BINS)]++;
      sum += u;
      sumSq += u * u;
    }
    const expected = N / BINS;
    let chi2 = 0;
    for (const o of observed) chi2 += ((o - expected) * (o - expected)) / expected;
    // 99 degrees of freedom: P(χ² > 148.2) = 0.001 and P(χ² < 62.0) = 0.001, so a good
    // generator lands inside; a biased (or too regular) one does not.
    expect(chi2).toBeGreaterThan(62.0);
    expect(chi2).toBeLessThan(148.2);
    // And the draws have the mean and variance of U(0, 1) to a few standard errors.
    const mean = sum / N;
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / N));
    expect(Math.abs(sumSq / N - mean * mean - 1 / 12)).toBeLessThan(0.002);
  });
});

describe('CounterRandom', () => {
  test('draw i of stream s is counterUniform(seed, s, i, 0)', () => {
    const random = new CounterRandom(99, 4);
    for (let i = 0; i < 50; i++) expect(random.next()).toBe(counterUniform(99, 4, i, 0));
  });

  test('two generators with the same seed and stream agree; other streams differ', () => {
    const a = new CounterRandom(5);
    const b = new CounterRandom(5);
    const c = new CounterRandom(5, 1);
    const xs = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(xs);
  });

  test('rejects an unsafe seed at construction', () => {
    expect(() => new CounterRandom(2 ** 53)).toThrow(RangeError);
    expect(() => new CounterRandom(-3)).toThrow(RangeError);
  });
});

describe('splitUint53', () => {
  test('splits into low and high 32-bit words', () => {
    expect(splitUint53(0)).toEqual([0, 0]);
    expect(splitUint53(0xffffffff)).toEqual([0xffffffff, 0]);
    expect(splitUint53(2 ** 32)).toEqual([0, 1]);
    expect(splitUint53(2 ** 53 - 1)).toEqual([0xffffffff, 0x1fffff]);
    expect(splitUint53(0x12345 * 2 ** 32 + 0x9abcdef0)).toEqual([0x9abcdef0, 0x12345]);
  });

  test.each([
    ['2^53', 2 ** 53],
    ['-1', -1],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Infinity],
    ['1e300', 1e300],
  ])('rejects %s with a RangeError naming the value', (_name, n) => {
    expect(() => splitUint53(n)).toThrow(RangeError);
    expect(() => splitUint53(n)).toThrow(/safe non-negative integer/);
  });
});

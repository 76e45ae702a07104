/**
 * inlineExp must give Math.exp's bits wherever the E-step calls it (x ≤ 0): the fitted model's
 * bytes depend on them.
 */
import { inlineExp } from '../../core/mixture/inline-exp';
import { mulberry32 } from '../support/random';

function firstDifference(xs: Iterable<number>): string | null {
  for (const x of xs) {
    const mine = inlineExp(x);
    const theirs = Math.exp(x);
    if (!Object.is(mine, theirs)) return `exp(${x}): ${mine} vs Math.exp ${theirs}`;
  }
  return null;
}

function* uniform(n: number, lo: number, hi: number, seed: number): Generator<number> {
  const rand = mulberry32(seed);
  for (let i = 0; i < n; i++) yield lo + (hi - lo) * rand();
}

describe('inlineExp', () => {
  it('equals Math.exp at the edges of each branch', () => {
    const edges = [0, -0, -1e-300, -Number.MIN_VALUE, -(2 ** -28), -(2 ** -28) * 0.999, -(2 ** -28) * 1.001, -0.34657359027997264, -0.3465735902799727, -0.34657359028, -1.0397207708399179, -1.03972077084, -1, -2, -708.3964185322641, -708.4, -709.78, -720, -744.44, -745.1332191019411, -745.1332191019412, -746, -1e6, -Infinity, NaN, 1, 0.5, 700, 710, Infinity];
    // Each edge and its neighbouring doubles on both sides.
    const around = edges.flatMap((x) => {
      if (!Number.isFinite(x) || x === 0) return [x];
      const view = new DataView(new ArrayBuffer(8));
      view.setFloat64(0, x);
      const bits = view.getBigUint64(0);
      return [-2n, -1n, 0n, 1n, 2n].map((d) => {
        view.setBigUint64(0, bits + d);
        return view.getFloat64(0);
      });
    });
    expect(firstDifference(around)).toBeNull();
  });

  it.each([
    ['the E-step range', 500_000, -50, 0],
    ['reduction with k = ±1', 200_000, -1.1, -0.3],
    ['results near and below the smallest normal', 200_000, -746, -700],
    ['the whole underflow-free range', 300_000, -745.2, 0],
  ])('equals Math.exp over %s (%i draws)', (_, n, lo, hi) => {
    expect(firstDifference(uniform(n, lo, hi, n + Math.round(-lo)))).toBeNull();
  });
});

/**
 * digamma, gammaln, betaln and logSumExp against reference values.
 *
 * Reference values were evaluated once, offline, in Python's `decimal` at 60 significant
 * digits and rounded to the nearest double (the test never calls Python):
 * - CLOSED_FORM_*: from the closed form quoted next to each value (γ and π hard-coded to 50
 *   digits, harmonic sums and factorials exact).
 * - SERIES_*: arguments with no closed form, from the recurrence ψ(x) = ψ(x+1) − 1/x,
 *   lnΓ(x) = lnΓ(x+1) − ln x up to x ≥ 60, then the asymptotic Bernoulli series with 29
 *   terms (converged far below 1e-50 there). The same series reproduces every closed form
 *   above to < 1e-50, and scipy.special 1.17.1 (digamma, gammaln, betaln) agrees with every
 *   SERIES value to within 6.7e-15 relative (scipy's own betaln error at (0.5, 3.7) and
 *   (1e5, 1e5); everything else within 5e-16).
 *
 * Tolerance: 1e-14 relative where |f| ≥ 1 and 1e-14 absolute where |f| < 1. For x < 10
 * gammaln computes Stirling(x + n) − Σ ln(x + i), two numbers near 13 whose difference can
 * be much smaller, so its error there is absolute (about 5e-15, measured) rather than
 * relative; near the zeros of lnΓ (x = 1, 2) and of ψ (x ≈ 1.4616) no relative bound can
 * hold. Elsewhere the implementation is within ~2e-15 relative of the references.
 */
import { betaln, digamma, gammaln, logSumExp } from '../../core/mixture/special-functions';
import { CounterRandom } from '../../core/random/philox';

const TOL = 1e-14;

/** |actual − expected| ≤ tol·max(|expected|, floor), reporting the argument on failure. */
function expectNear(actual: number, expected: number, what: string, tol = TOL, floor = 1): void {
  const scale = Math.max(Math.abs(expected), floor);
  const err = Math.abs(actual - expected) / scale;
  if (!(err <= tol)) throw new Error(`${what}: got ${actual}, expected ${expected} (scaled error ${err} > ${tol})`);
}

// [x, ψ(x)]
const CLOSED_FORM_DIGAMMA: ReadonlyArray<readonly [number, number]> = [
  [1, -0.5772156649015329], // ψ(1) = −γ
  [0.5, -1.9635100260214235], // ψ(1/2) = −γ − 2 ln 2
  [0.25, -4.2274535333762655], // ψ(1/4) = −γ − π/2 − 3 ln 2 (Gauss's digamma theorem)
  [0.75, -1.0858608797864722], // ψ(3/4) = −γ + π/2 − 3 ln 2
  [2, 0.42278433509846713], // ψ(n) = H_{n−1} − γ
  [3, 0.9227843350984671],
  [5, 1.5061176684318005],
  [10, 2.251752589066721],
  [11, 2.351752589066721],
  [20, 2.970523992242149],
  [100, 4.600161852738087],
  [1000, 6.907255195648812],
  [1000000, 13.815510057964191],
  [1.5, 0.03648997397857652], // ψ(n + ½) = −γ − 2 ln 2 + Σ_{k=1..n} 2/(2k − 1)
  [4.5, 1.388870926359529],
  [9.5, 2.1977378764029494],
  [10.5, 2.3030010342976865],
  [60.5, 4.094356135733628],
];

// [x, lnΓ(x)]
const CLOSED_FORM_GAMMALN: ReadonlyArray<readonly [number, number]> = [
  [0.5, 0.5723649429247001], // lnΓ(1/2) = ½ ln π
  [3, 0.6931471805599453], // lnΓ(n) = ln((n − 1)!)
  [4, 1.791759469228055],
  [5, 3.1780538303479458],
  [10, 12.801827480081469],
  [11, 15.104412573075516],
  [20, 39.339884187199495],
  [100, 359.1342053695754],
  [1000, 5905.220423209181],
  [10000, 82099.71749644238],
  [1.5, -0.12078223763524522], // lnΓ(n + ½) = ln((2n)! √π / (4ⁿ n!))
  [3.5, 1.2009736023470743],
  [9.5, 11.689333420797269],
  [10.5, 13.940625219403763],
  [50.5, 146.51925549072064],
];

// [a, b, ln B(a, b)]
const CLOSED_FORM_BETALN: ReadonlyArray<readonly [number, number, number]> = [
  // Integers: ln((a − 1)! (b − 1)! / (a + b − 1)!).
  [2, 3, -2.4849066497880004],
  [5, 7, -7.745002803515839],
  [9, 12, -14.22870571213435],
  [10, 10, -13.736229227036555],
  [10, 11, -14.4293764075965],
  [3, 1000, -20.03311615938222],
  [100, 200, -192.13419227497894],
  [1000, 2000, -1911.8746142144516],
  [1, 1, 0],
  // B(a, 1) = 1/a for any a > 0, so ln B(a, 1) = −ln a (a as the exact double).
  [0.001, 1, 6.907755278982137],
  [0.5, 1, 0.6931471805599453],
  [7.25, 1, -1.9810014688665833],
  [1e6, 1, -13.815510557964274],
  [1e9, 1, -20.72326583694641],
  [1e12, 1, -27.631021115928547],
  [0.5, 0.5, 1.1447298858494002], // B(½, ½) = π
];

// [x, ψ(x), lnΓ(x)] from the 60-digit series evaluation.
const SERIES_DIGAMMA_GAMMALN: ReadonlyArray<readonly [number, number, number]> = [
  [0.001, -1000.5755719318103, 6.907178885383853],
  [0.01, -100.56088545786868, 4.599479878042022],
  [0.1, -10.423754940411076, 2.252712651734206],
  [0.3, -3.502524222200133, 1.0957979948180756],
  [0.7, -1.2200235536979347, 0.26086724653166654],
  [1.25, -0.22745353337626542, -0.09827183642181316],
  [2.75, 0.8189010249754326, 0.47521466691493713],
  [3.3, 1.0348224890596216, 0.9870985778947344],
  [7.3, 1.9178203356379862, 7.147892523022248],
  [9.99, 2.250700372831201, 12.779315214350193],
  [10.01, 2.2528037003181356, 12.824350262448247],
  [12.5, 2.4851956512749123, 18.734347511936445],
  [123.456, 4.811829323828985, 469.6055471299295],
  [100000.5, 11.512925464974396, 1051293.4654351394],
  [1e9, 20.723265836446412, 19723265827.503716],
  [1e12, 27.63102111592805, 26631021115915.652],
  [1e15, 34.538776394910684, 3.3538776394910668e16],
];

// [a, b, ln B(a, b)] from the same series: lnΓ(a) + lnΓ(b) − lnΓ(a + b) at 60 digits.
const SERIES_BETALN: ReadonlyArray<readonly [number, number, number]> = [
  [0.001, 0.001, 7.600900817008347],
  [0.001, 0.5, 6.909139930809522],
  [0.5, 3.7, -0.048118367370501826],
  [12.3, 45.6, -30.153168245371393],
  [1000000001, 0.001, 6.886455619546407],
  [1e12, 2.5, -68.79286991935032],
  [3.5e6, 0.25, -2.4790458301311182],
  [1e5, 1e5, -138633.92706134808],
  [1e9, 0.001, 6.886455619547407],
];

/** Log-uniform draws on [lo, hi] from a fixed stream, so the grid is the same every run. */
function logUniformGrid(seed: number, n: number, lo: number, hi: number): number[] {
  const random = new CounterRandom(seed);
  const a = Math.log(lo);
  const b = Math.log(hi);
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(Math.exp(a + (b - a) * random.next()));
  // Both sides of the switch from the recurrence to the asymptotic series at 10.
  for (let x = 8.5; x <= 11.5; x += 0.125) xs.push(x);
  return xs;
}

describe('digamma', () => {
  test.each(CLOSED_FORM_DIGAMMA)('ψ(%p) matches its closed form', (x, expected) => {
    expectNear(digamma(x), expected, `digamma(${x})`);
  });

  test.each(SERIES_DIGAMMA_GAMMALN)('ψ(%p) matches the high-precision series', (x, expected) => {
    expectNear(digamma(x), expected, `digamma(${x})`);
  });

  test('ψ(x + 1) = ψ(x) + 1/x for x from 1e-3 to 1e6', () => {
    let checked = 0;
    for (const raw of logUniformGrid(11, 2000, 1e-3, 1e6)) {
      // Make x + 1 exact, so the identity is about ψ and not about rounding x + 1.
      const x = raw + 1 - 1;
      const lhs = digamma(x + 1);
      const a = digamma(x);
      const inv = 1 / x;
      // The identity can only hold to the rounding of its largest term (ψ(x) ≈ −1/x for small x).
      const scale = Math.max(Math.abs(lhs), Math.abs(a), inv, 1);
      expectNear(lhs, a + inv, `ψ(${x} + 1)`, TOL, scale);
      checked++;
    }
    expect(checked).toBeGreaterThan(2000);
  });

  test('is increasing on a fine grid (ψ′ > 0)', () => {
    let previous = digamma(1e-3);
    for (let x = 2e-3; x < 50; x *= 1.01) {
      const value = digamma(x);
      expect(value).toBeGreaterThan(previous);
      previous = value;
    }
  });

  test('domain: ψ(0) = −∞, negative and NaN arguments give NaN', () => {
    expect(digamma(0)).toBe(-Infinity);
    expect(digamma(-1.5)).toBeNaN();
    expect(digamma(Number.NaN)).toBeNaN();
  });
});

describe('gammaln', () => {
  test.each(CLOSED_FORM_GAMMALN)('lnΓ(%p) matches its closed form', (x, expected) => {
    expectNear(gammaln(x), expected, `gammaln(${x})`);
  });

  test.each(SERIES_DIGAMMA_GAMMALN)('lnΓ(%p) matches the high-precision series', (x, _psi, expected) => {
    expectNear(gammaln(x), expected, `gammaln(${x})`);
  });

  test('lnΓ(1) = lnΓ(2) = 0', () => {
    expect(Math.abs(gammaln(1))).toBeLessThanOrEqual(TOL);
    expect(Math.abs(gammaln(2))).toBeLessThanOrEqual(TOL);
  });

  test('lnΓ(x + 1) = lnΓ(x) + ln x for x from 1e-3 to 1e6', () => {
    let checked = 0;
    for (const raw of logUniformGrid(12, 2000, 1e-3, 1e6)) {
      const x = raw + 1 - 1;
      const lhs = gammaln(x + 1);
      const a = gammaln(x);
      const l = Math.log(x);
      const scale = Math.max(Math.abs(lhs), Math.abs(a), Math.abs(l), 1);
      expectNear(lhs, a + l, `lnΓ(${x} + 1)`, TOL, scale);
      checked++;
    }
    expect(checked).toBeGreaterThan(2000);
  });

  test('domain: lnΓ(0) = ∞, lnΓ(∞) = ∞, negative arguments give NaN', () => {
    expect(gammaln(0)).toBe(Infinity);
    expect(gammaln(Infinity)).toBe(Infinity);
    expect(gammaln(-2.5)).toBeNaN();
  });
});

describe('betaln', () => {
  test.each(CLOSED_FORM_BETALN)('ln B(%p, %p) matches its closed form', (a, b, expected) => {
    expectNear(betaln(a, b), expected, `betaln(${a}, ${b})`);
    expectNear(betaln(b, a), expected, `betaln(${b}, ${a})`);
  });

  test.each(SERIES_BETALN)('ln B(%p, %p) matches the high-precision series', (a, b, expected) => {
    expectNear(betaln(a, b), expected, `betaln(${a}, ${b})`);
  });

  test('is exactly symmetric', () => {
    const random = new CounterRandom(13);
    for (let i = 0; i < 500; i++) {
      const a = Math.exp(Math.log(1e-3) + Math.log(1e12) * random.next());
      const b = Math.exp(Math.log(1e-3) + Math.log(1e12) * random.next());
      expect(Object.is(betaln(a, b), betaln(b, a))).toBe(true);
    }
  });

  test('equals lnΓ(a) + lnΓ(b) − lnΓ(a + b) for moderate arguments (including the asymptotic branch)', () => {
    const random = new CounterRandom(14);
    for (let i = 0; i < 1000; i++) {
      // a up to 300 so half the draws take the large-argument branch (max(a, b) ≥ 10).
      const a = Math.exp(Math.log(1e-2) + Math.log(3e4) * random.next());
      const b = Math.exp(Math.log(1e-2) + Math.log(3e4) * random.next());
      const ga = gammaln(a);
      const gb = gammaln(b);
      const gab = gammaln(a + b);
      const scale = Math.max(Math.abs(ga), Math.abs(gb), Math.abs(gab), 1);
      expectNear(betaln(a, b), ga + gb - gab, `betaln(${a}, ${b})`, TOL, scale);
    }
  });

  test('betaln(1e9, 1e-3) is its asymptotic value lnΓ(b) − b·ln a', () => {
    const a = 1e9;
    const b = 1e-3;
    const lnGammaB = 6.907178885383853; // lnΓ(0.001), SERIES table
    // lnΓ(a) − lnΓ(a + b) = −b ln a − b(b − 1)/(2a) + O(a⁻²): the dropped term is 5e-13,
    // 7e-14 relative, so the first order is good to 1e-12 ...
    expectNear(betaln(a, b), lnGammaB - b * Math.log(a), 'betaln(1e9, 1e-3) first order', 1e-12, 0);
    // ... and with the second-order term to the last bits. The plain formula
    // lnΓ(a) + lnΓ(b) − lnΓ(a + b) cancels two values near 2e10 and cannot do this.
    expectNear(betaln(a, b), lnGammaB - b * Math.log(a) - (b * (b - 1)) / (2 * a), 'betaln(1e9, 1e-3)', 1e-15, 0);
    const naive = gammaln(a) + gammaln(b) - gammaln(a + b);
    expect(Math.abs(naive - betaln(a, b)) / Math.abs(betaln(a, b))).toBeGreaterThan(1e-9);
  });
});

describe('logSumExp', () => {
  const v = (...xs: number[]) => Float64Array.from(xs);

  test('small known values', () => {
    expectNear(logSumExp(v(0, 0)), Math.LN2, 'log(e⁰ + e⁰)', 1e-16, 0);
    expectNear(logSumExp(v(0)), 0, 'log(e⁰)', 0, 1);
    expectNear(logSumExp(v(Math.log(1), Math.log(2), Math.log(3))), Math.log(6), 'log(1 + 2 + 3)', 2e-16, 0);
    expectNear(logSumExp(v(0, 0, 0, 0)), 2 * Math.LN2, 'log 4', 2e-16, 0);
  });

  test('does not overflow or underflow (the maximum is factored out)', () => {
    expectNear(logSumExp(v(1000, 1000)), 1000 + Math.LN2, 'log(2e¹⁰⁰⁰)', 1e-16, 0);
    expectNear(logSumExp(v(-1000, -1000)), -1000 + Math.LN2, 'log(2e⁻¹⁰⁰⁰)', 1e-16, 0);
    // Two values: max + log1p(exp(−|a − b|)).
    expectNear(logSumExp(v(-745.5, -750)), -745.5 + Math.log1p(Math.exp(-4.5)), 'two tiny', 1e-16, 0);
    expectNear(logSumExp(v(710, 709)), 710 + Math.log1p(Math.exp(-1)), 'two huge', 1e-16, 0);
  });

  test('infinities behave as scipy.special.logsumexp', () => {
    expect(logSumExp(v(-Infinity, -Infinity))).toBe(-Infinity);
    expect(logSumExp(v(-Infinity, 3))).toBe(3);
    expect(logSumExp(v(Infinity, 3))).toBe(Infinity);
  });

  test('works on a window of a larger array', () => {
    const row = v(99, 99, 0, Math.log(3), 99);
    expectNear(logSumExp(row, 2, 2), Math.log(4), 'window [2, 4)', 2e-16, 0);
    expectNear(logSumExp(row, 4, 1), 99, 'window [4, 5)', 0, 1);
  });

  test('agrees with a direct sum where that cannot overflow', () => {
    const random = new CounterRandom(15);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(random.next() * 12);
      const xs = new Float64Array(n);
      let direct = 0;
      for (let i = 0; i < n; i++) {
        xs[i] = -20 + 40 * random.next();
        direct += Math.exp(xs[i]);
      }
      expectNear(logSumExp(xs), Math.log(direct), `logSumExp of ${n} values`, 1e-14, 1);
    }
  });
});

/**
 * Golden tests: the TypeScript mixture against scikit-learn's BayesianGaussianMixture,
 * started from scikit-learn's own k-means centres (tests/fixtures/README.md).
 */
import {
  fitVbgmm,
  logProbTerms,
  mostLikelyComponent,
  posteriorInto,
  summarise,
  unitPoints,
  type VbgmmFit,
} from '../../core/mixture';
import { expectAllClose } from '../support/close-to';
import { fixtureOptions, loadSklearnFixtures, type SklearnFixture } from '../support/sklearn-fixtures';

const RTOL = 1e-9;
const fixtures = loadSklearnFixtures();

function weightConcentrations(f: SklearnFixture): { a: number[]; b: number[] } {
  const wc = f.expected.weight_concentration;
  if (f.params.weight_concentration_prior_type === 'dirichlet_process') {
    const [a, b] = wc as [number[], number[]];
    return { a, b };
  }
  return { a: wc as number[], b: [] };
}

function checkAgainstSklearn(f: SklearnFixture, fit: VbgmmFit): void {
  const e = f.expected;
  expect(fit.nIter).toBe(e.n_iter);
  expect(fit.converged).toBe(e.converged);
  expectAllClose([fit.priors.meanPrior, fit.priors.covariancePrior], [e.mean_prior, e.covariance_prior], RTOL, 'priors', 1e-300);
  expectAllClose(fit.weights, e.weights, RTOL, 'weights', 1e-300);
  expectAllClose(fit.params.means, e.means, RTOL, 'means', 1e-300);
  expectAllClose(fit.params.covariances, e.variances, RTOL, 'variances');
  expectAllClose(fit.params.precisionsCholesky, e.precisions_cholesky, RTOL, 'precisions_cholesky');
  expectAllClose(fit.params.meanPrecision, e.mean_precision, RTOL, 'mean_precision');
  expectAllClose(fit.params.degreesOfFreedom, e.degrees_of_freedom, RTOL, 'degrees_of_freedom');
  const { a, b } = weightConcentrations(f);
  expectAllClose(fit.params.weightConcentrationA, a, RTOL, 'weight_concentration[0]');
  expectAllClose(fit.params.weightConcentrationB, b, RTOL, 'weight_concentration[1]');
  expectAllClose([fit.lowerBound], [e.lower_bound], RTOL, 'lower_bound');
  if (e.lower_bounds !== null) expectAllClose(fit.lowerBounds, e.lower_bounds, RTOL, 'lower_bounds');
}

describe.each(fixtures.map((f) => [f.name, f] as const))('fixture %s', (_name, f) => {
  const options = fixtureOptions(f);
  const init = { kind: 'means', means: f.init_means } as const;

  test('fit over the rows matches scikit-learn', () => {
    checkAgainstSklearn(f, fitVbgmm([unitPoints(f.data)], options, init));
  });

  test('fit over weighted points (distinct values with counts) matches scikit-learn', () => {
    const points = summarise(f.data);
    checkAgainstSklearn(f, fitVbgmm([points], options, init));
  });

  test('predict and predict_proba match scikit-learn', () => {
    const fit = fitVbgmm([summarise(f.data)], options, init);
    const terms = logProbTerms(fit.params);
    const scratch = new Float64Array(terms.k);
    const labels = f.data.map((x) => mostLikelyComponent(terms, x, scratch));
    expect(labels).toEqual(f.expected.predict);
    f.expected.probe_x.forEach((x, i) => {
      posteriorInto(terms, x, scratch);
      // Probabilities below 1e-300 are noise in both implementations.
      expectAllClose(scratch, f.expected.probe_predict_proba[i], 1e-7, `predict_proba(${x})`, 1e-12);
    });
  });
});

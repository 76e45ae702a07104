/** Typed access to the golden fixtures written by tests/fixtures/generate_sklearn_fixtures.py. */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { CTABGAN_DEFAULTS, type VbgmmOptions, type WeightConcentrationPriorType } from '../../core/mixture';

export interface SklearnFixture {
  readonly name: string;
  readonly params: {
    readonly n_components: number;
    readonly weight_concentration_prior_type: WeightConcentrationPriorType;
    readonly weight_concentration_prior: number | null;
    readonly max_iter: number;
    readonly n_init: number;
    readonly tol: number;
    readonly reg_covar: number;
    readonly seed: number;
  };
  readonly data: number[];
  readonly full_column: number[] | null;
  readonly modal_values: number[] | null;
  readonly init_means: number[];
  readonly expected: {
    readonly mean_prior: number;
    readonly covariance_prior: number;
    readonly weights: number[];
    readonly means: number[];
    readonly variances: number[];
    readonly precisions_cholesky: number[];
    readonly weight_concentration: number[] | [number[], number[]];
    readonly mean_precision: number[];
    readonly degrees_of_freedom: number[];
    readonly lower_bound: number;
    readonly lower_bounds: number[] | null;
    readonly n_iter: number;
    readonly converged: boolean;
    readonly predict: number[];
    readonly probe_x: number[];
    readonly probe_predict_proba: number[][];
    readonly initial: {
      readonly means: number[];
      readonly variances: number[];
      readonly mean_precision: number[];
      readonly degrees_of_freedom: number[];
    };
  };
}

export const FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'sklearn');

export function loadSklearnFixtures(): SklearnFixture[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(FIXTURE_DIR, f), 'utf8')) as SklearnFixture);
}

export function fixtureOptions(f: SklearnFixture): VbgmmOptions {
  return {
    ...CTABGAN_DEFAULTS,
    nComponents: f.params.n_components,
    weightConcentrationPriorType: f.params.weight_concentration_prior_type,
    weightConcentrationPrior: f.params.weight_concentration_prior,
    maxIter: f.params.max_iter,
    nInit: f.params.n_init,
    tol: f.params.tol,
    regCovar: f.params.reg_covar,
  };
}

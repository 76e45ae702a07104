/**
 * Options and priors of the variational Bayesian Gaussian mixture, named after
 * scikit-learn's BayesianGaussianMixture parameters (camelCase).
 */
import { sampleVariance, type Moments } from './moments';

export type WeightConcentrationPriorType = 'dirichlet_process' | 'dirichlet_distribution';

export interface VbgmmOptions {
  readonly nComponents: number;
  readonly weightConcentrationPriorType: WeightConcentrationPriorType;
  /** null: 1 / nComponents, as scikit-learn. */
  readonly weightConcentrationPrior: number | null;
  /** null: 1. */
  readonly meanPrecisionPrior: number | null;
  /** null: the data mean. */
  readonly meanPrior: number | null;
  /** null: the number of features, 1. */
  readonly degreesOfFreedomPrior: number | null;
  /** null: the sample variance (ddof = 1). */
  readonly covariancePrior: number | null;
  readonly maxIter: number;
  readonly nInit: number;
  readonly tol: number;
  readonly regCovar: number;
}

/** scikit-learn's own defaults. */
export const SKLEARN_DEFAULTS: VbgmmOptions = {
  nComponents: 1,
  weightConcentrationPriorType: 'dirichlet_process',
  weightConcentrationPrior: null,
  meanPrecisionPrior: null,
  meanPrior: null,
  degreesOfFreedomPrior: null,
  covariancePrior: null,
  maxIter: 100,
  nInit: 1,
  tol: 1e-3,
  regCovar: 1e-6,
};

/** What CTAB-GAN's transformer passes to BayesianGaussianMixture. */
export const CTABGAN_DEFAULTS: VbgmmOptions = {
  ...SKLEARN_DEFAULTS,
  nComponents: 10,
  weightConcentrationPrior: 0.001,
};

/** The priors with every default resolved against the data, as `_check_parameters` does. */
export interface VbgmmPriors {
  readonly weightConcentrationPrior: number;
  readonly meanPrecisionPrior: number;
  readonly meanPrior: number;
  readonly degreesOfFreedomPrior: number;
  readonly covariancePrior: number;
}

export function validateOptions(options: VbgmmOptions): void {
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  };
  positiveInt('nComponents', options.nComponents);
  positiveInt('nInit', options.nInit);
  if (!Number.isInteger(options.maxIter) || options.maxIter < 0) {
    throw new RangeError(`maxIter must be a non-negative integer, got ${options.maxIter}`);
  }
  const nonNegative = (name: string, v: number | null) => {
    if (v !== null && !(v >= 0 && Number.isFinite(v))) throw new RangeError(`${name} must be finite and >= 0, got ${v}`);
  };
  nonNegative('tol', options.tol);
  nonNegative('regCovar', options.regCovar);
  const positive = (name: string, v: number | null) => {
    if (v !== null && !(v > 0 && Number.isFinite(v))) throw new RangeError(`${name} must be finite and > 0, got ${v}`);
  };
  positive('weightConcentrationPrior', options.weightConcentrationPrior);
  positive('meanPrecisionPrior', options.meanPrecisionPrior);
  if (options.degreesOfFreedomPrior !== null && !(options.degreesOfFreedomPrior > 0)) {
    // scikit-learn requires degrees_of_freedom_prior > n_features - 1 = 0.
    throw new RangeError(`degreesOfFreedomPrior must be > 0, got ${options.degreesOfFreedomPrior}`);
  }
  positive('covariancePrior', options.covariancePrior);
}

/** Resolves the priors from the options and the data's moments. */
export function resolvePriors(options: VbgmmOptions, data: Moments): VbgmmPriors {
  return {
    weightConcentrationPrior: options.weightConcentrationPrior ?? 1 / options.nComponents,
    meanPrecisionPrior: options.meanPrecisionPrior ?? 1,
    meanPrior: options.meanPrior ?? data.mean,
    degreesOfFreedomPrior: options.degreesOfFreedomPrior ?? 1,
    covariancePrior: options.covariancePrior ?? sampleVariance(data),
  };
}

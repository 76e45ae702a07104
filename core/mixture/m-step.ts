/**
 * The M-step: the variational posterior from merged component statistics
 * (scikit-learn's `_estimate_gaussian_parameters`, `_estimate_weights`,
 * `_estimate_means` and `_estimate_wishart_full`, in 1-D). Also the initialisation,
 * which is the same update applied to hard assignments (`_initialize`).
 */
import type { ComponentStats } from './component-stats';
import type { VbgmmOptions, VbgmmPriors } from './options';
import type { VbgmmParams } from './params';

/** numpy.finfo(float64).eps; scikit-learn adds 10·eps to every N_k so no mass is 0. */
const FLOAT64_EPS = 2.220446049250313e-16;

/** N_k, x̄_k and S_k as `_estimate_gaussian_parameters` returns them. */
export interface GaussianEstimates {
  readonly nk: Float64Array;
  readonly xk: Float64Array;
  readonly sk: Float64Array;
}

export function gaussianEstimates(stats: ComponentStats, regCovar: number): GaussianEstimates {
  const k = stats.mass.length;
  const nk = new Float64Array(k);
  const xk = new Float64Array(k);
  const sk = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const mass = stats.mass[i];
    nk[i] = mass + 10 * FLOAT64_EPS;
    // scikit-learn divides Σ r·x by the padded N_k, so its mean is slightly shrunk
    // towards 0; the centred M2 is moved from our exact mean to that one.
    xk[i] = (mass * stats.mean[i]) / nk[i];
    const shift = stats.mean[i] - xk[i];
    sk[i] = (stats.m2[i] + mass * shift * shift) / nk[i] + regCovar;
  }
  return { nk, xk, sk };
}

export function mStep(stats: ComponentStats, priors: VbgmmPriors, options: VbgmmOptions): VbgmmParams {
  const { nk, xk, sk } = gaussianEstimates(stats, options.regCovar);
  const k = nk.length;

  let weightConcentrationA: Float64Array;
  let weightConcentrationB: Float64Array;
  if (options.weightConcentrationPriorType === 'dirichlet_process') {
    weightConcentrationA = new Float64Array(k);
    weightConcentrationB = new Float64Array(k);
    // b_k = prior + Σ_{j>k} N_j, accumulated from the last component as numpy's
    // reversed cumsum does, so the rounding matches.
    let tail = 0;
    for (let i = k - 1; i >= 0; i--) {
      weightConcentrationA[i] = 1 + nk[i];
      weightConcentrationB[i] = priors.weightConcentrationPrior + tail;
      tail += nk[i];
    }
  } else {
    weightConcentrationA = new Float64Array(k);
    weightConcentrationB = new Float64Array(0);
    for (let i = 0; i < k; i++) weightConcentrationA[i] = priors.weightConcentrationPrior + nk[i];
  }

  const meanPrecision = new Float64Array(k);
  const means = new Float64Array(k);
  const degreesOfFreedom = new Float64Array(k);
  const covariances = new Float64Array(k);
  const precisionsCholesky = new Float64Array(k);
  const beta0 = priors.meanPrecisionPrior;
  for (let i = 0; i < k; i++) {
    meanPrecision[i] = beta0 + nk[i];
    means[i] = (beta0 * priors.meanPrior + nk[i] * xk[i]) / meanPrecision[i];
    degreesOfFreedom[i] = priors.degreesOfFreedomPrior + nk[i];
    const diff = xk[i] - priors.meanPrior;
    const scatter =
      priors.covariancePrior + nk[i] * sk[i] + ((nk[i] * beta0) / meanPrecision[i]) * (diff * diff);
    // scikit-learn normalises the Wishart scale by ν (unlike Bishop), giving E[Σ].
    covariances[i] = scatter / degreesOfFreedom[i];
    if (!(covariances[i] > 0)) {
      throw new RangeError(
        `component ${i} has a non-positive variance ${covariances[i]}; increase regCovar`,
      );
    }
    precisionsCholesky[i] = 1 / Math.sqrt(covariances[i]);
  }
  return {
    priorType: options.weightConcentrationPriorType,
    weightConcentrationA,
    weightConcentrationB,
    meanPrecision,
    means,
    degreesOfFreedom,
    covariances,
    precisionsCholesky,
  };
}

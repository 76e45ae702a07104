/**
 * The variational posterior of a 1-D mixture: scikit-learn's fitted attributes
 * weight_concentration_, mean_precision_, means_, degrees_of_freedom_, covariances_
 * and precisions_cholesky_, with one entry per component.
 */
import type { WeightConcentrationPriorType } from './options';

export interface VbgmmParams {
  readonly priorType: WeightConcentrationPriorType;
  /**
   * Dirichlet process: the first stick-breaking Beta parameter (1 + N_k).
   * Dirichlet distribution: the concentrations (prior + N_k).
   */
  readonly weightConcentrationA: Float64Array;
  /** Dirichlet process: the second Beta parameter; empty for a Dirichlet distribution. */
  readonly weightConcentrationB: Float64Array;
  readonly meanPrecision: Float64Array;
  readonly means: Float64Array;
  readonly degreesOfFreedom: Float64Array;
  readonly covariances: Float64Array;
  readonly precisionsCholesky: Float64Array;
}

export function componentCount(params: VbgmmParams): number {
  return params.means.length;
}

/** The expected mixture weights, as `_set_parameters` computes `weights_`. */
export function mixtureWeights(params: VbgmmParams): Float64Array {
  const k = componentCount(params);
  const weights = new Float64Array(k);
  if (params.priorType === 'dirichlet_process') {
    const a = params.weightConcentrationA;
    const b = params.weightConcentrationB;
    // E[v_k] · Π_{j<k} E[1 − v_j] of the stick-breaking Betas.
    let remaining = 1;
    for (let i = 0; i < k; i++) {
      const sum = a[i] + b[i];
      weights[i] = (a[i] / sum) * remaining;
      remaining *= b[i] / sum;
    }
  } else {
    weights.set(params.weightConcentrationA);
  }
  let total = 0;
  for (let i = 0; i < k; i++) total += weights[i];
  for (let i = 0; i < k; i++) weights[i] /= total;
  return weights;
}

/**
 * The evidence lower bound after an M-step (`_compute_lower_bound`), up to the
 * constant scikit-learn drops. It is a sum over rows (not a mean), so tol = 1e-3 is
 * tight relative to its size and rarely stops the fit early.
 */
import type { ComponentStats } from './component-stats';
import { componentCount, type VbgmmParams } from './params';
import { betaln, gammaln } from './special-functions';

const HALF_LOG_2 = 0.5 * Math.log(2);

export function lowerBound(params: VbgmmParams, stats: ComponentStats): number {
  const k = componentCount(params);
  let logWishart = 0;
  let logMeanPrecision = 0;
  for (let i = 0; i < k; i++) {
    const dof = params.degreesOfFreedom[i];
    const logDetPrecisionsChol = Math.log(params.precisionsCholesky[i]) - 0.5 * Math.log(dof);
    // −(ν log|L| + ν·d/2·log 2 + Σ lnΓ((ν − i)/2)), the Wishart log-normaliser.
    logWishart += -(dof * logDetPrecisionsChol + dof * HALF_LOG_2 + gammaln(0.5 * dof));
    logMeanPrecision += Math.log(params.meanPrecision[i]);
  }

  let logNormWeight: number;
  if (params.priorType === 'dirichlet_process') {
    let sumBetaln = 0;
    for (let i = 0; i < k; i++) sumBetaln += betaln(params.weightConcentrationA[i], params.weightConcentrationB[i]);
    logNormWeight = -sumBetaln;
  } else {
    let total = 0;
    let sumGammaln = 0;
    for (let i = 0; i < k; i++) {
      total += params.weightConcentrationA[i];
      sumGammaln += gammaln(params.weightConcentrationA[i]);
    }
    logNormWeight = gammaln(total) - sumGammaln;
  }

  return -stats.entropyTerm - logWishart - logNormWeight - 0.5 * logMeanPrecision;
}

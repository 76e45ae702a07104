/**
 * The E-step: log-responsibilities of each value under the current variational
 * posterior (scikit-learn's `_estimate_weighted_log_prob` and `_estimate_log_prob_resp`
 * for 1-D full covariances), and the partial statistic they give over a batch.
 */
import { componentStatsCombine, statsFromResponsibilities, type ComponentStats } from './component-stats';
import { componentCount, type VbgmmParams } from './params';
import { tableExp } from './table-exp';
import { digamma, logSumExp } from './special-functions';
import type { WeightedPoints } from './weighted-points';

// Hot loops call these through module-level bindings: a global `Math` lookup per call
// is an order of magnitude slower inside vm contexts such as jest's.
const { exp, log } = Math;

const LOG_2PI = log(2 * Math.PI);
const LOG_2 = log(2);

/** E[log π_k] under the weight posterior (`_estimate_log_weights`). */
export function expectedLogWeights(params: VbgmmParams): Float64Array {
  const k = componentCount(params);
  const out = new Float64Array(k);
  const a = params.weightConcentrationA;
  if (params.priorType === 'dirichlet_process') {
    const b = params.weightConcentrationB;
    // log v_k plus Σ_{j<k} log(1 − v_j), the stick-breaking expectation.
    let previousSticks = 0;
    for (let i = 0; i < k; i++) {
      const digammaSum = digamma(a[i] + b[i]);
      out[i] = digamma(a[i]) - digammaSum + previousSticks;
      previousSticks += digamma(b[i]) - digammaSum;
    }
  } else {
    let total = 0;
    for (let i = 0; i < k; i++) total += a[i];
    const digammaTotal = digamma(total);
    for (let i = 0; i < k; i++) out[i] = digamma(a[i]) - digammaTotal;
  }
  return out;
}

/**
 * Per-component terms of the weighted log-probability that do not depend on x,
 * computed once per E-step rather than once per point.
 */
export interface LogProbTerms {
  readonly k: number;
  readonly means: Float64Array;
  readonly precisionsCholesky: Float64Array;
  /** mean · precision Cholesky, subtracted as scikit-learn does (x·P − μ·P). */
  readonly scaledMeans: Float64Array;
  readonly logDet: Float64Array;
  /** −½ log ν_k: the Wishart scale of the expected log-density. */
  readonly halfLogDof: Float64Array;
  /** ½ (E[log|Λ_k|] − 1/β_k). */
  readonly precisionTerm: Float64Array;
  readonly logWeights: Float64Array;
}

export function logProbTerms(params: VbgmmParams): LogProbTerms {
  const k = componentCount(params);
  const scaledMeans = new Float64Array(k);
  const logDet = new Float64Array(k);
  const halfLogDof = new Float64Array(k);
  const precisionTerm = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const pc = params.precisionsCholesky[i];
    const dof = params.degreesOfFreedom[i];
    scaledMeans[i] = params.means[i] * pc;
    logDet[i] = log(pc);
    halfLogDof[i] = 0.5 * log(dof);
    const logLambda = LOG_2 + digamma(0.5 * dof);
    precisionTerm[i] = 0.5 * (logLambda - 1 / params.meanPrecision[i]);
  }
  return {
    k,
    means: params.means,
    precisionsCholesky: params.precisionsCholesky,
    scaledMeans,
    logDet,
    halfLogDof,
    precisionTerm,
    logWeights: expectedLogWeights(params),
  };
}

/** Writes the k weighted log-probabilities of x into out[at..at+k). */
export function weightedLogProbInto(terms: LogProbTerms, x: number, out: Float64Array, at: number): void {
  for (let j = 0; j < terms.k; j++) {
    const y = x * terms.precisionsCholesky[j] - terms.scaledMeans[j];
    const logGauss = -0.5 * (LOG_2PI + y * y) + terms.logDet[j] - terms.halfLogDof[j];
    out[at + j] = logGauss + terms.precisionTerm[j] + terms.logWeights[j];
  }
}

/** Points per block: bounds the responsibility matrices to a few MB however large the batch. */
const BLOCK = 8192;

/**
 * The matrices and per-point sums of one block, reused across blocks and calls: a fit allocates
 * them once instead of once per block per iteration (which was a tenth of a fit's time in GC).
 * Safe because eStepStats is synchronous and nothing keeps a block past its call.
 */
class BlockScratch {
  /** Per component, then point: the shifted log-probabilities, then the responsibilities. */
  resp = new Float64Array(0);
  /** Per component, then point: exp of the shifted log-probabilities. */
  unnormalised = new Float64Array(0);
  /** Per point: the largest log-probability, then the log of the sum. */
  shift = new Float64Array(0);
  sum = new Float64Array(0);
  entropy = new Float64Array(0);

  reserve(points: number, k: number): void {
    if (this.shift.length < points) {
      const n = Math.max(points, BLOCK);
      this.shift = new Float64Array(n);
      this.sum = new Float64Array(n);
      this.entropy = new Float64Array(n);
    }
    if (this.resp.length < points * k) {
      this.resp = new Float64Array(Math.max(points, BLOCK) * k);
      this.unnormalised = new Float64Array(this.resp.length);
    }
  }
}
const scratch = new BlockScratch();

/**
 * The responsibilities of a block of n points into scratch.resp, component-major (component j's
 * for point i at j·n + i), and Σ count·Σ_k r·log r. Each value is weightedLogProbInto's, operation
 * for operation, and every sum runs over the components in order for each point, so the bits
 * are those of the point-by-point loop; but each pass is one long loop over the block's points
 * for one component, with that component's terms in locals, which runs about a third faster
 * than short loops over the k components of each point. One exp per component: the terms of
 * the log-sum-exp are the unnormalised responsibilities (scipy's logsumexp, then numpy's
 * exp(log_resp), would take two); and one division per point: each is scaled by 1/Σ.
 */
function blockResponsibilities(terms: LogProbTerms, values: Float64Array, counts: Float64Array): number {
  const k = terms.k;
  const n = values.length;
  scratch.reserve(n, k);
  const { resp, unnormalised, shift, sum, entropy } = scratch;
  shift.fill(-Infinity, 0, n);
  sum.fill(0, 0, n);
  entropy.fill(0, 0, n);
  for (let j = 0, at = 0; j < k; j++, at += n) {
    const pc = terms.precisionsCholesky[j];
    const scaledMean = terms.scaledMeans[j];
    const logDet = terms.logDet[j];
    const halfLogDof = terms.halfLogDof[j];
    const precisionTerm = terms.precisionTerm[j];
    const logWeight = terms.logWeights[j];
    for (let i = 0; i < n; i++) {
      const y = values[i] * pc - scaledMean;
      const logGauss = -0.5 * (LOG_2PI + y * y) + logDet - halfLogDof;
      const lp = logGauss + precisionTerm + logWeight;
      resp[at + i] = lp;
      if (lp > shift[i]) shift[i] = lp;
    }
  }
  // As scipy's logsumexp: a non-finite maximum is replaced by 0, so all −∞ gives −∞, not NaN.
  for (let i = 0; i < n; i++) if (!(shift[i] - shift[i] === 0)) shift[i] = 0;
  for (let j = 0, at = 0; j < k; j++, at += n) {
    for (let i = 0; i < n; i++) {
      const shifted = resp[at + i] - shift[i];
      resp[at + i] = shifted;
      // Inlined into the loop (shifted ≤ 0); Math.exp would be a call out of it.
      const e = tableExp(shifted);
      unnormalised[at + i] = e;
      sum[i] += e;
    }
  }
  const logSum = shift;
  const inverseSum = sum;
  for (let i = 0; i < n; i++) {
    logSum[i] = log(sum[i]);
    inverseSum[i] = 1 / sum[i];
  }
  for (let j = 0, at = 0; j < k; j++, at += n) {
    for (let i = 0; i < n; i++) {
      const r = unnormalised[at + i] * inverseSum[i];
      if (r > 0) entropy[i] += r * (resp[at + i] - logSum[i]);
      resp[at + i] = r;
    }
  }
  let entropyTerm = 0;
  for (let i = 0; i < n; i++) entropyTerm += counts[i] * entropy[i];
  return entropyTerm;
}

/** The E-step statistic over one batch of weighted points. */
export function eStepStats(points: WeightedPoints, params: VbgmmParams): ComponentStats {
  const terms = logProbTerms(params);
  const k = terms.k;
  const n = points.values.length;
  let acc = componentStatsCombine.empty(k);
  for (let start = 0; start < n; start += BLOCK) {
    const end = Math.min(n, start + BLOCK);
    const values = points.values.subarray(start, end);
    const counts = points.counts.subarray(start, end);
    const spread = points.binned?.spread.subarray(start, end);
    const entropyTerm = blockResponsibilities(terms, values, counts);
    acc = componentStatsCombine.merge(acc, statsFromResponsibilities(values, counts, scratch.resp, k, entropyTerm, spread));
  }
  return acc;
}

/** Posterior probabilities of each component for x (`predict_proba`). */
export function posteriorInto(terms: LogProbTerms, x: number, out: Float64Array): void {
  weightedLogProbInto(terms, x, out, 0);
  const norm = logSumExp(out, 0, terms.k);
  for (let j = 0; j < terms.k; j++) out[j] = exp(out[j] - norm);
}

/** The component of highest posterior for x (`predict`); the first on ties, as numpy's argmax. */
export function mostLikelyComponent(terms: LogProbTerms, x: number, scratch: Float64Array): number {
  weightedLogProbInto(terms, x, scratch, 0);
  let best = 0;
  for (let j = 1; j < terms.k; j++) if (scratch[j] > scratch[best]) best = j;
  return best;
}

/**
 * The EM loop of BaseMixture.fit as pure state transitions over merged statistics:
 * the initial M-step, then one step per E-step statistic, with scikit-learn's
 * stopping rule (|Δ lower bound| < tol, starting from −∞, or maxIter).
 */
import type { ComponentStats } from './component-stats';
import { lowerBound } from './lower-bound';
import { mStep } from './m-step';
import type { Moments } from './moments';
import type { VbgmmOptions, VbgmmPriors } from './options';
import type { VbgmmParams } from './params';

export interface FitState {
  readonly params: VbgmmParams;
  /** −∞ before the first iteration, as in scikit-learn. */
  readonly lowerBound: number;
  readonly nIter: number;
  readonly converged: boolean;
  readonly done: boolean;
  readonly lowerBounds: readonly number[];
}

/** The state after `_initialize`: the M-step applied to the initial (hard) statistics. */
export function initialFitState(initStats: ComponentStats, priors: VbgmmPriors, options: VbgmmOptions): FitState {
  return {
    params: mStep(initStats, priors, options),
    lowerBound: -Infinity,
    nIter: 0,
    converged: false,
    done: options.maxIter === 0,
    lowerBounds: [],
  };
}

/** One iteration given the merged E-step statistics under `state.params`. */
export function advanceFit(state: FitState, eStats: ComponentStats, priors: VbgmmPriors, options: VbgmmOptions): FitState {
  if (state.done) throw new Error('the fit is already done');
  const params = mStep(eStats, priors, options);
  const bound = lowerBound(params, eStats);
  const nIter = state.nIter + 1;
  const converged = Math.abs(bound - state.lowerBound) < options.tol;
  return {
    params,
    lowerBound: bound,
    nIter,
    converged,
    done: converged || nIter >= options.maxIter,
    lowerBounds: [...state.lowerBounds, bound],
  };
}

/** How the fit starts: given means (each value goes to its nearest), or k-means from a seed. */
export type FitInit =
  | { readonly kind: 'means'; readonly means: ArrayLike<number> }
  | { readonly kind: 'kmeans'; readonly seed: number };

export interface VbgmmFit {
  readonly params: VbgmmParams;
  readonly weights: Float64Array;
  readonly lowerBound: number;
  readonly lowerBounds: readonly number[];
  readonly nIter: number;
  readonly converged: boolean;
  readonly priors: VbgmmPriors;
  readonly data: Moments;
  readonly initialMeans: Float64Array;
}

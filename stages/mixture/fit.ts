/**
 * The fit loop of BaseMixture.fit for the variational mixture, written as a state
 * machine over merged statistics so that the same steps run in one process (below)
 * or in a reducer fed by distributed workers.
 */
import { mergeAllComponentStats, type ComponentStats } from './component-stats';
import { eStepStats } from './e-step';
import { hardAssignmentStats, kmeansPlusPlus, lloyd } from './kmeans';
import { lowerBound } from './lower-bound';
import { mStep } from './m-step';
import { EMPTY_MOMENTS, mergeMoments, momentsOf, type Moments } from './moments';
import { resolvePriors, validateOptions, type VbgmmOptions, type VbgmmPriors } from './options';
import { mixtureWeights, type VbgmmParams } from './params';
import { mergePoints, type WeightedPoints } from './weighted-points';
import { CounterRandom } from '../random/philox';

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
export function advanceFit(
  state: FitState,
  eStats: ComponentStats,
  priors: VbgmmPriors,
  options: VbgmmOptions,
): FitState {
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
export type FitInit = { readonly kind: 'means'; readonly means: ArrayLike<number> } | { readonly kind: 'kmeans'; readonly seed: number };

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

export function mergedMoments(partitions: readonly WeightedPoints[]): Moments {
  return partitions.reduce((acc, p) => mergeMoments(acc, momentsOf(p)), EMPTY_MOMENTS);
}

/** Checks what scikit-learn checks before fitting: enough rows for the components. */
export function checkFitData(data: Moments, options: VbgmmOptions): void {
  validateOptions(options);
  if (data.count < options.nComponents) {
    throw new RangeError(
      `a mixture of ${options.nComponents} components needs at least ${options.nComponents} values, got ${data.count}`,
    );
  }
  if (data.count < 2) throw new RangeError('a mixture needs at least 2 values to estimate the variance prior');
}

/** Initial centres for init number `run` (k-means++ then Lloyd, or the given means). */
export function initialCentres(
  partitions: readonly WeightedPoints[],
  data: Moments,
  options: VbgmmOptions,
  init: FitInit,
  run: number,
): Float64Array {
  if (init.kind === 'means') {
    if (init.means.length !== options.nComponents) {
      throw new RangeError(`expected ${options.nComponents} initial means, got ${init.means.length}`);
    }
    const means = Float64Array.from(init.means);
    if (means.some((m) => !Number.isFinite(m))) throw new RangeError('initial means must be finite numbers');
    return means;
  }
  const random = new CounterRandom(init.seed, run);
  const seeds = kmeansPlusPlus(mergePoints(partitions), options.nComponents, () => random.next());
  return lloyd(partitions, seeds, data.m2 / data.count);
}

/** The whole fit over partitions of weighted points, partials merged in partition order. */
export function fitVbgmm(partitions: readonly WeightedPoints[], options: VbgmmOptions, init: FitInit): VbgmmFit {
  const data = mergedMoments(partitions);
  checkFitData(data, options);
  const priors = resolvePriors(options, data);
  const k = options.nComponents;
  const runs = init.kind === 'means' ? 1 : options.nInit;

  let best: { state: FitState; initialMeans: Float64Array } | null = null;
  for (let run = 0; run < runs; run++) {
    const centres = initialCentres(partitions, data, options, init, run);
    const initStats = mergeAllComponentStats(
      partitions.map((p) => hardAssignmentStats(p, centres)),
      k,
    );
    let state = initialFitState(initStats, priors, options);
    while (!state.done) {
      const eStats = mergeAllComponentStats(
        partitions.map((p) => eStepStats(p, state.params)),
        k,
      );
      state = advanceFit(state, eStats, priors, options);
    }
    if (best === null || state.lowerBound > best.state.lowerBound) best = { state, initialMeans: centres };
  }
  if (best === null) throw new Error('no initialisation ran');
  const { state, initialMeans } = best;
  return {
    params: state.params,
    weights: mixtureWeights(state.params),
    lowerBound: state.lowerBound,
    lowerBounds: state.lowerBounds,
    nIter: state.nIter,
    converged: state.converged,
    priors,
    data,
    initialMeans,
  };
}

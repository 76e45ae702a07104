/** The embedded fit: the fit machine driven over in-memory partitions of weighted points. */
import { MixtureFitMachine, runMixtureMachine } from './fit-machine';
import type { FitInit, VbgmmFit } from './fit-state';
import { momentsCombine, type Moments } from './moments';
import type { VbgmmOptions } from './options';
import type { WeightedPoints } from './weighted-points';

export function mergedMoments(partitions: readonly WeightedPoints[]): Moments {
  return partitions.reduce((acc, p) => momentsCombine.add(acc, p), momentsCombine.empty());
}

/** The whole fit over partitions of weighted points, partials merged in partition order. */
export function fitVbgmm(partitions: readonly WeightedPoints[], options: VbgmmOptions, init: FitInit): VbgmmFit {
  return runMixtureMachine(new MixtureFitMachine(options, init, mergedMoments(partitions)), partitions);
}

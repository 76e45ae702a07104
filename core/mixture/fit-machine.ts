/**
 * The fit of one mixture as a state machine over merged partial statistics: it asks
 * for a statistic (`next`), someone computes it on every partition and merges the
 * partials in partition order, and the machine takes the result (`accept`). The
 * embedded fit drives it with a loop (fit.ts); the distributed reducer drives it with
 * rounds of broadcasts over Kafka. Same machine, same model.
 *
 * Phases, as in BaseMixture.fit with k-means initialisation:
 *   sample (k-means++ seeding points) → lloyd* → hard (initial responsibilities)
 *   → estep* (until |Δ lower bound| < tol or maxIter), repeated nInit times.
 */
import { mergeAll } from '../combine';
import { componentStatsCombine, type ComponentStats } from './component-stats';
import { eStepStats } from './e-step';
import { advanceFit, initialFitState, type FitInit, type FitState, type VbgmmFit } from './fit-state';
import {
  hardAssignmentStats,
  kmeansPlusPlus,
  KMEANS_DEFAULTS,
  lloydCombine,
  lloydPartial,
  lloydUpdate,
  type LloydPartial,
} from './kmeans';
import type { Moments } from './moments';
import { resolvePriors, validateOptions, type VbgmmOptions, type VbgmmPriors } from './options';
import { mixtureWeights, type VbgmmParams } from './params';
import { samplePoints } from './sample';
import { weightedPointsCombine, type WeightedPoints } from './weighted-points';
import { CounterRandom } from '../random/philox';

/** Most seeding points one shard contributes; more distinct values are coarsened. */
export const SAMPLE_POINTS_PER_SHARD = 4096;

export type MixtureRequest =
  | { readonly kind: 'sample'; readonly maxPoints: number }
  | { readonly kind: 'lloyd'; readonly centres: Float64Array }
  | { readonly kind: 'hard'; readonly centres: Float64Array }
  | { readonly kind: 'estep'; readonly params: VbgmmParams };

export type MixturePartial =
  | { readonly kind: 'sample'; readonly points: WeightedPoints }
  | { readonly kind: 'lloyd'; readonly partial: LloydPartial }
  | { readonly kind: 'stats'; readonly stats: ComponentStats };

/** The partial one partition's points give for a request. Pure. */
export function computeMixturePartial(request: MixtureRequest, points: WeightedPoints): MixturePartial {
  switch (request.kind) {
    case 'sample':
      return { kind: 'sample', points: samplePoints(points, request.maxPoints) };
    case 'lloyd':
      return { kind: 'lloyd', partial: lloydPartial(points, request.centres) };
    case 'hard':
      return { kind: 'stats', stats: hardAssignmentStats(points, request.centres) };
    case 'estep':
      return { kind: 'stats', stats: eStepStats(points, request.params) };
  }
}

/** Merges the partials of all partitions, given in partition order. */
export function mergeMixturePartials(parts: readonly MixturePartial[], k: number): MixturePartial {
  if (parts.length === 0) throw new RangeError('no partials to merge');
  const kind = parts[0].kind;
  if (parts.some((p) => p.kind !== kind)) throw new RangeError('cannot merge partials of different kinds');
  switch (kind) {
    case 'sample':
      return { kind, points: mergeAll(weightedPointsCombine, parts.map((p) => (p as Extract<MixturePartial, { kind: 'sample' }>).points)) };
    case 'lloyd':
      return { kind, partial: mergeAll(lloydCombine, parts.map((p) => (p as Extract<MixturePartial, { kind: 'lloyd' }>).partial), k) };
    case 'stats':
      return { kind, stats: mergeAll(componentStatsCombine, parts.map((p) => (p as Extract<MixturePartial, { kind: 'stats' }>).stats), k) };
  }
}

type Phase =
  | { readonly name: 'sample' }
  | { readonly name: 'lloyd'; readonly centres: Float64Array; readonly iteration: number }
  | { readonly name: 'hard'; readonly centres: Float64Array }
  | { readonly name: 'estep'; readonly state: FitState; readonly centres: Float64Array }
  | { readonly name: 'done' };

export class MixtureFitMachine {
  readonly priors: VbgmmPriors;
  private phase: Phase;
  private run = 0;
  private readonly runs: number;
  private sample: WeightedPoints | null = null;
  private best: { state: FitState; centres: Float64Array } | null = null;

  /** `data`: the merged moments of the points the mixture is fitted to. */
  constructor(
    readonly options: VbgmmOptions,
    readonly init: FitInit,
    readonly data: Moments,
  ) {
    checkFitData(data, options);
    this.priors = resolvePriors(options, data);
    this.runs = init.kind === 'means' ? 1 : options.nInit;
    this.phase = this.startRun();
  }

  get k(): number {
    return this.options.nComponents;
  }

  get done(): boolean {
    return this.phase.name === 'done';
  }

  /** What to compute next over every partition, or null when the fit is done. */
  next(): MixtureRequest | null {
    const phase = this.phase;
    switch (phase.name) {
      case 'sample':
        return { kind: 'sample', maxPoints: SAMPLE_POINTS_PER_SHARD };
      case 'lloyd':
        return { kind: 'lloyd', centres: phase.centres };
      case 'hard':
        return { kind: 'hard', centres: phase.centres };
      case 'estep':
        return { kind: 'estep', params: phase.state.params };
      case 'done':
        return null;
    }
  }

  /** Takes the merged partial answering `next()`. */
  accept(merged: MixturePartial): void {
    const phase = this.phase;
    if (phase.name === 'sample' && merged.kind === 'sample') {
      this.sample = merged.points;
      this.phase = this.seedRun();
    } else if (phase.name === 'lloyd' && merged.kind === 'lloyd') {
      const step = lloydUpdate(phase.centres, merged.partial);
      const threshold = KMEANS_DEFAULTS.tol * (this.data.m2 / this.data.count);
      const iteration = phase.iteration + 1;
      this.phase =
        step.shift <= threshold || iteration >= KMEANS_DEFAULTS.maxIter
          ? { name: 'hard', centres: step.centres }
          : { name: 'lloyd', centres: step.centres, iteration };
    } else if (phase.name === 'hard' && merged.kind === 'stats') {
      const state = initialFitState(merged.stats, this.priors, this.options);
      this.phase = state.done ? this.finishRun(state, phase.centres) : { name: 'estep', state, centres: phase.centres };
    } else if (phase.name === 'estep' && merged.kind === 'stats') {
      const state = advanceFit(phase.state, merged.stats, this.priors, this.options);
      this.phase = state.done ? this.finishRun(state, phase.centres) : { name: 'estep', state, centres: phase.centres };
    } else {
      throw new RangeError(`a ${merged.kind} partial does not answer the ${phase.name} phase`);
    }
  }

  /** The progress of the current run, for logs. */
  progress(): { phase: string; run: number; iteration: number; lowerBound: number } {
    const phase = this.phase;
    const iteration = phase.name === 'estep' ? phase.state.nIter : phase.name === 'lloyd' ? phase.iteration : 0;
    const lowerBound = phase.name === 'estep' ? phase.state.lowerBound : -Infinity;
    return { phase: phase.name, run: this.run, iteration, lowerBound };
  }

  result(): VbgmmFit {
    if (this.best === null || this.phase.name !== 'done') throw new Error('the fit is not done');
    const { state, centres } = this.best;
    return {
      params: state.params,
      weights: mixtureWeights(state.params),
      lowerBound: state.lowerBound,
      lowerBounds: state.lowerBounds,
      nIter: state.nIter,
      converged: state.converged,
      priors: this.priors,
      data: this.data,
      initialMeans: centres,
    };
  }

  private startRun(): Phase {
    if (this.init.kind === 'means') {
      if (this.init.means.length !== this.k) {
        throw new RangeError(`expected ${this.k} initial means, got ${this.init.means.length}`);
      }
      const means = Float64Array.from(this.init.means);
      if (means.some((m) => !Number.isFinite(m))) throw new RangeError('initial means must be finite numbers');
      return { name: 'hard', centres: means };
    }
    return this.sample === null ? { name: 'sample' } : this.seedRun();
  }

  private seedRun(): Phase {
    if (this.init.kind !== 'kmeans' || this.sample === null) throw new Error('seeding needs k-means and a sample');
    const random = new CounterRandom(this.init.seed, this.run);
    const centres = kmeansPlusPlus(this.sample, this.k, () => random.next());
    return { name: 'lloyd', centres, iteration: 0 };
  }

  private finishRun(state: FitState, centres: Float64Array): Phase {
    if (this.best === null || state.lowerBound > this.best.state.lowerBound) this.best = { state, centres };
    this.run++;
    return this.run < this.runs ? this.startRun() : { name: 'done' };
  }
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

/** Drives a machine to the end over in-memory partitions (the embedded fit). */
export function runMixtureMachine(machine: MixtureFitMachine, partitions: readonly WeightedPoints[]): VbgmmFit {
  for (let request = machine.next(); request !== null; request = machine.next()) {
    const req = request;
    machine.accept(mergeMixturePartials(partitions.map((p) => computeMixturePartial(req, p)), machine.k));
  }
  return machine.result();
}

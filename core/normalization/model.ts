/**
 * The fitted transformer as versioned JSON: everything transform and inverse need,
 * and the mixtures in scikit-learn's terms so they can be checked against it.
 * JSON numbers are written shortest-round-trip, so a saved model loads bit-exact.
 */
import type { VbgmmOptions, VbgmmParams, VbgmmPriors, WeightConcentrationPriorType } from '../mixture';
import type { SummaryOptions } from './summary-options';

export const MODEL_FORMAT = 'vgmflow-model';
export const MODEL_FORMAT_VERSION = 1;

export interface MixtureJson {
  readonly weights: number[];
  readonly means: number[];
  readonly variances: number[];
  readonly lowerBound: number | null;
  readonly nIter: number;
  readonly converged: boolean;
  /** The variational posterior the E-step needs to compute responsibilities. */
  readonly posterior: {
    readonly priorType: WeightConcentrationPriorType;
    readonly weightConcentrationA: number[];
    readonly weightConcentrationB: number[];
    readonly meanPrecision: number[];
    readonly degreesOfFreedom: number[];
    readonly precisionsCholesky: number[];
  };
  readonly priors: VbgmmPriors;
  readonly initialMeans: number[];
}

/**
 * How a numeric column's (non-modal) values were summarised for its fit. Binned: the E-step saw
 * `points` bin means; `withinBinVariance` is the mean squared distance of a row from its bin's
 * mean, and `errorScale` that divided by the smallest kept component's variance: the scale of
 * the relative error of the weights, means and variances against the exact fit (README,
 * "High-cardinality columns"). Absent in models written before binning existed (exact).
 */
export type ColumnSummaryInfo =
  | { readonly kind: 'exact'; readonly points: number }
  | {
      readonly kind: 'binned';
      /** Kept mantissa bits: a bin spans 2^-bits of |x| or less. */
      readonly bits: number;
      readonly points: number;
      readonly withinBinVariance: number;
      readonly errorScale: number;
    };

/** One position of a numeric column's one-hot, in encoded order. */
export type ModeSlot =
  | { readonly kind: 'component'; readonly component: number; readonly usage: number }
  | { readonly kind: 'modal'; readonly value: number; readonly usage: number };

export interface ContinuousColumnModel {
  readonly name: string;
  readonly type: 'continuous';
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mixture: MixtureJson;
  /** Rows whose most likely component is each component (`predict` counts). */
  readonly argmaxCounts: number[];
  readonly modes: ModeSlot[];
  readonly summary?: ColumnSummaryInfo;
}

export interface MixedColumnModel {
  readonly name: string;
  readonly type: 'mixed';
  /** Non-modal rows and their range. */
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly modalValues: number[];
  readonly modalCounts: number[];
  /** Alpha written for each modal value (research semantics: nearest mode of the all-values mixture). */
  readonly modalAlphas: number[];
  /** Mixture over the non-modal values: it encodes and decodes them. */
  readonly mixture: MixtureJson;
  /** Mixture over all values, only used to place the modal values' alphas. */
  readonly modalMixture: MixtureJson;
  readonly argmaxCounts: number[];
  readonly modes: ModeSlot[];
  /** How the non-modal values were summarised (the all-values mixture used the same bins). */
  readonly summary?: ColumnSummaryInfo;
}

export interface CategoricalColumnModel {
  readonly name: string;
  readonly type: 'categorical';
  /** One-hot order: most frequent first, ties by code-unit order of the category. */
  readonly categories: string[];
  readonly counts: number[];
}

export type ColumnModel = ContinuousColumnModel | MixedColumnModel | CategoricalColumnModel;
export type NumericColumnModel = ContinuousColumnModel | MixedColumnModel;

export interface TransformerOptions {
  readonly mixture: VbgmmOptions;
  /** Keep a component when its weight exceeds this (and it is some row's most likely one). */
  readonly eps: number;
  /** Keys the counter-based generator that samples each row's mode (and k-means++). */
  readonly seed: number;
  /** How numeric columns are summarised for the fit; absent (models before binning): exact. */
  readonly summary?: SummaryOptions;
}

export interface TransformerModel {
  readonly format: typeof MODEL_FORMAT;
  readonly formatVersion: typeof MODEL_FORMAT_VERSION;
  readonly options: TransformerOptions;
  readonly rows: number;
  readonly columns: ColumnModel[];
}

export function mixtureToJson(
  params: VbgmmParams,
  fit: { weights: Float64Array; lowerBound: number; nIter: number; converged: boolean; priors: VbgmmPriors; initialMeans: Float64Array },
): MixtureJson {
  return {
    weights: Array.from(fit.weights),
    means: Array.from(params.means),
    variances: Array.from(params.covariances),
    lowerBound: Number.isFinite(fit.lowerBound) ? fit.lowerBound : null,
    nIter: fit.nIter,
    converged: fit.converged,
    posterior: {
      priorType: params.priorType,
      weightConcentrationA: Array.from(params.weightConcentrationA),
      weightConcentrationB: Array.from(params.weightConcentrationB),
      meanPrecision: Array.from(params.meanPrecision),
      degreesOfFreedom: Array.from(params.degreesOfFreedom),
      precisionsCholesky: Array.from(params.precisionsCholesky),
    },
    priors: fit.priors,
    initialMeans: Array.from(fit.initialMeans),
  };
}

export function mixtureParams(json: MixtureJson): VbgmmParams {
  const p = json.posterior;
  return {
    priorType: p.priorType,
    weightConcentrationA: Float64Array.from(p.weightConcentrationA),
    weightConcentrationB: Float64Array.from(p.weightConcentrationB),
    meanPrecision: Float64Array.from(p.meanPrecision),
    means: Float64Array.from(json.means),
    degreesOfFreedom: Float64Array.from(p.degreesOfFreedom),
    covariances: Float64Array.from(json.variances),
    precisionsCholesky: Float64Array.from(p.precisionsCholesky),
  };
}

export function serializeModel(model: TransformerModel): string {
  return JSON.stringify(model, null, 2) + '\n';
}

/** A model with its version (the id of the fit job that made it), as a stage holds it while in use. */
export interface VersionedModel {
  readonly model: TransformerModel;
  readonly modelVersion: string;
}

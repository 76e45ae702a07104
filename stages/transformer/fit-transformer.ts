/**
 * Fits CTAB-GAN's transformer from column summaries: a variational mixture per
 * numeric column (two for mixed columns), the kept modes and their one-hot order,
 * and the category order of categorical columns.
 */
import { fitVbgmm, type FitInit, type VbgmmFit, type WeightedPoints } from '../mixture';
import { MISSING_VALUE } from './column-spec';
import type { ColumnSummary } from './column-summary';
import { splitModal } from './column-summary';
import {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  mixtureToJson,
  type CategoricalColumnModel,
  type ColumnModel,
  type ContinuousColumnModel,
  type MixedColumnModel,
  type ModeSlot,
  type TransformerModel,
  type TransformerOptions,
} from './model';
import { argmaxCounts, byUsage, expectedUsage, keptComponents } from './mode-usage';
import { CTABGAN_DEFAULTS } from '../mixture';

export const DEFAULT_TRANSFORMER_OPTIONS: TransformerOptions = {
  mixture: CTABGAN_DEFAULTS,
  eps: 0.005,
  // The research code seeds both the mixture (random_state=42) and the sampling with 42.
  seed: 42,
};

export class FitError extends Error {}

/** Initial means per column name (the `--init-means` file). */
export type InitialMeans = Readonly<Record<string, readonly number[]>>;

function fitColumnMixture(name: string, points: WeightedPoints, options: TransformerOptions, init: FitInit): VbgmmFit {
  try {
    return fitVbgmm([points], options.mixture, init);
  } catch (err) {
    throw new FitError(`column ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

interface FittedModes {
  readonly fit: VbgmmFit;
  readonly argmaxCounts: number[];
  readonly componentSlots: ModeSlot[];
  readonly min: number;
  readonly max: number;
  readonly count: number;
}

function fitModes(name: string, points: WeightedPoints, options: TransformerOptions, init: FitInit): FittedModes {
  const fit = fitColumnMixture(name, points, options, init);
  const counts = argmaxCounts(points, fit.params);
  const kept = keptComponents(fit.weights, counts, options.eps);
  const usage = expectedUsage(points, fit.params, kept);
  return {
    fit,
    argmaxCounts: Array.from(counts),
    componentSlots: kept.map((component, i) => ({ kind: 'component', component, usage: usage[i] })),
    min: fit.data.min,
    max: fit.data.max,
    count: fit.data.count,
  };
}

function initFor(name: string, options: TransformerOptions, initialMeans: InitialMeans): FitInit {
  const means = initialMeans[name];
  return means === undefined ? { kind: 'kmeans', seed: options.seed } : { kind: 'means', means };
}

function fitContinuous(
  summary: ColumnSummary & { points: WeightedPoints },
  options: TransformerOptions,
  initialMeans: InitialMeans,
): ContinuousColumnModel {
  const { name } = summary.spec;
  const modes = fitModes(name, summary.points, options, initFor(name, options, initialMeans));
  return {
    name,
    type: 'continuous',
    count: modes.count,
    min: modes.min,
    max: modes.max,
    mixture: mixtureToJson(modes.fit.params, modes.fit),
    argmaxCounts: modes.argmaxCounts,
    modes: byUsage(modes.componentSlots),
  };
}

/** The research code's alpha for a modal value: against the nearest mean of the all-values mixture. */
function modalAlpha(value: number, allValues: VbgmmFit): number {
  if (value === MISSING_VALUE) return 0;
  const means = allValues.params.means;
  let nearest = 0;
  for (let k = 1; k < means.length; k++) if (Math.abs(value - means[k]) < Math.abs(value - means[nearest])) nearest = k;
  const alpha = (value - means[nearest]) / (4 * Math.sqrt(allValues.params.covariances[nearest]));
  return Math.min(0.99, Math.max(-0.99, alpha));
}

function fitMixed(
  summary: ColumnSummary & { points: WeightedPoints },
  options: TransformerOptions,
  initialMeans: InitialMeans,
): MixedColumnModel {
  if (summary.spec.type !== 'mixed') throw new Error('fitMixed takes a mixed column');
  const { name, modalValues } = summary.spec;
  const { modalCounts, nonModal } = splitModal(summary.points, modalValues);
  const allValues = fitColumnMixture(name, summary.points, options, { kind: 'kmeans', seed: options.seed });
  const modes = fitModes(`${name} (non-modal values)`, nonModal, options, initFor(name, options, initialMeans));
  const modalSlots: ModeSlot[] = modalValues.map((value, i) => ({ kind: 'modal', value, usage: modalCounts[i] }));
  return {
    name,
    type: 'mixed',
    count: modes.count,
    min: modes.min,
    max: modes.max,
    modalValues: [...modalValues],
    modalCounts,
    modalAlphas: modalValues.map((v) => modalAlpha(v, allValues)),
    mixture: mixtureToJson(modes.fit.params, modes.fit),
    modalMixture: mixtureToJson(allValues.params, allValues),
    argmaxCounts: modes.argmaxCounts,
    // Modal slots come first so that they win usage ties, as in the research layout.
    modes: byUsage([...modalSlots, ...modes.componentSlots]),
  };
}

function fitCategorical(summary: ColumnSummary & { categories: ReadonlyMap<string, number> }): CategoricalColumnModel {
  const entries = [...summary.categories.entries()].sort((a, b) =>
    b[1] !== a[1] ? b[1] - a[1] : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0,
  );
  if (entries.length === 0) throw new FitError(`column ${summary.spec.name}: no values to fit`);
  return {
    name: summary.spec.name,
    type: 'categorical',
    categories: entries.map(([c]) => c),
    counts: entries.map(([, n]) => n),
  };
}

export function fitColumn(summary: ColumnSummary, options: TransformerOptions, initialMeans: InitialMeans): ColumnModel {
  if ('categories' in summary) return fitCategorical(summary);
  return summary.spec.type === 'mixed'
    ? fitMixed(summary, options, initialMeans)
    : fitContinuous(summary, options, initialMeans);
}

export function fitTransformer(
  summaries: readonly ColumnSummary[],
  rows: number,
  options: TransformerOptions = DEFAULT_TRANSFORMER_OPTIONS,
  initialMeans: InitialMeans = {},
): TransformerModel {
  const names = new Set(summaries.map((s) => s.spec.name));
  for (const name of Object.keys(initialMeans)) {
    if (!names.has(name)) throw new FitError(`initial means given for unknown column "${name}"`);
  }
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    options,
    rows,
    columns: summaries.map((s) => fitColumn(s, options, initialMeans)),
  };
}

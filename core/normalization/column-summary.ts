/**
 * The one-pass summary of each column that the fit works from: for numeric columns the
 * distinct values with counts (modal ones included, for mixed columns), or, past the
 * summary options' bound, bins of the non-modal values plus the modal values' exact counts;
 * category counts for categorical ones. Mergeable, so partitions can be summarised apart.
 */
import {
  binCountsByBits,
  BinnedPointsBuilder,
  BinRegions,
  EXACT_BITS,
  finestResolution,
  mergeSortedPoints,
  WeightedPointsBuilder,
  type BinnedPoints,
  type WeightedPoints,
} from '../mixture';
import type { ColumnSpec } from './column-spec';
import { DEFAULT_SUMMARY_OPTIONS, type SummaryOptions } from './summary-options';

export type NumericColumnSpec = ColumnSpec & { type: 'continuous' | 'mixed' };

export type ColumnSummary =
  | { readonly spec: NumericColumnSpec; readonly points: WeightedPoints }
  | { readonly spec: NumericColumnSpec; readonly bins: BinnedPoints; readonly modal: WeightedPoints }
  | { readonly spec: ColumnSpec & { type: 'categorical' }; readonly categories: ReadonlyMap<string, number> };

/** A parsed cell: a number for numeric columns, the text for categorical ones. */
export type CellValue = number | string;

const NO_POINTS: WeightedPoints = { values: new Float64Array(0), counts: new Float64Array(0) };

function modalValuesOf(spec: ColumnSpec): readonly number[] {
  return spec.type === 'mixed' ? spec.modalValues : [];
}

/** The modal values' counts as exact points (ascending, only those that occur). */
function modalPoints(modalValues: readonly number[], counts: readonly number[]): WeightedPoints {
  const present = modalValues.map((v, i) => [v + 0, counts[i]] as const).filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  return { values: Float64Array.from(present, ([v]) => v), counts: Float64Array.from(present, ([, n]) => n) };
}

/** Bin counts of exact ascending values at every resolution, regions split (float-bits.ts, binCountsByBits). */
export function exactBinCounts(values: Float64Array, regions: BinRegions): number[] {
  return binCountsByBits(values, EXACT_BITS, regions.centres.length === 0 ? undefined : Array.from(values, (x) => regions.of(x)));
}

/**
 * Exact points → the binned form when their non-modal distinct values exceed `maxBins`: the
 * finest resolution with at most `maxBins` bins. Else null (they stay exact).
 */
export function binIfOverBound(spec: NumericColumnSpec, points: WeightedPoints, maxBins: number, regions: BinRegions): ColumnSummary | null {
  if (points.values.length <= maxBins) return null;
  const { modalCounts, nonModal } = splitModal(points, modalValuesOf(spec));
  if (nonModal.values.length <= maxBins) return null;
  const bits = Math.min(EXACT_BITS - 1, finestResolution(exactBinCounts(nonModal.values, regions), maxBins));
  const builder = new BinnedPointsBuilder(bits, maxBins, regions);
  builder.addExact(nonModal);
  return { spec, bins: builder.build(), modal: modalPoints(modalValuesOf(spec), modalCounts) };
}

export class ColumnSummaryBuilder {
  private exact: WeightedPointsBuilder | null = null;
  private binned: BinnedPointsBuilder | null = null;
  /** Binned columns: how many rows hold each modal value. */
  private modalCounts: number[];
  private readonly categories = new Map<string, number>();
  private readonly modalValues: readonly number[];

  /** `regions`: the column's initial means, if given, split its bins (core/mixture/bin-regions.ts). */
  constructor(
    readonly spec: ColumnSpec,
    readonly options: SummaryOptions = DEFAULT_SUMMARY_OPTIONS,
    readonly regions: BinRegions = BinRegions.none,
  ) {
    this.modalValues = modalValuesOf(spec);
    this.modalCounts = this.modalValues.map(() => 0);
    if (spec.type !== 'categorical') {
      if (options.mode === 'binned') this.binned = new BinnedPointsBuilder(options.binBits, Infinity, regions);
      else this.exact = new WeightedPointsBuilder();
    }
  }

  add(value: CellValue): void {
    if (this.spec.type === 'categorical') {
      const key = String(value);
      this.categories.set(key, (this.categories.get(key) ?? 0) + 1);
    } else {
      if (typeof value !== 'number') throw new TypeError(`column ${this.spec.name} takes numbers`);
      if (this.exact !== null) {
        this.exact.add(value);
        if (this.options.mode === 'auto' && this.exact.compactedCount > this.options.maxBins) this.switchToBins();
      } else {
        this.addNumbers(Float64Array.of(value));
      }
    }
  }

  /** A batch's numeric column at once (no per-cell work beyond the buffer copy). */
  addNumbers(values: Float64Array): void {
    if (this.spec.type === 'categorical') throw new TypeError(`column ${this.spec.name} takes categories`);
    if (this.exact !== null) {
      this.exact.addAll(values);
      if (this.options.mode === 'auto' && this.exact.compactedCount > this.options.maxBins) this.switchToBins();
      return;
    }
    const binned = this.binned as BinnedPointsBuilder;
    if (this.modalValues.length === 0) {
      binned.addAll(values);
      return;
    }
    for (let i = 0; i < values.length; i++) {
      const x = values[i];
      const at = this.modalValues.indexOf(x);
      if (at >= 0) this.modalCounts[at]++;
      else binned.add(x);
    }
  }

  /** A batch's categorical column at once. */
  addCategories(values: readonly string[]): void {
    if (this.spec.type !== 'categorical') throw new TypeError(`column ${this.spec.name} takes numbers`);
    const categories = this.categories;
    for (const key of values) categories.set(key, (categories.get(key) ?? 0) + 1);
  }

  build(): ColumnSummary {
    const spec = this.spec;
    if (spec.type === 'categorical') return { spec, categories: new Map(this.categories) };
    if (this.exact !== null && this.options.mode === 'auto' && this.exact.distinctCount > this.options.maxBins) this.switchToBins();
    if (this.exact !== null) return { spec, points: this.exact.build() };
    return { spec, bins: (this.binned as BinnedPointsBuilder).build(), modal: modalPoints(this.modalValues, this.modalCounts) };
  }

  /** Past the bound, the exact summary so far becomes bins (and stays bins). */
  private switchToBins(): void {
    const exact = this.exact as WeightedPointsBuilder;
    const binned = binIfOverBound(this.spec as NumericColumnSpec, exact.build(), this.options.maxBins, this.regions);
    if (binned === null || !('bins' in binned)) return;
    const builder = new BinnedPointsBuilder(binned.bins.bits, this.options.maxBins, this.regions);
    builder.addBins(binned.bins);
    this.binned = builder;
    this.modalCounts = this.modalValues.map((v) => {
      const at = binned.modal.values.indexOf(v + 0);
      return at < 0 ? 0 : binned.modal.counts[at];
    });
    this.exact = null;
  }
}

/** Splits a mixed column's points into its modal values' counts and the rest. */
export function splitModal(
  points: WeightedPoints,
  modalValues: readonly number[],
): { modalCounts: number[]; nonModal: WeightedPoints } {
  const modalCounts = modalValues.map(() => 0);
  if (modalValues.length === 0) return { modalCounts, nonModal: points };
  const values: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < points.values.length; i++) {
    const at = modalValues.indexOf(points.values[i]);
    if (at >= 0) {
      modalCounts[at] += points.counts[i];
    } else {
      values.push(points.values[i]);
      counts.push(points.counts[i]);
    }
  }
  return { modalCounts, nonModal: { values: Float64Array.from(values), counts: Float64Array.from(counts) } };
}

/** A numeric summary's modal values' counts and the points of the rest (exact points or bins). */
export function numericParts(summary: Exclude<ColumnSummary, { categories: ReadonlyMap<string, number> }>): {
  modalCounts: number[];
  modal: WeightedPoints;
  rest: { kind: 'points'; points: WeightedPoints } | { kind: 'bins'; bins: BinnedPoints };
} {
  const modalValues = modalValuesOf(summary.spec);
  if ('points' in summary) {
    const { modalCounts, nonModal } = splitModal(summary.points, modalValues);
    return { modalCounts, modal: modalPoints(modalValues, modalCounts), rest: { kind: 'points', points: nonModal } };
  }
  const modalCounts = modalValues.map((v) => {
    const at = summary.modal.values.indexOf(v + 0);
    return at < 0 ? 0 : summary.modal.counts[at];
  });
  return { modalCounts, modal: summary.modal, rest: { kind: 'bins', bins: summary.bins } };
}

/** Merges the modal points of several summaries (exact, so in any order). */
export function mergeModal(parts: readonly WeightedPoints[]): WeightedPoints {
  return parts.reduce(mergeSortedPoints, NO_POINTS);
}

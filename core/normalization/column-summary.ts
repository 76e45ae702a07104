/**
 * The one-pass summary of each column that the fit works from: weighted points for
 * numeric columns (all values, modal ones included, for mixed columns) and category
 * counts for categorical ones. Mergeable, so partitions can be summarised apart.
 */
import { WeightedPointsBuilder, type WeightedPoints } from '../mixture';
import type { ColumnSpec } from './column-spec';

export type ColumnSummary =
  | { readonly spec: ColumnSpec & { type: 'continuous' | 'mixed' }; readonly points: WeightedPoints }
  | { readonly spec: ColumnSpec & { type: 'categorical' }; readonly categories: ReadonlyMap<string, number> };

/** A parsed cell: a number for numeric columns, the text for categorical ones. */
export type CellValue = number | string;

export class ColumnSummaryBuilder {
  private readonly points = new WeightedPointsBuilder();
  private readonly categories = new Map<string, number>();

  constructor(readonly spec: ColumnSpec) {}

  add(value: CellValue): void {
    if (this.spec.type === 'categorical') {
      const key = String(value);
      this.categories.set(key, (this.categories.get(key) ?? 0) + 1);
    } else {
      if (typeof value !== 'number') throw new TypeError(`column ${this.spec.name} takes numbers`);
      this.points.add(value);
    }
  }

  /** A batch's numeric column at once (no per-cell work beyond the buffer copy). */
  addNumbers(values: Float64Array): void {
    if (this.spec.type === 'categorical') throw new TypeError(`column ${this.spec.name} takes categories`);
    this.points.addAll(values);
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
    return { spec, points: this.points.build() };
  }
}

/** Splits a mixed column's points into its modal values' counts and the rest. */
export function splitModal(
  points: WeightedPoints,
  modalValues: readonly number[],
): { modalCounts: number[]; nonModal: WeightedPoints } {
  const modalCounts = modalValues.map(() => 0);
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

/**
 * The first statistic of a fit job, per shard and column: moments of the values (and of the
 * non-modal ones, with the modal values' counts, for mixed columns) at the column's
 * resolution, how many points the fit visits and their within-bin spread, or category
 * counts. Merged, it gives the priors, ranges, category order and the summary's error scale.
 */
import { mergeOnly } from '../combine';
import { momentsCombine, momentsOf, type Moments } from '../mixture';
import type { ColumnSpec } from './column-spec';
import type { SummaryData } from './summary-data';
import type { Resolution } from './summary-options';

export type ColumnStats =
  | {
      readonly kind: 'numeric';
      readonly all: Moments;
      readonly nonModal: Moments;
      readonly modalCounts: number[];
      /** Non-modal points the fit visits per EM iteration: distinct values, or bins. */
      readonly points: number;
      /** Σ of the non-modal bins' spreads, Σ (x − bin mean)² (0 when exact). */
      readonly binSpread: number;
    }
  | { readonly kind: 'categorical'; readonly counts: ReadonlyArray<readonly [string, number]> };

/** A shard's statistics of a column, numeric ones at `resolution`. */
export function columnStats(data: SummaryData, column: number, resolution: Resolution): ColumnStats {
  const summary = data.summaries[column];
  if ('categories' in summary) {
    const counts = [...summary.categories.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { kind: 'categorical', counts };
  }
  const split = data.split(column, resolution);
  let binSpread = 0;
  const spread = split.nonModal.binned?.spread;
  if (spread !== undefined) for (let i = 0; i < spread.length; i++) binSpread += spread[i];
  return {
    kind: 'numeric',
    all: momentsOf(split.all),
    nonModal: momentsOf(split.nonModal),
    modalCounts: split.modalCounts,
    points: split.nonModal.values.length,
    binSpread,
  };
}

/** Computed per partition (columnStats), only merged; empty takes the column's spec. */
export const columnStatsCombine = mergeOnly<ColumnStats, [spec: ColumnSpec]>({
  empty: (spec) =>
    spec.type === 'categorical'
      ? { kind: 'categorical', counts: [] }
      : {
          kind: 'numeric',
          all: momentsCombine.empty(),
          nonModal: momentsCombine.empty(),
          modalCounts: new Array<number>(spec.type === 'mixed' ? spec.modalValues.length : 0).fill(0),
          points: 0,
          binSpread: 0,
        },
  merge: (a, b) => {
    if (a.kind === 'numeric' && b.kind === 'numeric') {
      return {
        kind: 'numeric',
        all: momentsCombine.merge(a.all, b.all),
        nonModal: momentsCombine.merge(a.nonModal, b.nonModal),
        modalCounts: a.modalCounts.map((n, i) => n + b.modalCounts[i]),
        points: a.points + b.points,
        binSpread: a.binSpread + b.binSpread,
      };
    }
    if (a.kind === 'categorical' && b.kind === 'categorical') {
      const counts = new Map(a.counts);
      for (const [c, n] of b.counts) counts.set(c, (counts.get(c) ?? 0) + n);
      return { kind: 'categorical', counts: [...counts.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)) };
    }
    throw new RangeError('cannot merge numeric and categorical column statistics');
  },
});

export function columnRows(stats: ColumnStats): number {
  return stats.kind === 'numeric' ? stats.all.count : stats.counts.reduce((n, [, c]) => n + c, 0);
}

/**
 * What a stats worker holds for one partition: the one-pass summary of each column,
 * with the split of mixed columns into modal counts and non-modal points made once.
 */
import type { WeightedPoints } from '../mixture';
import { splitModal, type ColumnSummary } from './column-summary';

/** Which points of a numeric column a mixture is fitted to. */
export type PointSet = 'all' | 'nonModal';

export class SummaryData {
  private readonly splits = new Map<number, { modalCounts: number[]; nonModal: WeightedPoints }>();

  constructor(readonly summaries: readonly ColumnSummary[]) {}

  split(column: number): { modalCounts: number[]; nonModal: WeightedPoints } {
    const summary = this.summaries[column];
    if ('categories' in summary) throw new RangeError(`column ${summary.spec.name} is categorical`);
    let split = this.splits.get(column);
    if (split === undefined) {
      split = summary.spec.type === 'mixed' ? splitModal(summary.points, summary.spec.modalValues) : { modalCounts: [], nonModal: summary.points };
      this.splits.set(column, split);
    }
    return split;
  }

  points(column: number, set: PointSet): WeightedPoints {
    const summary = this.summaries[column];
    if ('categories' in summary) throw new RangeError(`column ${summary.spec.name} is categorical`);
    return set === 'all' ? summary.points : this.split(column).nonModal;
  }
}

/**
 * One partition's summaries for one fit job, built from the row batches of that
 * partition in order. Batches cover contiguous ranges of source offsets; a batch that
 * does not continue the covered range is a duplicate (already covered) or a sign that
 * something was skipped, so a summary counts every row of the job exactly once.
 */
import type { RowBatch } from '../../topics/row-batch';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import { ColumnSummaryBuilder, type ColumnSummary } from '../../core/normalization/column-summary';
import type { SummaryOptions } from '../../core/normalization/summary-options';
import type { InitialMeans } from '../../core/normalization/fit-transformer';
import { ownEntry } from '../../core/normalization/value-shard';
import { binRegions } from '../../core/mixture/bin-regions';

export type AddOutcome = 'added' | 'duplicate' | 'gap';

export class PartitionSummary {
  private builders: ColumnSummaryBuilder[];
  private coveredTo: number;
  private data: ColumnSummary[] | null = null;
  private rowCount = 0;

  /**
   * Rows with source offsets in [sourceStart, sourceEnd) belong to the job, summarised as
   * `options` say, bins split at the regions of the job's initial means (per column name).
   */
  constructor(
    readonly columns: readonly ColumnSpec[],
    readonly sourceStart: number,
    readonly sourceEnd: number,
    readonly options: SummaryOptions,
    initialMeans: InitialMeans = {},
  ) {
    this.builders = columns.map((c) => new ColumnSummaryBuilder(c, options, binRegions(ownEntry(initialMeans, c.name))));
    this.coveredTo = sourceStart;
    if (sourceEnd <= sourceStart) this.freeze();
  }

  get complete(): boolean {
    return this.data !== null;
  }

  get rows(): number {
    return this.rowCount;
  }

  /** Where the next batch must start. */
  get nextSourceOffset(): number {
    return this.coveredTo;
  }

  add(batch: RowBatch): AddOutcome {
    if (this.data !== null || batch.coveredTo <= this.coveredTo) return 'duplicate';
    if (batch.coveredFrom !== this.coveredTo) return 'gap';
    const names = batch.columns.map((c) => c.name).join(',');
    if (names !== this.columns.map((c) => c.name).join(',')) {
      throw new RangeError(`batch columns (${names}) differ from the job's columns`);
    }
    // Rows are in source-offset order: the job's rows are a prefix of the batch.
    let rows = 0;
    while (rows < batch.length && batch.sourceOffsets[rows] < this.sourceEnd) rows++;
    this.builders.forEach((builder, c) => {
      const numbers = batch.numeric[c];
      const text = batch.text[c];
      if (numbers !== null) builder.addNumbers(numbers.subarray(0, rows));
      else if (text !== null) builder.addCategories(rows === text.length ? text : text.slice(0, rows));
    });
    this.rowCount += rows;
    this.coveredTo = batch.coveredTo;
    if (this.coveredTo >= this.sourceEnd) this.freeze();
    return 'added';
  }

  /** The column summaries, once every row of the job is in. */
  summaries(): ColumnSummary[] {
    if (this.data === null) throw new Error('the partition summary is not complete');
    return this.data;
  }

  private freeze(): void {
    this.data = this.builders.map((b) => b.build());
    this.builders = [];
  }
}

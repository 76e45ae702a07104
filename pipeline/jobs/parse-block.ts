/**
 * One block of a file's CSV records → rows folded into column summaries, plus the rejected
 * ones. Each record is parsed as a one-row message by the ingest stage's own pure function, so
 * a file's rows and dead letters (reasons, columns) are exactly those ingest gives on Kafka.
 */
import { binRegions } from '../../core/mixture';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import { ColumnSummaryBuilder } from '../../core/normalization/column-summary';
import type { InitialMeans } from '../../core/normalization/fit-transformer';
import type { SummaryOptions } from '../../core/normalization/summary-options';
import { ownEntry } from '../../core/normalization/value-shard';
import type { DeadLetterRecord } from '../../topics/dead-letter';
import type { InRecord } from '../../topics/transport';
import { ingestMessages } from '../../stages/ingest/ingest-batch';

/** A rejected record; `offset` is its index in the block. */
export type BlockDeadLetter = DeadLetterRecord;

/**
 * A thread's column summaries, built as a stats worker's partition summaries are
 * (stages/stats/partition-summary.ts): bounded and binned as `summary` says, bins split at the
 * regions of each column's initial means. Otherwise the embedded model could differ from Kafka's.
 */
export function summaryBuilders(columns: readonly ColumnSpec[], summary: SummaryOptions, initialMeans: InitialMeans): ColumnSummaryBuilder[] {
  return columns.map((c) => new ColumnSummaryBuilder(c, summary, binRegions(ownEntry(initialMeans, c.name))));
}

/** `bytes` holds the block's records back to back; record i ends at ends[i]. */
export function parseBlockInto(builders: readonly ColumnSummaryBuilder[], columns: readonly ColumnSpec[], bytes: Uint8Array, ends: Int32Array): BlockDeadLetter[] {
  const messages: InRecord[] = new Array<InRecord>(ends.length);
  for (let i = 0, from = 0; i < ends.length; from = ends[i], i++) {
    messages[i] = { topic: 'file', partition: 0, offset: i, key: null, value: bytes.subarray(from, ends[i]), headers: {} };
  }
  const result = ingestMessages(messages, columns);
  for (const batch of result.batches) {
    builders.forEach((builder, c) => {
      const numbers = batch.numeric[c];
      const text = batch.text[c];
      if (numbers !== null) builder.addNumbers(numbers);
      else if (text !== null) builder.addCategories(text);
    });
  }
  return result.deadLetters;
}

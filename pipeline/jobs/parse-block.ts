/**
 * One block of a file's CSV records → rows folded into column summaries, plus the rejected
 * ones. Each record is parsed as a one-row message by the ingest stage's own pure function, so
 * a file's rows and dead letters (reasons, columns) are exactly those ingest gives on Kafka.
 */
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { ColumnSummaryBuilder } from '../../core/normalization/column-summary';
import type { DeadLetterRecord } from '../../topics/dead-letter';
import type { InRecord } from '../../topics/transport';
import { ingestMessages } from '../../stages/ingest/ingest-batch';

/** A rejected record; `offset` is its index in the block. */
export type BlockDeadLetter = DeadLetterRecord;

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

/**
 * One block of a file's CSV records → rows folded into column summaries, plus the rejected
 * ones, by the ingest stage's own pure function, so a file's rows and dead letters (reasons,
 * columns) are exactly those ingest gives on Kafka.
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

/**
 * `bytes` holds the block's records, each followed by an LF; record i ends at ends[i]. The block
 * is parsed as one message (a produced block's fast path: no per-record message); a block with
 * anything to report — a rejected record, or rows that do not match the records one for one —
 * is parsed again record by record, so its dead letters, and the rows kept, are those of
 * one-record messages (each record's own line numbers and reasons).
 */
export function parseBlockInto(builders: readonly ColumnSummaryBuilder[], columns: readonly ColumnSpec[], bytes: Uint8Array, ends: Int32Array): BlockDeadLetter[] {
  const whole = ingestMessages([message(0, bytes)], columns);
  const clean = whole.deadLetters.length === 0 && whole.headersSkipped === 0 && whole.rows === ends.length;
  const result = clean ? whole : ingestMessages(recordMessages(bytes, ends), columns);
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

/** The block layout parseBlockInto takes, from records' bytes (without line terminators). */
export function recordBlock(records: readonly Uint8Array[]): { bytes: Uint8Array; ends: Int32Array } {
  const bytes = new Uint8Array(records.reduce((n, r) => n + r.length + 1, 0));
  const ends = new Int32Array(records.length);
  let at = 0;
  records.forEach((r, i) => {
    bytes.set(r, at);
    at += r.length;
    ends[i] = at;
    bytes[at++] = 0x0a;
  });
  return { bytes, ends };
}

function message(offset: number, value: Uint8Array): InRecord {
  return { topic: 'file', partition: 0, offset, key: null, value, headers: {} };
}

/** Each record as its own message, offset = its index in the block. */
function recordMessages(bytes: Uint8Array, ends: Int32Array): InRecord[] {
  const messages: InRecord[] = new Array<InRecord>(ends.length);
  for (let i = 0, from = 0; i < ends.length; from = (ends[i] as number) + 1, i++) messages[i] = message(i, bytes.subarray(from, ends[i]));
  return messages;
}

/**
 * The pure part of the ingest stage: Kafka messages of CSV text → RowBatches + dead letters.
 *
 * Each message is parsed on its own (lines are numbered from 1 within it). Every record of a
 * message ends up exactly once either as a row of a batch or as a dead letter with a reason:
 * invalid UTF-8, malformed CSV (unterminated or stray quotes), a record over maxRecordBytes,
 * a wrong number of fields, a cell that is not a finite number in a numeric column. Only a
 * message's header line (when `header` is set and it matches the columns) is dropped.
 *
 * Fields are matched to columns by position: field i is column i.
 *
 * Batches carry the range of source offsets they account for (RowBatch.coveredFrom/To): per
 * partition, the output batches cover one contiguous range from the partition's start position
 * to one past its last message, and there is always at least one batch per partition (empty
 * if every row was rejected), so downstream readers can tell duplicates from gaps. A batch is
 * split only between messages, never inside one.
 */
import { cutRaw, DEFAULT_DEAD_LETTER_RAW_BYTES, type DeadLetterRecord } from '../../topics/dead-letter';
import { RowBatchBuilder, type RowBatch } from '../../topics/row-batch';
import type { InRecord } from '../../topics/transport';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { CellValue } from '../../core/normalization/column-summary';
import { countLineBreaks, CsvParser, DEFAULT_MAX_RECORD_BYTES, type CsvRecord } from '../../core/csv/csv';
import { firstInvalidUtf8 } from '../../core/csv/utf8';
import { parseRow } from '../../core/csv/row-parser';

export interface IngestBatchOptions {
  /**
   * Each message may start with a header line. A first record whose fields equal the column
   * names (ignoring surrounding blanks) is skipped; a first record that names any column but
   * does not match is dead-lettered as a mismatched header; any other first record is data.
   * Default false: every record is data.
   */
  readonly header?: boolean;
  /** Largest record, in UTF-8 bytes of its text. Default 1 MiB. */
  readonly maxRecordBytes?: number;
  /**
   * Rows per output batch at most. Default 50 000. Soft for a single message: the rows of one
   * message always go to one batch, so a message with more rows makes a larger batch.
   */
  readonly maxBatchRows?: number;
  /**
   * Estimated encoded size per output batch at most (RowBatchBuilder.estimatedBytes), so that
   * batches stay under Kafka's message size limit (1 MB by default). A row that alone exceeds
   * it is dead-lettered. Soft for a single message, as maxBatchRows. Default 768 KiB.
   */
  readonly maxBatchBytes?: number;
  /** Cap on the UTF-8 size of a dead letter's raw text. Default 64 KiB. */
  readonly maxDeadLetterRawBytes?: number;
  /**
   * Per source partition, the consumer position before the first record given (the group's
   * committed offset): where the partition's coverage starts. It may be below the first
   * record's offset (transaction markers, aborted or deleted records in between). Default, and
   * whenever it is above: the first record's offset.
   */
  readonly startOffsets?: ReadonlyMap<number, number>;
}

export interface IngestResult {
  /**
   * Per source partition in order of first appearance, then in offset order; at least one per
   * partition in the input (an empty one when no row was accepted), covering contiguous ranges.
   */
  readonly batches: RowBatch[];
  /** In input order. */
  readonly deadLetters: DeadLetterRecord[];
  /** Rows in `batches` (the sum of their lengths). */
  readonly rows: number;
  /** Header lines that matched the columns and were skipped. */
  readonly headersSkipped: number;
}

export const DEFAULT_MAX_BATCH_ROWS = 50_000;
export const DEFAULT_MAX_BATCH_BYTES = 768 * 1024;

const CR = 0x0d;
const LF = 0x0a;

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

export interface DecodedMessage {
  /** The text; invalid bytes are replaced by U+FFFD. A leading BOM is kept (the parser drops it). */
  readonly text: string;
  /** 1-based line numbers (as the CSV parser counts them) that are not valid UTF-8 → reason. */
  readonly badLines: ReadonlyMap<number, string>;
}

/**
 * Decodes a message's UTF-8 bytes. Valid input (the common case) is decoded in one call; on
 * failure each physical line is decoded on its own so that the broken ones can be named.
 * Lines end at LF, CRLF or a lone CR, as for CsvParser.
 */
export function decodeMessageText(bytes: Uint8Array): DecodedMessage {
  try {
    return { text: fatalDecoder.decode(bytes), badLines: new Map() };
  } catch {
    // Fall through to the line-by-line path.
  }
  const badLines = new Map<number, string>();
  const parts: string[] = [];
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    const c = i < bytes.length ? (bytes[i] as number) : -1;
    if (c !== CR && c !== LF && c !== -1) continue;
    const content = bytes.subarray(start, i);
    try {
      parts.push(fatalDecoder.decode(content));
    } catch {
      const at = firstInvalidUtf8(content);
      const where = at < 0 ? '' : ` at byte ${at + 1} of the line (0x${(content[at] as number).toString(16).padStart(2, '0')})`;
      badLines.set(line, `invalid UTF-8 on line ${line}${where}`);
      parts.push(lossyDecoder.decode(content));
    }
    if (c === -1) break;
    if (c === CR && bytes[i + 1] === LF) {
      parts.push('\r\n');
      i++;
    } else {
      parts.push(c === CR ? '\r' : '\n');
    }
    line++;
    start = i + 1;
  }
  return { text: parts.join(''), badLines };
}

/** The reason for the first invalid line a record spans, or null. */
function encodingProblem(record: CsvRecord, badLines: ReadonlyMap<number, string>): string | null {
  if (badLines.size === 0) return null;
  const last = record.line + countLineBreaks(record.raw);
  for (let line = record.line; line <= last; line++) {
    const reason = badLines.get(line);
    if (reason !== undefined) return reason;
  }
  return null;
}

function sameNames(fields: readonly string[], names: readonly string[]): boolean {
  return fields.length === names.length && fields.every((f, i) => f.trim() === names[i]);
}

function quoteList(items: readonly string[]): string {
  const text = items.join(',');
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

interface PartitionOutput {
  readonly topic: string;
  readonly partition: number;
  builder: RowBatchBuilder;
  /** Coverage start of the batch being built. */
  from: number;
  /** One past the last message seen. */
  next: number;
  readonly batches: RowBatch[];
}

interface PendingRow {
  readonly row: number;
  readonly cells: CellValue[];
}

/**
 * Parses and validates the CSV text of `records` (any number of messages, of one or more
 * partitions) against `columns`. Pure and deterministic; never throws for bad content.
 */
export function ingestMessages(
  records: readonly InRecord[],
  columns: readonly ColumnSpec[],
  options: IngestBatchOptions = {},
): IngestResult {
  const maxRecordBytes = positiveInteger('maxRecordBytes', options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES);
  const maxBatchRows = positiveInteger('maxBatchRows', options.maxBatchRows ?? DEFAULT_MAX_BATCH_ROWS);
  const maxBatchBytes = positiveInteger('maxBatchBytes', options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES);
  const maxRawBytes = positiveInteger('maxDeadLetterRawBytes', options.maxDeadLetterRawBytes ?? DEFAULT_DEAD_LETTER_RAW_BYTES);
  const header = options.header ?? false;
  const names = columns.map((c) => c.name);
  const nameSet = new Set(names);
  const fieldOfColumn = columns.map((_, i) => i);
  const parser = new CsvParser({ maxRecordBytes });

  const outputs = new Map<string, PartitionOutput>();
  const order: PartitionOutput[] = [];
  const deadLetters: DeadLetterRecord[] = [];
  let rows = 0;
  let headersSkipped = 0;

  const outputFor = (message: InRecord): PartitionOutput => {
    const { topic, partition, offset } = message;
    const key = `${partition}\u0000${topic}`;
    let out = outputs.get(key);
    if (out === undefined) {
      const from = Math.min(options.startOffsets?.get(partition) ?? offset, offset);
      out = { topic, partition, builder: new RowBatchBuilder(columns, topic, partition), from, next: from, batches: [] };
      outputs.set(key, out);
      order.push(out);
    } else if (offset < out.next) {
      throw new RangeError(`ingestMessages: ${topic}/${partition} offset ${offset} comes after offset ${out.next - 1}`);
    }
    return out;
  };
  /** Closes the current batch at `to`: it covers [from, to). */
  const flush = (out: PartitionOutput, to: number): void => {
    out.batches.push(out.builder.build({ from: out.from, to }));
    out.builder = new RowBatchBuilder(columns, out.topic, out.partition);
    out.from = to;
  };

  for (const message of records) {
    const out = outputFor(message);
    const pending: PendingRow[] = [];
    let pendingBytes = 0;
    const reject = (record: CsvRecord, reason: string, column: string | null = null): void => {
      const cut = cutRaw(record.raw, maxRawBytes);
      deadLetters.push({
        ...(column === null ? {} : { column }),
        raw: cut.raw,
        reason: cut.cutFrom === null ? reason : `${reason} (raw text cut to ${maxRawBytes} of ${cut.cutFrom} bytes)`,
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        line: record.line,
      });
    };

    const { text, badLines } = decodeMessageText(message.value);
    const parsed = [...parser.push(text), ...parser.end()];
    let rowInMessage = 0;
    for (let k = 0; k < parsed.length; k++) {
      const record = parsed[k] as CsvRecord;
      const badEncoding = encodingProblem(record, badLines);
      if (header && k === 0 && badEncoding === null && record.kind === 'record') {
        if (sameNames(record.fields, names)) {
          headersSkipped++;
          continue;
        }
        if (record.fields.some((f) => nameSet.has(f.trim()))) {
          reject(record, `header does not match the columns: expected ${quoteList(names)}, got ${quoteList(record.fields)}`);
          continue;
        }
      }
      const row = rowInMessage++;
      if (badEncoding !== null) {
        reject(record, badEncoding);
        continue;
      }
      if (record.kind === 'error') {
        reject(record, record.reason);
        continue;
      }
      const result = parseRow(columns, fieldOfColumn, record.fields, columns.length);
      if (!result.ok) {
        reject(record, result.reason, result.column);
        continue;
      }
      const bytes = out.builder.rowBytes(result.cells);
      if (bytes > maxBatchBytes) {
        reject(record, `row needs about ${bytes} bytes in a batch, more than maxBatchBytes (${maxBatchBytes})`);
        continue;
      }
      pending.push({ row, cells: result.cells });
      pendingBytes += bytes;
    }

    // Split between messages only, so that coverage ranges stay whole offsets.
    const b = out.builder;
    if (b.length > 0 && pending.length > 0 && (b.length + pending.length > maxBatchRows || b.estimatedBytes + pendingBytes > maxBatchBytes)) {
      flush(out, message.offset);
    }
    for (const p of pending) out.builder.add(message.offset, p.row, p.cells);
    rows += pending.length;
    out.next = message.offset + 1;
  }

  const batches: RowBatch[] = [];
  for (const out of order) {
    flush(out, out.next);
    batches.push(...out.batches);
  }
  return { batches, deadLetters, rows, headersSkipped };
}

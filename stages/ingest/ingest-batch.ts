/**
 * The pure part of the ingest stage: Kafka messages of CSV text → RowBatches + dead letters.
 *
 * Each message is parsed on its own (lines are numbered from 1 within it). Every record of a
 * message ends up exactly once either as a row of a batch or as a dead letter with a reason:
 * invalid UTF-8, malformed CSV (unterminated or stray quotes), a record over maxRecordBytes,
 * a wrong number of fields, a cell that is not a finite number in a numeric column. Only a
 * message's header line (when `header` is set and it matches the columns) is dropped.
 *
 * Fields are matched to columns by position: field i is column i. Rows are read from the bytes
 * into typed columns (./message-rows.ts) and go into a batch a message at a time.
 *
 * Batches carry the range of source offsets they account for (RowBatch.coveredFrom/To): per
 * partition, the output batches cover one contiguous range from the partition's start position
 * to one past its last message, and there is always at least one batch per partition (empty
 * if every row was rejected), so downstream readers can tell duplicates from gaps. A batch is
 * split only between messages, never inside one.
 */
import { DEFAULT_DEAD_LETTER_RAW_BYTES, type DeadLetterRecord } from '../../topics/dead-letter';
import { categoryDictionaries, RowBatchBuilder, RowBlock, type RowBatch } from '../../topics/row-batch';
import type { InRecord } from '../../topics/transport';
import type { CategoryDictionary } from '../../core/csv/category-dictionary';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import { CsvParser, DEFAULT_MAX_RECORD_BYTES } from '../../core/csv/csv';
import { invalidUtf8Reason, parseMessage, type MessageContext } from './message-rows';

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
      badLines.set(line, invalidUtf8Reason(content, line) ?? `invalid UTF-8 on line ${line}`);
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

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** The options with defaults filled in and checked, and what every message is checked against. */
interface IngestContext extends MessageContext {
  readonly maxBatchRows: number;
  readonly startOffsets: ReadonlyMap<number, number> | undefined;
}

function ingestContext(columns: readonly ColumnSpec[], options: IngestBatchOptions): IngestContext {
  const maxRecordBytes = positiveInteger('maxRecordBytes', options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES);
  const maxBatchRows = positiveInteger('maxBatchRows', options.maxBatchRows ?? DEFAULT_MAX_BATCH_ROWS);
  const maxBatchBytes = positiveInteger('maxBatchBytes', options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES);
  const maxRawBytes = positiveInteger('maxDeadLetterRawBytes', options.maxDeadLetterRawBytes ?? DEFAULT_DEAD_LETTER_RAW_BYTES);
  const names = columns.map((c) => c.name);
  return {
    columns,
    names,
    nameSet: new Set(names),
    fieldOfColumn: columns.map((_, i) => i),
    header: options.header ?? false,
    maxRecordBytes,
    maxBatchRows,
    maxBatchBytes,
    maxRawBytes,
    startOffsets: options.startOffsets,
    parser: new CsvParser({ maxRecordBytes }),
  };
}

interface PartitionOutput {
  readonly topic: string;
  readonly partition: number;
  /** Shared by the partition's builders, so a message parsed against them fits any of them. */
  readonly dictionaries: readonly (CategoryDictionary | null)[];
  builder: RowBatchBuilder;
  /** Coverage start of the batch being built. */
  from: number;
  /** One past the last message seen. */
  next: number;
  readonly batches: RowBatch[];
}

/**
 * The output of `message`'s partition, created (and added to `outputs`, whose insertion order
 * is the order of first appearance) on its first message. Offsets must ascend per partition.
 */
function partitionOutput(outputs: Map<string, PartitionOutput>, message: InRecord, context: IngestContext): PartitionOutput {
  const { topic, partition, offset } = message;
  const key = `${partition}\u0000${topic}`;
  let out = outputs.get(key);
  if (out === undefined) {
    const from = Math.min(context.startOffsets?.get(partition) ?? offset, offset);
    const dictionaries = categoryDictionaries(context.columns);
    out = { topic, partition, dictionaries, builder: new RowBatchBuilder(context.columns, topic, partition, dictionaries), from, next: from, batches: [] };
    outputs.set(key, out);
  } else if (offset < out.next) {
    throw new RangeError(`ingestMessages: ${topic}/${partition} offset ${offset} comes after offset ${out.next - 1}`);
  }
  return out;
}

/** Closes the current batch at `to`: it covers [from, to). */
function closeBatch(out: PartitionOutput, to: number, columns: readonly ColumnSpec[]): void {
  out.batches.push(out.builder.build({ from: out.from, to }));
  out.builder = new RowBatchBuilder(columns, out.topic, out.partition, out.dictionaries);
  out.from = to;
}

/**
 * Adds a message's rows to its partition's current batch, first closing that batch if they
 * would take it over maxBatchRows or maxBatchBytes. Batches are cut between messages only, so
 * that coverage ranges stay whole offsets.
 */
function addMessageRows(out: PartitionOutput, offset: number, block: RowBlock, context: IngestContext): void {
  const b = out.builder;
  if (b.length > 0 && block.length > 0 && (b.length + block.length > context.maxBatchRows || b.estimatedBytes + block.bytes > context.maxBatchBytes)) {
    closeBatch(out, offset, context.columns);
  }
  out.builder.addBlock(offset, block);
  out.next = offset + 1;
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
  const context = ingestContext(columns, options);
  const outputs = new Map<string, PartitionOutput>();
  const deadLetters: DeadLetterRecord[] = [];
  let rows = 0;
  let headersSkipped = 0;

  const block = new RowBlock(columns);
  for (const message of records) {
    const out = partitionOutput(outputs, message, context);
    headersSkipped += parseMessage(message, context, out.dictionaries, block, deadLetters);
    addMessageRows(out, message.offset, block, context);
    rows += block.length;
  }

  const batches: RowBatch[] = [];
  for (const out of outputs.values()) {
    closeBatch(out, out.next, columns);
    for (const b of out.batches) batches.push(b);
  }
  return { batches, deadLetters, rows, headersSkipped };
}

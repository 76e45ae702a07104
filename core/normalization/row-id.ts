/**
 * A stable identity for a row, which keys the random draw of its mode: the same row
 * gets the same draw whatever the batching, parallelism or restarts.
 * - from a file: where `vgmflow produce` with its defaults puts the record (message j, of whole
 *   records up to 1 MiB, on partition j mod 6 at offset ⌊j/6⌋; the record's index in the
 *   message: core/csv/message-layout.ts), so a file encoded embedded and the same file produced to
 *   Kafka and encoded there get the same modes;
 * - from Kafka: the source partition and offset of the message, and the row within it.
 * The same three numbers are the row_id of the transformed topic's records and, joined by
 * colons, their Kafka key (`rowIdKey`).
 */
import { counterUniform } from '../random/philox';

export interface RowId {
  readonly partition: number;
  readonly offset: number;
  readonly rowInMessage: number;
}

/** `partition:offset:rowInMessage`, the Kafka key of a row's output record. */
export function rowIdKey(row: RowId): string {
  return `${row.partition}:${row.offset}:${row.rowInMessage}`;
}

const MAX_COLUMNS = 1 << 12;
const MAX_SUB = 1 << 20;

/**
 * The row ids of many rows as typed columns (row i is partition[i], offset[i],
 * rowInMessage[i]), so a batch carries them without an object per row.
 */
export interface RowIds {
  readonly partition: Int32Array;
  readonly offset: Float64Array;
  readonly rowInMessage: Int32Array;
}

export function emptyRowIds(length: number): RowIds {
  return { partition: new Int32Array(length), offset: new Float64Array(length), rowInMessage: new Int32Array(length) };
}

export function rowIdAt(ids: RowIds, i: number): RowId {
  return { partition: ids.partition[i], offset: ids.offset[i], rowInMessage: ids.rowInMessage[i] };
}

/**
 * The Philox lane of a row's mode draw in `column`: it packs the row-within-message and
 * the column into one 32-bit word. The stream is the partition, the index the offset.
 */
export function modeLane(rowInMessage: number, column: number): number {
  if (column >= MAX_COLUMNS) throw new RangeError(`at most ${MAX_COLUMNS} columns are supported`);
  if (rowInMessage >= MAX_SUB) throw new RangeError(`at most ${MAX_SUB} rows per message are supported`);
  return rowInMessage * MAX_COLUMNS + column;
}

/** The uniform draw that picks the mode of `column` in this row. */
export function modeUniform(seed: number, row: RowId, column: number): number {
  return counterUniform(seed, row.partition, row.offset, modeLane(row.rowInMessage, column));
}

/** The partitions `vgmflow produce` spreads a file over by default (topics/topology.ts). */
export const FILE_ROW_PARTITIONS = 6;

/** The id of row `rowInMessage` of message j of a file's messages on the default 6 partitions. */
export function messageRowId(message: number, rowInMessage = 0): RowId {
  return { partition: message % FILE_ROW_PARTITIONS, offset: Math.floor(message / FILE_ROW_PARTITIONS), rowInMessage };
}

/** Writes messageRowId(message, rowInMessage) into row `at` of `ids`. */
export function setMessageRowId(ids: RowIds, at: number, message: number, rowInMessage: number): void {
  ids.partition[at] = message % FILE_ROW_PARTITIONS;
  ids.offset[at] = Math.floor(message / FILE_ROW_PARTITIONS);
  ids.rowInMessage[at] = rowInMessage;
}

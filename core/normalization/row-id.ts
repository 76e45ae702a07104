/**
 * A stable identity for a row, which keys the random draw of its mode: the same row
 * gets the same draw whatever the batching, parallelism or restarts.
 * - from a file: where `vgmflow produce` puts data row n on the default topic layout (one
 *   row per message, message n on partition n mod 6 at offset ⌊n/6⌋), so a file encoded
 *   embedded and the same file produced to Kafka and encoded there get the same modes;
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

/** The uniform draw that picks the mode of `column` in this row. */
export function modeUniform(seed: number, row: RowId, column: number): number {
  if (column >= MAX_COLUMNS) throw new RangeError(`at most ${MAX_COLUMNS} columns are supported`);
  if (row.rowInMessage >= MAX_SUB) throw new RangeError(`at most ${MAX_SUB} rows per message are supported`);
  // The lane packs the row-within-message and the column into one 32-bit word.
  return counterUniform(seed, row.partition, row.offset, row.rowInMessage * MAX_COLUMNS + column);
}

/** The partitions `vgmflow produce` spreads a file over by default (topics/topology.ts). */
export const FILE_ROW_PARTITIONS = 6;

export function fileRowId(rowNumber: number): RowId {
  return { partition: rowNumber % FILE_ROW_PARTITIONS, offset: Math.floor(rowNumber / FILE_ROW_PARTITIONS), rowInMessage: 0 };
}

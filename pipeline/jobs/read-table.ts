/**
 * Reads a CSV file with a header into typed rows, sending every rejected record to
 * the dead-letter sink. Yields each good row with where `vgmflow produce` would send it
 * (its message and its index there, rejected records counted too, so a row's place does
 * not depend on its neighbours: core/csv/message-layout.ts); or, for jobs that work on
 * chunks of rows, each read's rows and rejected records in order.
 */
import { access } from 'fs/promises';
import { readPlacedCsvRecordChunks, type PlacedRecords } from '../../topics/files/csv-file';
import type { MessageLimits } from '../../core/csv/message-layout';
import type { CsvRecord } from '../../core/csv/csv';
import { checkHeader, HeaderError, parseRow } from '../../core/csv/row-parser';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { CellValue } from '../../core/normalization/column-summary';
import type { DeadLetter, DeadLetterSink } from './dead-letters';
import { InputError } from './input-error';

export interface TableRow {
  /** The produced message the row is in (message j: partition j mod 6, offset ⌊j/6⌋). */
  readonly message: number;
  readonly rowInMessage: number;
  readonly line: number;
  readonly cells: CellValue[];
  readonly raw: string;
}

/** A good row, or a record rejected in between (not yet sent to the dead-letter sink). */
export type TableEntry = TableRow | DeadLetter;

export function isTableRow(entry: TableEntry): entry is TableRow {
  return 'cells' in entry;
}

export interface TableReader {
  readonly header: string[];
  rows(): AsyncGenerator<TableRow, void, undefined>;
  /** The entries of each read from the file, in order; the caller handles the dead letters. */
  entryChunks(): AsyncGenerator<TableEntry[], void, undefined>;
  /** Data rows read so far, good and rejected. */
  readonly rowsRead: number;
}

export async function assertReadable(path: string): Promise<void> {
  try {
    await access(path);
  } catch {
    throw new InputError(`${path}: no such file`);
  }
}

/**
 * Opens `path` and reads its header; `resolveSpecs` turns the header into the spec of
 * each column (in the order cells are returned) and the field index each comes from.
 */
export async function openTable(
  path: string,
  resolveSpecs: (header: string[]) => { specs: ColumnSpec[]; fieldIndex: number[] },
  deadLetters: DeadLetterSink,
  limits: MessageLimits = {},
): Promise<TableReader> {
  await assertReadable(path);
  const chunks = readPlacedCsvRecordChunks(path, limits, { header: true });
  const first = await chunks.next();
  if (first.done) throw new InputError(`${path}: the file is empty (expected a header line)`);
  const firstChunk: PlacedRecords = first.value;
  const headerRecord = firstChunk.records[0] as CsvRecord;
  if (headerRecord.kind === 'error') throw new InputError(`${path}, line ${headerRecord.line}: bad header: ${headerRecord.reason}`);
  const header = headerRecord.fields;
  let resolved: { specs: ColumnSpec[]; fieldIndex: number[] };
  try {
    checkHeader(header);
    resolved = resolveSpecs(header);
  } catch (err) {
    if (err instanceof HeaderError) throw new InputError(`${path}: ${err.message}`);
    throw err;
  }
  let rowsRead = 0;
  const entry = (record: CsvRecord, message: number, rowInMessage: number): TableEntry => {
    rowsRead++;
    if (record.kind === 'error') return { source: path, line: record.line, column: null, reason: record.reason, raw: record.raw };
    const parsed = parseRow(resolved.specs, resolved.fieldIndex, record.fields, header.length);
    if (!parsed.ok) return { source: path, line: record.line, column: parsed.column, reason: parsed.reason, raw: record.raw };
    return { message, rowInMessage, line: record.line, cells: parsed.cells, raw: record.raw };
  };
  const entries = (placed: PlacedRecords, from: number): TableEntry[] => {
    const out: TableEntry[] = [];
    for (let k = from; k < placed.records.length; k++) {
      out.push(entry(placed.records[k] as CsvRecord, placed.messages[k] as number, placed.rowsInMessage[k] as number));
    }
    return out;
  };
  async function* entryChunks(): AsyncGenerator<TableEntry[], void, undefined> {
    if (firstChunk.records.length > 1) yield entries(firstChunk, 1);
    for await (const placed of chunks) yield entries(placed, 0);
  }
  async function* rows(): AsyncGenerator<TableRow, void, undefined> {
    for await (const entries of entryChunks()) {
      for (const e of entries) {
        if (isTableRow(e)) yield e;
        else await deadLetters.put(e);
      }
    }
  }
  return {
    header,
    rows,
    entryChunks,
    get rowsRead() {
      return rowsRead;
    },
  };
}

/**
 * Reads a CSV file with a header into typed rows, sending every rejected record to
 * the dead-letter sink. Yields each good row with its data-row number (0-based,
 * counting rejected rows too, so a row's number does not depend on its neighbours);
 * or, for jobs that work on chunks of rows, each read's rows and rejected records in order.
 */
import { access } from 'fs/promises';
import { readCsvRecordChunks } from '../../topics/files/csv-file';
import type { CsvRecord } from '../../core/csv/csv';
import { checkHeader, HeaderError, parseRow } from '../../core/csv/row-parser';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { CellValue } from '../../core/normalization/column-summary';
import type { DeadLetter, DeadLetterSink } from './dead-letters';
import { InputError } from './input-error';

export interface TableRow {
  readonly rowNumber: number;
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
): Promise<TableReader> {
  await assertReadable(path);
  const chunks = readCsvRecordChunks(path);
  const first = await chunks.next();
  if (first.done) throw new InputError(`${path}: the file is empty (expected a header line)`);
  const [headerRecord, ...firstRecords] = first.value as [CsvRecord, ...CsvRecord[]];
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
  const entry = (record: CsvRecord): TableEntry => {
    const rowNumber = rowsRead++;
    if (record.kind === 'error') return { source: path, line: record.line, column: null, reason: record.reason, raw: record.raw };
    const parsed = parseRow(resolved.specs, resolved.fieldIndex, record.fields, header.length);
    if (!parsed.ok) return { source: path, line: record.line, column: parsed.column, reason: parsed.reason, raw: record.raw };
    return { rowNumber, line: record.line, cells: parsed.cells, raw: record.raw };
  };
  async function* entryChunks(): AsyncGenerator<TableEntry[], void, undefined> {
    if (firstRecords.length > 0) yield firstRecords.map(entry);
    for await (const records of chunks) yield records.map(entry);
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

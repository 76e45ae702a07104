/**
 * Reads a CSV file with a header into typed rows, sending every rejected record to
 * the dead-letter sink. Yields each good row with its data-row number (0-based,
 * counting rejected rows too, so a row's number does not depend on its neighbours).
 */
import { access } from 'fs/promises';
import { readCsvRecords } from '../../topics/files/csv-file';
import { checkHeader, HeaderError, parseRow } from '../../core/csv/row-parser';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { CellValue } from '../../core/normalization/column-summary';
import type { DeadLetterSink } from './dead-letters';
import { InputError } from './input-error';

export interface TableRow {
  readonly rowNumber: number;
  readonly line: number;
  readonly cells: CellValue[];
  readonly raw: string;
}

export interface TableReader {
  readonly header: string[];
  rows(): AsyncGenerator<TableRow, void, undefined>;
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
  const records = readCsvRecords(path);
  const first = await records.next();
  if (first.done) throw new InputError(`${path}: the file is empty (expected a header line)`);
  const headerRecord = first.value;
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
  async function* rows(): AsyncGenerator<TableRow, void, undefined> {
    for await (const record of records) {
      const rowNumber = rowsRead++;
      if (record.kind === 'error') {
        await deadLetters.put({ source: path, line: record.line, column: null, reason: record.reason, raw: record.raw });
        continue;
      }
      const parsed = parseRow(resolved.specs, resolved.fieldIndex, record.fields, header.length);
      if (!parsed.ok) {
        await deadLetters.put({ source: path, line: record.line, column: parsed.column, reason: parsed.reason, raw: record.raw });
        continue;
      }
      yield { rowNumber, line: record.line, cells: parsed.cells, raw: record.raw };
    }
  }
  return {
    header,
    rows,
    get rowsRead() {
      return rowsRead;
    },
  };
}

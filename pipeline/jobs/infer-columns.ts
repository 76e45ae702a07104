/**
 * Infers the type of columns that --columns leaves out: a column whose every value
 * is a finite number is continuous, any other categorical. One pass over the file;
 * malformed records are skipped here (the fit pass dead-letters them).
 */
import { readCsvRecords } from '../../topics/files/csv-file';
import { parseFiniteNumber, type ColumnSpec } from '../../core/normalization/column-spec';

export async function inferColumnTypes(path: string, header: readonly string[], names: ReadonlySet<string>): Promise<Map<string, ColumnSpec>> {
  const numeric = header.map((name) => names.has(name));
  let seenHeader = false;
  for await (const record of readCsvRecords(path)) {
    if (!seenHeader) {
      seenHeader = true;
      continue;
    }
    if (record.kind === 'error' || record.fields.length !== header.length) continue;
    for (let i = 0; i < header.length; i++) {
      if (numeric[i] && parseFiniteNumber(record.fields[i].trim()) === null) numeric[i] = false;
    }
  }
  const specs = new Map<string, ColumnSpec>();
  header.forEach((name, i) => {
    if (names.has(name)) specs.set(name, { name, type: numeric[i] ? 'continuous' : 'categorical' });
  });
  return specs;
}

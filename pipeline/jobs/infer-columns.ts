/**
 * Infers the type of columns that --columns leaves out: a column whose every value
 * is a finite number is continuous, any other categorical. One pass over the file;
 * malformed records are skipped here (the fit pass dead-letters them).
 *
 * The pass reads bytes, not text: the file is split into records by the byte-level twin of the
 * CSV parser (CsvRecordSplitter), and a record of plain ASCII without quotes — nearly every
 * record — is checked field by field in place (parseFiniteNumberBytes).
 * Any other record is decoded and parsed as the CSV reader would (an invalid UTF-8 sequence or
 * a malformed record makes it an error, skipped). It stops early once every column it infers
 * is known to be categorical.
 */
import { createReadStream } from 'node:fs';
import { DEFAULT_MAX_RECORD_BYTES, parseCsvText } from '../../core/csv/csv';
import { CsvRecordSplitter, type RecordSink } from '../../core/csv/record-splitter';
import { parseFiniteNumberBytes } from '../../core/csv/decimal';
import { parseFiniteNumber, type ColumnSpec } from '../../core/normalization/column-spec';

const QUOTE = 0x22;
const COMMA = 0x2c;

/** Whether bytes[from, to) needs the text parser: a quote, or a byte outside ASCII. */
function needsText(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = bytes[i] as number;
    if (b === QUOTE || b >= 0x80) return true;
  }
  return false;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The fields of a record that needs the text parser; null for a record the CSV reader rejects. */
function textFields(bytes: Uint8Array, from: number, to: number): string[] | null {
  let text: string;
  try {
    text = utf8.decode(bytes.subarray(from, to));
  } catch {
    return null;
  }
  const records = parseCsvText(text);
  const only = records[0];
  return records.length === 1 && only !== undefined && only.kind === 'record' ? only.fields : null;
}

export async function inferColumnTypes(path: string, header: readonly string[], names: ReadonlySet<string>): Promise<Map<string, ColumnSpec>> {
  const numeric = header.map((name) => names.has(name));
  let undecided = numeric.filter(Boolean).length;
  const notNumeric = (i: number): void => {
    numeric[i] = false;
    undecided--;
  };
  // One byte past the reader's limit: a record that long is one the reader rejects.
  const splitter = new CsvRecordSplitter({ maxRecordBytes: DEFAULT_MAX_RECORD_BYTES + 1 });
  let seenHeader = false;
  const sink: RecordSink = (bytes, from, to) => {
    if (!seenHeader) {
      seenHeader = true;
      return;
    }
    if (undecided === 0 || to - from > DEFAULT_MAX_RECORD_BYTES) return;
    if (needsText(bytes, from, to)) {
      const fields = textFields(bytes, from, to);
      if (fields === null || fields.length !== header.length) return;
      fields.forEach((f, i) => {
        if (numeric[i] && parseFiniteNumber(f.trim()) === null) notNumeric(i);
      });
      return;
    }
    let count = 1;
    for (let i = from; i < to; i++) if (bytes[i] === COMMA) count++;
    if (count !== header.length) return;
    for (let i = 0, start = from; i < header.length; i++) {
      let end = start;
      while (end < to && bytes[end] !== COMMA) end++;
      if (numeric[i] && parseFiniteNumberBytes(bytes, start, end) === null) notNumeric(i);
      start = end + 1;
    }
  };
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream) {
      splitter.push(chunk as Buffer, sink);
      if (undecided === 0) break;
    }
    if (undecided > 0) splitter.end(sink);
  } finally {
    stream.destroy();
  }
  const specs = new Map<string, ColumnSpec>();
  header.forEach((name, i) => {
    if (names.has(name)) specs.set(name, { name, type: numeric[i] ? 'continuous' : 'categorical' });
  });
  return specs;
}

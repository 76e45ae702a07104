/**
 * The embedded inverse: an encoded CSV file (research layout, with the header the
 * transform writes) back to the original columns, with the input's header and order.
 */
import { CsvFileWriter, readCsvRecords } from '../../topics/files/csv-file';
import { formatNumber } from '../../core/csv/csv';
import { parseFiniteNumber, MISSING_VALUE } from '../../core/normalization/column-spec';
import { DecodeError, RowDecoder } from '../../core/normalization/decoder';
import { encodedColumnNames } from '../../core/normalization/layout';
import type { TransformerModel } from '../../core/normalization/model';
import { deadLetterSink } from './dead-letters';
import { InputError } from './input-error';
import { assertReadable } from './read-table';

export interface InverseFileOptions {
  readonly input: string;
  readonly model: TransformerModel;
  readonly output: string;
  readonly deadLetterPath?: string;
  /** Called now and then with the rows read and (about) the input bytes they took. */
  readonly onProgress?: (rows: number, bytes: number) => void;
}

export interface InverseFileReport {
  readonly rowsRead: number;
  readonly rowsDecoded: number;
  readonly rowsDeadLettered: number;
  readonly clipped: Record<string, number>;
}

export async function inverseFile(job: InverseFileOptions): Promise<InverseFileReport> {
  const { model } = job;
  await assertReadable(job.input);
  const decoder = new RowDecoder(model);
  const expectedHeader = encodedColumnNames(model);
  const deadLetters = deadLetterSink(job.deadLetterPath);
  const out = new CsvFileWriter(job.output);
  const vector = new Float64Array(decoder.width);
  let header: string[] | null = null;
  let rowsRead = 0;
  let rowsDecoded = 0;
  let bytesRead = 0;
  const reject = (line: number, reason: string, raw: string) =>
    deadLetters.put({ source: job.input, line, column: null, reason, raw });
  try {
    for await (const record of readCsvRecords(job.input)) {
      if (header === null) {
        if (record.kind === 'error') throw new InputError(`${job.input}, line ${record.line}: bad header: ${record.reason}`);
        header = record.fields;
        if (header.length !== expectedHeader.length || header.some((h, i) => h !== expectedHeader[i])) {
          throw new InputError(
            `${job.input}: the header does not match the model's encoded layout (expected ${expectedHeader.length} columns: ${expectedHeader.slice(0, 4).join(', ')}, ...)`,
          );
        }
        await out.writeRow(model.columns.map((c) => c.name));
        continue;
      }
      rowsRead++;
      bytesRead += record.raw.length + 1;
      if (job.onProgress && rowsRead % 1000 === 0) job.onProgress(rowsRead, bytesRead);
      if (record.kind === 'error') {
        await reject(record.line, record.reason, record.raw);
        continue;
      }
      if (record.fields.length !== decoder.width) {
        await reject(record.line, `expected ${decoder.width} fields, got ${record.fields.length}`, record.raw);
        continue;
      }
      const bad = record.fields.findIndex((f, i) => {
        const v = parseFiniteNumber(f.trim());
        if (v === null) return true;
        vector[i] = v;
        return false;
      });
      if (bad >= 0) {
        await reject(record.line, `field ${expectedHeader[bad]}: "${record.fields[bad]}" is not a finite number`, record.raw);
        continue;
      }
      let values;
      try {
        values = decoder.decode(vector);
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        await reject(record.line, err.message, record.raw);
        continue;
      }
      await out.writeRow(
        values.map((v, i) =>
          typeof v === 'string' ? v : model.columns[i].type === 'mixed' && v === MISSING_VALUE ? '' : formatNumber(v),
        ),
      );
      rowsDecoded++;
    }
    if (header === null) throw new InputError(`${job.input}: the file is empty (expected a header line)`);
  } finally {
    await out.close();
    await deadLetters.close();
  }
  const clipped: Record<string, number> = {};
  model.columns.forEach((c, i) => {
    if (decoder.clipped[i] > 0) clipped[c.name] = decoder.clipped[i];
  });
  return { rowsRead, rowsDecoded, rowsDeadLettered: deadLetters.count, clipped };
}

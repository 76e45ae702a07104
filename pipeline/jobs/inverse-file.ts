/**
 * The embedded inverse: an encoded CSV file (research layout, with the header the
 * transform writes) back to the original columns, with the input's header and order.
 * Rows are parsed into a chunk of vectors and decoded a chunk at a time (BatchDecoder); the
 * output lines and dead letters still go out in input order (./ordered-output).
 */
import { CsvFileWriter, readCsvRecordChunks } from '../../topics/files/csv-file';
import { EMPTY_ROW, formatCsvField } from '../../core/csv/csv';
import { parseFiniteNumber } from '../../core/normalization/column-spec';
import { BatchDecoder, type DecodedBatch, type DecodeError } from '../../core/normalization/batch-decoder';
import { encodedColumnNames } from '../../core/normalization/layout';
import type { TransformerModel } from '../../core/normalization/model';
import { decodedNumberCell } from '../../stages/inverse/inverse-batch';
import { deadLetterSink, type DeadLetter } from './dead-letters';
import { InputError } from './input-error';
import { progressEvery, writeInOrder, type ChunkEntry } from './ordered-output';
import { assertReadable } from './read-table';
import type { ModelFileJobOptions, ModelFileJobReport } from './file-job';

export type InverseFileOptions = ModelFileJobOptions;

export interface InverseFileReport extends ModelFileJobReport {
  readonly rowsDecoded: number;
}

/** Rows decoded together. */
const CHUNK_ROWS = 4096;

/** An encoded field as a number, or null; the one-hot zeros and ones skip the number syntax check. */
function encodedField(f: string): number | null {
  if (f === '0') return 0;
  if (f === '1') return 1;
  return parseFiniteNumber(f.trim());
}

/** Row `row` of a decoded batch as the CSV line the inverse writes, without terminator. */
function decodedLine(model: TransformerModel, categoryFields: readonly (readonly string[])[], decoded: DecodedBatch, row: number): string {
  let line = '';
  for (let c = 0; c < model.columns.length; c++) {
    if (c > 0) line += ',';
    const category = decoded.categories[c];
    line += category
      ? (categoryFields[c] as readonly string[])[category[row] as number]
      : decodedNumberCell(model.columns[c], (decoded.values[c] as Float64Array)[row] as number);
  }
  // A lone empty field would be an empty line, which parsers skip.
  return line === '' ? EMPTY_ROW : line;
}

export async function inverseFile(job: InverseFileOptions): Promise<InverseFileReport> {
  const { model } = job;
  await assertReadable(job.input);
  const decoder = new BatchDecoder(model);
  const width = decoder.width;
  const expectedHeader = encodedColumnNames(model);
  const categoryFields = model.columns.map((c) => (c.type === 'categorical' ? c.categories.map(formatCsvField) : []));
  const deadLetters = deadLetterSink(job.deadLetterPath);
  let entries: ChunkEntry[] = [];
  const out = new CsvFileWriter(job.output);
  const vectors = new Float64Array(CHUNK_ROWS * width);
  const chunkLines: number[] = [];
  const chunkRaw: string[] = [];
  let header: string[] | null = null;
  let rowsRead = 0;
  let rowsDecoded = 0;
  let bytesRead = 0;
  const progress = progressEvery(1000, job.onProgress);
  const reject = (line: number, reason: string, raw: string): void => {
    entries.push({ source: job.input, line, column: null, reason, raw });
  };
  const flush = async (): Promise<void> => {
    const decoded = decoder.decode(vectors, chunkLines.length);
    const errors = new Map<number, DecodeError>(decoded.rejections.map((r) => [r.row, r.error]));
    const letter = (i: number, err: DecodeError): DeadLetter => ({ source: job.input, line: chunkLines[i] as number, column: null, reason: err.message, raw: chunkRaw[i] as string });
    rowsDecoded += await writeInOrder(
      entries,
      (i) => {
        const err = errors.get(i);
        return err === undefined ? decodedLine(model, categoryFields, decoded, i) : letter(i, err);
      },
      out,
      deadLetters,
    );
    entries = [];
    chunkLines.length = 0;
    chunkRaw.length = 0;
  };
  try {
    for await (const records of readCsvRecordChunks(job.input)) {
      for (const record of records) {
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
        if (record.kind === 'error') {
          reject(record.line, record.reason, record.raw);
          continue;
        }
        if (record.fields.length !== width) {
          reject(record.line, `expected ${width} fields, got ${record.fields.length}`, record.raw);
          continue;
        }
        const at = chunkLines.length * width;
        const bad = record.fields.findIndex((f, i) => {
          const v = encodedField(f);
          if (v === null) return true;
          vectors[at + i] = v;
          return false;
        });
        if (bad >= 0) {
          reject(record.line, `field ${expectedHeader[bad]}: "${record.fields[bad]}" is not a finite number`, record.raw);
          continue;
        }
        entries.push(chunkLines.length);
        chunkLines.push(record.line);
        chunkRaw.push(record.raw);
        if (chunkLines.length === CHUNK_ROWS) await flush();
      }
      progress(rowsRead, bytesRead);
    }
    if (header === null) throw new InputError(`${job.input}: the file is empty (expected a header line)`);
    await flush();
  } finally {
    await out.close();
    await deadLetters.close();
  }
  const clipped: Record<string, number> = {};
  model.columns.forEach((c, i) => {
    if ((decoder.clipped[i] as number) > 0) clipped[c.name] = decoder.clipped[i] as number;
  });
  return { rowsRead, rowsDecoded, rowsDeadLettered: deadLetters.count, clipped };
}

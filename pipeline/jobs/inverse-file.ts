/**
 * The embedded inverse: an encoded CSV file (research layout, with the header the
 * transform writes) back to the original columns, with the input's header and order.
 * A clean file (what a transform writes) goes through messages decoded on worker threads
 * (./clean-file-lines.ts); any other file, or one found not clean on the way, is decoded again
 * on the row path here: rows parsed into a chunk of vectors and decoded a chunk at a time
 * (BatchDecoder), the output lines and dead letters in input order (./ordered-output).
 */
import { availableParallelism } from 'node:os';
import { CsvFileWriter, readCsvRecordChunks } from '../../topics/files/csv-file';
import { BatchDecoder, type DecodeError } from '../../core/normalization/batch-decoder';
import { encodedColumnNames } from '../../core/normalization/layout';
import type { TransformerModel } from '../../core/normalization/model';
import { cleanFileJob } from './clean-file-lines';
import { deadLetterSink, type DeadLetter } from './dead-letters';
import { DecodedLineFormat, encodedField } from './message-line-decoder';
import { InputError } from './input-error';
import { progressEvery, writeInOrder, type ChunkEntry } from './ordered-output';
import { assertReadable } from './read-table';
import type { ModelFileJobOptions, ModelFileJobReport } from './file-job';

export interface InverseFileOptions extends ModelFileJobOptions {
  /** Worker threads that decode a clean file's messages (0: this thread); default one per core. */
  readonly threads?: number;
}

export interface InverseFileReport extends ModelFileJobReport {
  readonly rowsDecoded: number;
}

/** Rows decoded together. */
const CHUNK_ROWS = 4096;

export async function inverseFile(job: InverseFileOptions): Promise<InverseFileReport> {
  await assertReadable(job.input);
  const { model } = job;
  // Clean files (what a transform writes) take the message path: on every core, the same bytes.
  const clean = await cleanFileJob(job, {
    inputHeader: encodedColumnNames(model),
    outputHeader: model.columns.map((c) => c.name),
    coding: { direction: 'inverse', model, source: job.input },
    threads: job.threads ?? availableParallelism(),
  });
  if (clean !== null) return { rowsRead: clean.rowsRead, rowsDecoded: clean.rowsWritten, rowsDeadLettered: 0, clipped: clippedByName(model, clean.counts.clipped ?? []) };
  job.onRestart?.('a row the fast path does not take (a rejected row, a quoted field, or a header not the encoded layout): reading the file again row by row');
  return inverseRowByRow(job);
}

/** The row path: any file, bad rows reported one by one (dead letters, or the first one stops it). */
async function inverseRowByRow(job: InverseFileOptions): Promise<InverseFileReport> {
  const { model } = job;
  const decoder = new BatchDecoder(model);
  const width = decoder.width;
  const expectedHeader = encodedColumnNames(model);
  const format = new DecodedLineFormat(model);
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
        return err === undefined ? format.line(decoded, i) : letter(i, err);
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
  return { rowsRead, rowsDecoded, rowsDeadLettered: deadLetters.count, clipped: clippedByName(model, decoder.clipped) };
}

function clippedByName(model: TransformerModel, counts: readonly number[]): Record<string, number> {
  const clipped: Record<string, number> = {};
  model.columns.forEach((c, i) => {
    if ((counts[i] ?? 0) > 0) clipped[c.name] = counts[i] as number;
  });
  return clipped;
}

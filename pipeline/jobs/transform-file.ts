/**
 * The embedded transform of a CSV file with a fitted model, to an encoded CSV file. A clean file
 * goes through produce's messages and ingest's parser on worker threads (./clean-file-lines.ts); any other file,
 * or one found not clean on the way, is transformed again on the row path here: rows read
 * into chunks of typed columns and encoded a chunk at a time (BatchEncoder), the output lines
 * and dead letters in input order (./ordered-output).
 */
import { availableParallelism } from 'node:os';
import { CsvFileWriter } from '../../topics/files/csv-file';
import { BatchEncoder, type ColumnValues, type EncodeError } from '../../core/normalization/batch-encoder';
import type { CellValue } from '../../core/normalization/column-summary';
import { specsOfModel } from '../../core/normalization/model-specs';
import { encodedColumnNames } from '../../core/normalization/layout';
import { emptyRowIds, setMessageRowId, type RowIds } from '../../core/normalization/row-id';
import type { TransformerModel } from '../../core/normalization/model';
import type { MessageLimits } from '../../core/csv/message-layout';
import { deadLetterSink, type DeadLetter } from './dead-letters';
import { EncodedLineFormat } from './encoded-line';
import { InputError } from './input-error';
import { progressEvery, writeInOrder, type ChunkEntry } from './ordered-output';
import { assertReadable, isTableRow, openTable, type TableRow } from './read-table';
import { cleanFileJob } from './clean-file-lines';
import type { ModelFileJobOptions, ModelFileJobReport } from './file-job';

/**
 * Most rows encoded together: large enough to amortise the per-batch work, small enough to
 * stream. A read from the file (64 KiB) holds fewer rows than this unless rows are tiny.
 */
const CHUNK_ROWS = 8192;

export interface TransformFileOptions extends ModelFileJobOptions {
  /** The produce layout whose row ids the rows get; default produce's (blocks of up to 1 MiB). */
  readonly messageLimits?: MessageLimits;
  /** Worker threads that encode a clean file's messages (0: this thread); default one per core. */
  readonly threads?: number;
}

export interface TransformFileReport extends ModelFileJobReport {
  readonly rowsEncoded: number;
  /** Values the research code would clip to alpha = ±0.99 and so not recover, per column name. */
  readonly beyondResearchClip: Record<string, number>;
}

/** Maps the model's columns to the input's header; every model column must be there. */
export function modelFieldIndex(model: TransformerModel, header: readonly string[], source: string): number[] {
  return model.columns.map((c) => {
    const at = header.indexOf(c.name);
    if (at < 0) throw new InputError(`${source}: column "${c.name}" of the model is not in the header (${header.join(', ')})`);
    return at;
  });
}

/** The rows of one chunk as the encoder takes them, with what a dead letter needs. */
class RowChunk {
  length = 0;
  readonly rowIds: RowIds = emptyRowIds(CHUNK_ROWS);
  private readonly numbers: (Float64Array | null)[];
  private texts: (string[] | null)[];
  private rows: TableRow[] = [];

  constructor(private readonly model: TransformerModel) {
    this.numbers = model.columns.map((c) => (c.type === 'categorical' ? null : new Float64Array(CHUNK_ROWS)));
    this.texts = this.freshTexts();
  }

  get full(): boolean {
    return this.length === CHUNK_ROWS;
  }

  /** Adds a row (cells in model column order, as the table reads them); returns its index. */
  add(row: TableRow): number {
    const i = this.length++;
    setMessageRowId(this.rowIds, i, row.message, row.rowInMessage);
    this.rows.push(row);
    row.cells.forEach((cell: CellValue, c) => {
      const numbers = this.numbers[c];
      if (numbers) numbers[i] = cell as number;
      else (this.texts[c] as string[]).push(String(cell));
    });
    return i;
  }

  row(i: number): TableRow {
    return this.rows[i] as TableRow;
  }

  columns(): ColumnValues[] {
    return this.model.columns.map((_, c) => this.numbers[c]?.subarray(0, this.length) ?? (this.texts[c] as string[]));
  }

  clear(): void {
    this.length = 0;
    this.rows = [];
    this.texts = this.freshTexts();
  }

  private freshTexts(): (string[] | null)[] {
    return this.model.columns.map((c) => (c.type === 'categorical' ? [] : null));
  }
}

export async function transformFile(job: TransformFileOptions): Promise<TransformFileReport> {
  await assertReadable(job.input);
  const { model } = job;
  // Clean files (most) take the message path: on every core, without a row object, the same bytes.
  const clean = await cleanFileJob(job, {
    inputHeader: model.columns.map((c) => c.name),
    outputHeader: encodedColumnNames(model),
    coding: { direction: 'transform', model, source: job.input },
    limits: job.messageLimits,
    threads: job.threads ?? availableParallelism(),
  });
  if (clean !== null) {
    const { clipped = [], beyondResearchClip = [] } = clean.counts;
    return { rowsRead: clean.rowsRead, rowsEncoded: clean.rowsWritten, rowsDeadLettered: 0, ...clipCounts(model, { clipped, beyondResearchClip }) };
  }
  job.onRestart?.('a row the fast path does not take (a rejected row, or columns not in the model\'s order): reading the file again row by row');
  return transformRowByRow(job);
}

/** The row path: any file, bad rows reported one by one (dead letters, or the first one stops it). */
async function transformRowByRow(job: TransformFileOptions): Promise<TransformFileReport> {
  const { model } = job;
  const deadLetters = deadLetterSink(job.deadLetterPath);
  const table = await openTable(
    job.input,
    (header) => ({ specs: specsOfModel(model), fieldIndex: modelFieldIndex(model, header, job.input) }),
    deadLetters,
    job.messageLimits,
  );
  const encoder = new BatchEncoder(model);
  const format = new EncodedLineFormat(model);
  const out = new CsvFileWriter(job.output);
  const chunk = new RowChunk(model);
  let entries: ChunkEntry[] = [];
  let rowsEncoded = 0;
  let bytesRead = 0;
  const progress = progressEvery(1000, job.onProgress);
  const flush = async (): Promise<void> => {
    const encoded = encoder.encode({ length: chunk.length, columns: chunk.columns(), rowIds: chunk.rowIds });
    const errors = new Map<number, EncodeError>(encoded.rejections.map((r) => [r.row, r.error]));
    const letter = (i: number, err: EncodeError): DeadLetter => {
      const row = chunk.row(i);
      return { source: job.input, line: row.line, column: err.column, reason: `column ${err.column}: ${err.message}`, raw: row.raw };
    };
    rowsEncoded += await writeInOrder(
      entries,
      (i) => {
        const err = errors.get(i);
        return err === undefined ? format.line(encoded, i) : letter(i, err);
      },
      out,
      deadLetters,
    );
    entries = [];
    chunk.clear();
  };
  try {
    await out.writeRow(encodedColumnNames(model));
    for await (const read of table.entryChunks()) {
      for (const entry of read) {
        bytesRead += entry.raw.length + 1;
        entries.push(isTableRow(entry) ? chunk.add(entry) : entry);
        if (chunk.full) await flush();
      }
      progress(table.rowsRead, bytesRead);
    }
    await flush();
  } finally {
    await out.close();
    await deadLetters.close();
  }
  return { rowsRead: table.rowsRead, rowsEncoded, rowsDeadLettered: deadLetters.count, ...clipCounts(model, encoder) };
}

function clipCounts(model: TransformerModel, counts: { readonly clipped: readonly number[]; readonly beyondResearchClip: readonly number[] }): Pick<TransformFileReport, 'clipped' | 'beyondResearchClip'> {
  const clipped: Record<string, number> = {};
  const beyondResearchClip: Record<string, number> = {};
  model.columns.forEach((c, i) => {
    if ((counts.clipped[i] as number) > 0) clipped[c.name] = counts.clipped[i] as number;
    if (c.type !== 'categorical') beyondResearchClip[c.name] = counts.beyondResearchClip[i] as number;
  });
  return { clipped, beyondResearchClip };
}

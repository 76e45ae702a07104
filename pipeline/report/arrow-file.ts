/**
 * The encoded rows as an Arrow IPC *file* (the random-access format with the ARROW1
 * magic, `pyarrow.ipc.open_file` / `pyarrow.feather.read_table` read it).
 *
 * Layout, chosen to mirror out/encoded.csv column for column so either can be used:
 *   row                     Int64, not null   the row's number (see below)
 *   <encodedColumnNames>    Float64, not null one column per encoded position, in the
 *                                             research layout: Amount.alpha, Amount.mode7,
 *                                             ..., Network=visa, ...
 * A flat table of Float64 columns is what GAN training code slices into a matrix
 * (`np.column_stack` / `table.to_pandas().to_numpy()`), with no nested types to unpack.
 * The schema metadata key `vgmflow.encoded` holds JSON naming, per model column, its
 * type and encoded positions (`{"columns": [{"name", "type", "first", "width"}]}`).
 *
 * Values are the encoder's doubles unchanged: converting the encoded CSV is bit-exact,
 * because the CSV holds every double shortest-round-trip (−0 as "-0").
 *
 * Rows are written in batches of BATCH_ROWS, streamed to the file as they fill, so
 * memory stays at one batch whatever the input size.
 */
import { open } from 'fs/promises';
import { Field, Float64, Int64, makeData, RecordBatch, RecordBatchFileWriter, Schema, Struct, type Data } from 'apache-arrow';
import { readCsvRecords } from '../../topics/files/csv-file';
import { parseFiniteNumber } from '../../core/normalization/column-spec';
import { columnOffsets, columnWidth, encodedColumnNames } from '../../core/normalization/layout';
import type { TransformerModel } from '../../core/normalization/model';

export const ROW_FIELD = 'row';
export const ENCODED_METADATA_KEY = 'vgmflow.encoded';
export const BATCH_ROWS = 16384;

export interface EncodedRow {
  readonly row: number;
  readonly vector: Float64Array;
}

export interface ArrowWriteReport {
  readonly rows: number;
  /** Encoded positions (Float64 columns), not counting `row`. */
  readonly columns: number;
  readonly batches: number;
}

export class EncodedArrowError extends Error {}

export function encodedArrowSchema(model: TransformerModel): Schema {
  const names = encodedColumnNames(model);
  const offsets = columnOffsets(model);
  const layout = {
    columns: model.columns.map((c, i) => ({ name: c.name, type: c.type, first: offsets[i], width: columnWidth(c) })),
  };
  const fields = [new Field(ROW_FIELD, new Int64(), false), ...names.map((n) => new Field(n, new Float64(), false))];
  return new Schema(fields, new Map([[ENCODED_METADATA_KEY, JSON.stringify(layout)]]));
}

/** Column-major buffers of one batch, filled row by row. */
class BatchBuilder {
  private rows: BigInt64Array;
  private columns: Float64Array[];
  length = 0;

  constructor(
    private readonly schema: Schema,
    readonly width: number,
    private readonly capacity: number,
  ) {
    this.rows = new BigInt64Array(capacity);
    this.columns = Array.from({ length: width }, () => new Float64Array(capacity));
  }

  get full(): boolean {
    return this.length === this.capacity;
  }

  add(row: number, vector: ArrayLike<number>): void {
    if (!Number.isSafeInteger(row) || row < 0) throw new EncodedArrowError(`row number ${row} is not a non-negative safe integer`);
    if (vector.length !== this.width) throw new EncodedArrowError(`row ${row}: expected ${this.width} encoded values, got ${vector.length}`);
    const at = this.length++;
    this.rows[at] = BigInt(row);
    for (let i = 0; i < this.width; i++) this.columns[i][at] = vector[i];
  }

  /** The filled rows as a record batch; the builder starts over with fresh buffers. */
  take(): RecordBatch {
    const n = this.length;
    const children: Data[] = [
      makeData({ type: new Int64(), length: n, nullCount: 0, data: this.rows.subarray(0, n) }),
      ...this.columns.map((c) => makeData({ type: new Float64(), length: n, nullCount: 0, data: c.subarray(0, n) })),
    ];
    const batch = new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length: n, nullCount: 0, children }));
    this.rows = new BigInt64Array(this.capacity);
    this.columns = this.columns.map(() => new Float64Array(this.capacity));
    this.length = 0;
    return batch;
  }
}

/**
 * Writes encoded rows (vectors in the model's encoded layout) to an Arrow IPC file.
 * The vector may be reused by the caller between rows: it is copied.
 */
export async function writeEncodedArrow(
  path: string,
  model: TransformerModel,
  rows: Iterable<EncodedRow> | AsyncIterable<EncodedRow>,
  batchRows = BATCH_ROWS,
): Promise<ArrowWriteReport> {
  const schema = encodedArrowSchema(model);
  const width = schema.fields.length - 1;
  const writer = new RecordBatchFileWriter();
  const file = await open(path, 'w');
  // The writer queues bytes; this drains them to the file while rows are produced.
  const drain = (async () => {
    for await (const chunk of writer) await file.write(chunk);
  })();
  let count = 0;
  let batches = 0;
  try {
    const builder = new BatchBuilder(schema, width, batchRows);
    writer.reset(undefined, schema);
    for await (const { row, vector } of rows) {
      builder.add(row, vector);
      count++;
      if (builder.full) {
        writer.write(builder.take());
        batches++;
      }
    }
    if (builder.length > 0 || batches === 0) {
      writer.write(builder.take());
      batches++;
    }
    writer.finish();
    await drain;
  } catch (err) {
    writer.abort();
    await drain.catch(() => undefined);
    throw err;
  } finally {
    await file.close();
  }
  return { rows: count, columns: width, batches };
}

/** The rows of an encoded CSV file (as transformFile writes it); `row` is the 0-based data row of that file. */
export async function* readEncodedCsv(path: string, model: TransformerModel): AsyncGenerator<EncodedRow, void, undefined> {
  const expected = encodedColumnNames(model);
  const vector = new Float64Array(expected.length);
  let header: string[] | null = null;
  let row = 0;
  for await (const record of readCsvRecords(path)) {
    if (record.kind === 'error') throw new EncodedArrowError(`${path}, line ${record.line}: ${record.reason}`);
    if (header === null) {
      header = record.fields;
      if (header.length !== expected.length || header.some((h, i) => h !== expected[i])) {
        throw new EncodedArrowError(`${path}: the header does not match the model's encoded layout (${expected.length} columns: ${expected.slice(0, 4).join(', ')}, ...)`);
      }
      continue;
    }
    if (record.fields.length !== expected.length) {
      throw new EncodedArrowError(`${path}, line ${record.line}: expected ${expected.length} fields, got ${record.fields.length}`);
    }
    for (let i = 0; i < expected.length; i++) {
      const v = parseFiniteNumber(record.fields[i]);
      if (v === null) throw new EncodedArrowError(`${path}, line ${record.line}, field ${expected[i]}: "${record.fields[i]}" is not a finite number`);
      vector[i] = v;
    }
    yield { row: row++, vector };
  }
  if (header === null) throw new EncodedArrowError(`${path}: the file is empty (expected a header line)`);
}

/**
 * Converts the encoded CSV that transformFile wrote into an Arrow IPC file, streaming.
 * `row` numbers the CSV's data rows from 0; with no dead-lettered input rows this is
 * also the input's data-row number.
 */
export async function encodedCsvToArrow(csvPath: string, arrowPath: string, model: TransformerModel): Promise<ArrowWriteReport> {
  return writeEncodedArrow(arrowPath, model, readEncodedCsv(csvPath, model));
}

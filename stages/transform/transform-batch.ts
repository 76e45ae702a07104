/**
 * The pure part of the transform stage: a RowBatch from `vgm.batches` → encoded rows (values
 * of the transformed topic's Avro schema, topics/transformed-schema.ts) + dead letters, and
 * encoded rows → an Arrow IPC file.
 *
 * Each row is encoded by RowEncoder with the row id (source partition, source offset, row in
 * message), so its mode draw — and its whole encoding — is the same whichever worker encodes
 * it, in whatever batch, however often. A row the encoder rejects (EncodeError: an unseen
 * category, a text in a numeric column) becomes a dead letter; so does every row of a batch
 * that lacks one of the model's columns. Every row ends up exactly once in one of the two.
 */
import {
  Field,
  FixedSizeList,
  Float64,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  Utf8,
  vectorFromArray,
  type Data,
} from 'apache-arrow';
import { cutRaw, DEFAULT_DEAD_LETTER_RAW_BYTES, type DeadLetterRecord } from '../../topics/dead-letter';
import type { RowBatch } from '../../topics/row-batch';
import { numericColumnFields, type NumericColumnFields, type TransformedValue } from '../../topics/transformed-schema';
import type { CellValue } from '../../core/normalization/column-summary';
import { EncodeError, RowEncoder, type EncodedNumeric } from '../../core/normalization/encoder';
import { encodedColumnNames } from '../../core/normalization/layout';
import type { TransformerModel } from '../../core/normalization/model';
import { rowIdKey, type RowId } from '../../core/normalization/row-id';

/** A model ready to encode with: the model, its version (job id), encoder and Avro field names. */
export interface TransformContext {
  readonly model: TransformerModel;
  readonly modelVersion: string;
  readonly encoder: RowEncoder;
  readonly fields: readonly NumericColumnFields[];
}

export function transformContext(model: TransformerModel, modelVersion: string): TransformContext {
  return { model, modelVersion, encoder: new RowEncoder(model), fields: numericColumnFields(model) };
}

export interface TransformedRow {
  readonly rowId: RowId;
  /** rowIdKey(rowId). */
  readonly key: string;
  readonly vector: Float64Array;
  /** Per numeric column (in `fields` order): alpha and one-hot position. */
  readonly numeric: readonly EncodedNumeric[];
  /** The Avro value (topics/transformed-schema.ts). */
  readonly value: TransformedValue;
}

export interface TransformBatchResult {
  readonly rows: TransformedRow[];
  readonly deadLetters: DeadLetterRecord[];
}

function csvCell(cell: CellValue): string {
  const text = String(cell);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Encodes every row of `batch`; rows the model cannot encode become dead letters. */
export function transformRowBatch(
  ctx: TransformContext,
  batch: RowBatch,
  maxDeadLetterRawBytes = DEFAULT_DEAD_LETTER_RAW_BYTES,
): TransformBatchResult {
  const { model, encoder, fields, modelVersion } = ctx;
  // Batch column of each model column, matched by name.
  const byName = new Map(batch.columns.map((c, i) => [c.name, i]));
  const source = model.columns.map((c) => byName.get(c.name));
  const missing = model.columns.filter((_, c) => source[c] === undefined).map((c) => c.name);
  const rows: TransformedRow[] = [];
  const deadLetters: DeadLetterRecord[] = [];
  for (let i = 0; i < batch.length; i++) {
    const rowId: RowId = { partition: batch.sourcePartition, offset: batch.sourceOffsets[i] as number, rowInMessage: batch.rowInMessage[i] as number };
    const batchCells: CellValue[] = batch.columns.map((_, c) => {
      const numbers = batch.numeric[c];
      return numbers ? (numbers[i] as number) : ((batch.text[c] as readonly string[])[i] as string);
    });
    const reject = (reason: string, column?: string): void => {
      const raw = cutRaw(batchCells.map(csvCell).join(','), maxDeadLetterRawBytes).raw;
      const d: DeadLetterRecord = {
        raw,
        reason,
        topic: batch.sourceTopic,
        partition: rowId.partition,
        offset: rowId.offset,
        // The row's position in its message, 1-based (the line when messages have no header
        // and no multi-line quoted fields).
        line: rowId.rowInMessage + 1,
      };
      deadLetters.push(column === undefined ? d : { ...d, column });
    };
    if (missing.length > 0) {
      reject(`transform: the row has no column ${missing.map((m) => JSON.stringify(m)).join(', ')} of model version ${modelVersion}`, missing[0]);
      continue;
    }
    const cells = source.map((s) => batchCells[s as number] as CellValue);
    const vector = new Float64Array(encoder.width);
    let encoded: (EncodedNumeric | null)[];
    try {
      encoded = encoder.encodeInto(cells, rowId, vector);
    } catch (err) {
      if (!(err instanceof EncodeError)) throw err;
      reject(`transform: column ${err.column}: ${err.message}`, err.column);
      continue;
    }
    const numeric = fields.map((f) => encoded[f.column] as EncodedNumeric);
    const value: Record<string, unknown> = {
      row_id: { source_partition: rowId.partition, source_offset: rowId.offset, row_in_message: rowId.rowInMessage },
      model_version: modelVersion,
    };
    fields.forEach((f, k) => {
      value[f.alpha] = (numeric[k] as EncodedNumeric).alpha;
      value[f.mode] = (numeric[k] as EncodedNumeric).mode;
    });
    value['vector'] = Array.from(vector);
    rows.push({ rowId, key: rowIdKey(rowId), vector, numeric, value: value as unknown as TransformedValue });
  }
  return { rows, deadLetters };
}

/** Schema metadata key of the Arrow files: JSON {modelVersion, vectorColumns (layout names), columns}. */
export const TRANSFORMED_ARROW_METADATA_KEY = 'vgmflow.transformed';

/**
 * Encoded rows as an Arrow IPC *file* (one record batch). Columns, none nullable:
 *   source_partition Int32 · source_offset Int64 · row_in_message Int32 · model_version Utf8 ·
 *   per numeric column `<name>_alpha` Float64 and `<name>_mode` Int32 (the Avro field names) ·
 *   vector FixedSizeList<Float64>[width].
 */
export function encodeTransformedArrow(ctx: TransformContext, rows: readonly TransformedRow[]): Uint8Array {
  const n = rows.length;
  const width = ctx.encoder.width;
  const partitions = new Int32Array(n);
  const offsets = new BigInt64Array(n);
  const subs = new Int32Array(n);
  const flat = new Float64Array(n * width);
  const alphas = ctx.fields.map(() => new Float64Array(n));
  const modes = ctx.fields.map(() => new Int32Array(n));
  rows.forEach((r, i) => {
    partitions[i] = r.rowId.partition;
    offsets[i] = BigInt(r.rowId.offset);
    subs[i] = r.rowId.rowInMessage;
    flat.set(r.vector, i * width);
    r.numeric.forEach((e, k) => {
      (alphas[k] as Float64Array)[i] = e.alpha;
      (modes[k] as Int32Array)[i] = e.mode;
    });
  });
  const versions = vectorFromArray(new Array<string>(n).fill(ctx.modelVersion), new Utf8());
  const itemField = new Field('item', new Float64(), false);
  const listType = new FixedSizeList(width, itemField);
  const fields: Field[] = [
    new Field('source_partition', new Int32(), false),
    new Field('source_offset', new Int64(), false),
    new Field('row_in_message', new Int32(), false),
    new Field('model_version', new Utf8(), false),
  ];
  const children: Data[] = [
    makeData({ type: new Int32(), length: n, nullCount: 0, data: partitions }),
    makeData({ type: new Int64(), length: n, nullCount: 0, data: offsets }),
    makeData({ type: new Int32(), length: n, nullCount: 0, data: subs }),
    versions.data[0] as Data,
  ];
  ctx.fields.forEach((f, k) => {
    fields.push(new Field(f.alpha, new Float64(), false), new Field(f.mode, new Int32(), false));
    children.push(
      makeData({ type: new Float64(), length: n, nullCount: 0, data: alphas[k] as Float64Array }),
      makeData({ type: new Int32(), length: n, nullCount: 0, data: modes[k] as Int32Array }),
    );
  });
  fields.push(new Field('vector', listType, false));
  children.push(
    makeData({
      type: listType,
      length: n,
      nullCount: 0,
      child: makeData({ type: new Float64(), length: n * width, nullCount: 0, data: flat }),
    }),
  );
  const metadata = JSON.stringify({
    modelVersion: ctx.modelVersion,
    vectorColumns: encodedColumnNames(ctx.model),
    columns: ctx.fields.map((f) => ({ name: f.name, alpha: f.alpha, mode: f.mode })),
  });
  const schema = new Schema(fields, new Map([[TRANSFORMED_ARROW_METADATA_KEY, metadata]]));
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children }));
  return RecordBatchFileWriter.writeAll([batch]).toUint8Array(true);
}

/** The S3 key of a row batch's Arrow file: `<prefix>/<model version>/part-<source partition>-<first covered source offset>.arrow`. */
export function transformedObjectKey(prefix: string, modelVersion: string, batch: Pick<RowBatch, 'sourcePartition' | 'coveredFrom'>): string {
  const head = prefix.replace(/\/+$/, '');
  return `${head === '' ? '' : `${head}/`}${modelVersion}/part-${batch.sourcePartition}-${batch.coveredFrom}.arrow`;
}

/**
 * The pure part of the transform stage: a RowBatch from `vgm.batches` → encoded rows (values
 * of the transformed topic's Avro schema, topics/transformed-schema.ts) + dead letters, and
 * encoded rows → an Arrow IPC file.
 *
 * The batch is encoded in one call, column by column, by BatchEncoder; each row's mode draw is
 * keyed by its row id (source partition, source offset, row in message), so its encoding is
 * the same whichever worker encodes it, in whatever batch, however often. A row the encoder
 * rejects (EncodeError: an unseen category, a text in a numeric column) becomes a dead letter;
 * so does every row of a batch that lacks one of the model's columns. Every row ends up
 * exactly once in one of the two.
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
import { rowCells, type RowBatch } from '../../topics/row-batch';
import { numericColumnFields, type NumericColumnFields, type TransformedValue } from '../../topics/transformed-schema';
import type { CellValue } from '../../core/normalization/column-summary';
import { BatchEncoder, type ColumnValues, type EncodeRejection } from '../../core/normalization/batch-encoder';
import type { EncodedNumeric } from '../../core/normalization/encoder';
import { encodedColumnNames } from '../../core/normalization/layout';
import type { TransformerModel, VersionedModel } from '../../core/normalization/model';
import { rowIdKey, type RowId } from '../../core/normalization/row-id';

/** A model ready to encode with: the model, its version (job id), encoder and Avro field names. */
export interface TransformContext extends VersionedModel {
  readonly encoder: BatchEncoder;
  readonly fields: readonly NumericColumnFields[];
}

export function transformContext(model: TransformerModel, modelVersion: string): TransformContext {
  return { model, modelVersion, encoder: new BatchEncoder(model), fields: numericColumnFields(model) };
}

export interface TransformedRow {
  readonly rowId: RowId;
  /** rowIdKey(rowId). */
  readonly key: string;
  /** The research-layout vector (a view into the batch's flat array of vectors). */
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
  const n = batch.length;
  // Batch column of each model column, matched by name.
  const byName = new Map(batch.columns.map((c, i) => [c.name, i]));
  const source = model.columns.map((c) => byName.get(c.name));
  const missing = model.columns.filter((_, c) => source[c] === undefined).map((c) => c.name);
  const deadLetters: DeadLetterRecord[] = [];
  const reject = (i: number, reason: string, column: string): void => {
    const raw = cutRaw(rowCells(batch, i).map(csvCell).join(','), maxDeadLetterRawBytes).raw;
    // line: the row's position in its message, 1-based (the line when messages have no
    // header and no multi-line quoted fields).
    const rowInMessage = batch.rowInMessage[i] as number;
    deadLetters.push({ raw, reason, topic: batch.sourceTopic, partition: batch.sourcePartition, offset: batch.sourceOffsets[i] as number, line: rowInMessage + 1, column });
  };
  if (missing.length > 0) {
    const reason = `transform: the row has no column ${missing.map((m) => JSON.stringify(m)).join(', ')} of model version ${modelVersion}`;
    for (let i = 0; i < n; i++) reject(i, reason, missing[0] as string);
    return { rows: [], deadLetters };
  }
  const columns = source.map((s): ColumnValues => batch.numeric[s as number] ?? (batch.text[s as number] as readonly string[]));
  const rowIds = { partition: new Int32Array(n).fill(batch.sourcePartition), offset: batch.sourceOffsets, rowInMessage: batch.rowInMessage };
  const encoded = encoder.encode({ length: n, columns, rowIds });
  const width = encoder.width;
  const vectors = new Float64Array((n - encoded.rejections.length) * width);
  encoder.researchLayoutInto(encoded, vectors);
  const rows: TransformedRow[] = [];
  let rejection = 0;
  for (let i = 0; i < n; i++) {
    if ((encoded.rejectedBy[i] as number) >= 0) {
      const { error } = encoded.rejections[rejection++] as EncodeRejection;
      reject(i, `transform: column ${error.column}: ${error.message}`, error.column);
      continue;
    }
    const rowId: RowId = { partition: batch.sourcePartition, offset: batch.sourceOffsets[i] as number, rowInMessage: batch.rowInMessage[i] as number };
    const at = rows.length * width;
    const vector = vectors.subarray(at, at + width);
    const numeric = fields.map((f): EncodedNumeric => ({
      alpha: (encoded.alpha[f.column] as Float64Array)[i] as number,
      mode: (encoded.position[f.column] as Int32Array)[i] as number,
    }));
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

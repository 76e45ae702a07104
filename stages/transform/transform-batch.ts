/**
 * The pure part of the transform stage: a RowBatch from `vgm.batches` → its encoded rows as
 * one block of typed columns (topics/transformed-block.ts) + dead letters. Every output of the
 * stage is cut from that block: the block message itself, the Arrow file on S3 (same column
 * data), and, in the per-row Avro format, one Avro value per row (topics/transformed-schema.ts).
 *
 * The batch is encoded in one call, column by column, by BatchEncoder; each row's mode draw is
 * keyed by its row id (source partition, source offset, row in message), so its encoding is
 * the same whichever worker encodes it, in whatever batch, however often. A row the encoder
 * rejects (EncodeError: an unseen category, a text in a numeric column) becomes a dead letter;
 * so does every row of a batch that lacks one of the model's columns. Every row ends up
 * exactly once in one of the two.
 */
import { cutRaw, DEFAULT_DEAD_LETTER_RAW_BYTES, type DeadLetterRecord } from '../../topics/dead-letter';
import { rowCells, type RowBatch } from '../../topics/row-batch';
import { transformedBlockLayout, type TransformedBlock, type TransformedBlockLayout } from '../../topics/transformed-block';
import { numericColumnFields, type NumericColumnFields, type TransformedValue } from '../../topics/transformed-schema';
import type { CellValue } from '../../core/normalization/column-summary';
import { BatchEncoder, type ColumnValues, type EncodeRejection } from '../../core/normalization/batch-encoder';
import { keepEncoded, researchLayout, type EncodedRows } from '../../core/normalization/encoded-rows';
import type { TransformerModel, VersionedModel } from '../../core/normalization/model';
import { rowIdKey } from '../../core/normalization/row-id';

/** A model ready to encode with: the model, its version (job id), encoder, block layout and Avro field names. */
export interface TransformContext extends VersionedModel {
  readonly encoder: BatchEncoder;
  /** The blocks' layout; `layout.vector` says whether blocks carry the research-layout vectors. */
  readonly layout: TransformedBlockLayout;
  readonly fields: readonly NumericColumnFields[];
}

export interface TransformContextOptions {
  /** The model's name on the models topic (in the blocks' metadata). Default `default`. */
  readonly modelName?: string;
  /** Blocks carry the research-layout vector of each row. Default false. */
  readonly vector?: boolean;
}

export function transformContext(model: TransformerModel, modelVersion: string, o: TransformContextOptions = {}): TransformContext {
  const layout = transformedBlockLayout(model, { modelName: o.modelName ?? 'default', modelVersion, vector: o.vector ?? false });
  return { model, modelVersion, encoder: new BatchEncoder(model), layout, fields: numericColumnFields(model) };
}

export interface TransformBatchResult {
  /** The encoded rows, in row order (with their vectors when the layout asks for them). */
  readonly block: TransformedBlock;
  readonly deadLetters: DeadLetterRecord[];
}

function csvCell(cell: CellValue): string {
  const text = String(cell);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The research-layout vectors of a block's rows: its own, or made from alpha and mode. */
export function blockVectors(block: TransformedBlock): Float64Array {
  const { layout, rows } = block;
  return block.vectors ?? researchLayout(rows, layout.columns.map((c) => c.offset), layout.width);
}

/** A block of `rows` in the context's layout. */
function blockOf(ctx: TransformContext, rows: EncodedRows): TransformedBlock {
  const block: TransformedBlock = { layout: ctx.layout, rows, vectors: null };
  return ctx.layout.vector ? { ...block, vectors: blockVectors(block) } : block;
}

/** Encodes every row of `batch`; rows the model cannot encode become dead letters. */
export function transformRowBatch(
  ctx: TransformContext,
  batch: RowBatch,
  maxDeadLetterRawBytes = DEFAULT_DEAD_LETTER_RAW_BYTES,
): TransformBatchResult {
  const { model, encoder, modelVersion } = ctx;
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
  const rowIds = { partition: new Int32Array(n).fill(batch.sourcePartition), offset: batch.sourceOffsets, rowInMessage: batch.rowInMessage };
  if (missing.length > 0) {
    const reason = `transform: the row has no column ${missing.map((m) => JSON.stringify(m)).join(', ')} of model version ${modelVersion}`;
    for (let i = 0; i < n; i++) reject(i, reason, missing[0] as string);
    const none = { partition: new Int32Array(0), offset: new Float64Array(0), rowInMessage: new Int32Array(0) };
    const rows: EncodedRows = { length: 0, rowIds: none, alpha: model.columns.map((c) => (c.type === 'categorical' ? null : new Float64Array(0))), position: model.columns.map(() => new Int32Array(0)) };
    return { block: blockOf(ctx, rows), deadLetters };
  }
  const columns = source.map((s): ColumnValues => batch.numeric[s as number] ?? (batch.text[s as number] as readonly string[]));
  const encoded = encoder.encode({ length: n, columns, rowIds });
  encoded.rejections.forEach(({ row, error }: EncodeRejection) => reject(row, `transform: column ${error.column}: ${error.message}`, error.column));
  return { block: blockOf(ctx, keepEncoded(encoded, rowIds)), deadLetters };
}

/** The Avro value of each row of a block (topics/transformed-schema.ts), with its Kafka key (the row id). */
export function transformedAvroValues(ctx: TransformContext, block: TransformedBlock): Array<{ readonly key: string; readonly value: TransformedValue }> {
  const { rows } = block;
  const width = block.layout.width;
  const vectors = blockVectors(block);
  const out: Array<{ key: string; value: TransformedValue }> = [];
  for (let i = 0; i < rows.length; i++) {
    const rowId = { partition: rows.rowIds.partition[i] as number, offset: rows.rowIds.offset[i] as number, rowInMessage: rows.rowIds.rowInMessage[i] as number };
    const value: Record<string, unknown> = {
      row_id: { source_partition: rowId.partition, source_offset: rowId.offset, row_in_message: rowId.rowInMessage },
      model_version: ctx.modelVersion,
    };
    for (const f of ctx.fields) {
      value[f.alpha] = (rows.alpha[f.column] as Float64Array)[i] as number;
      value[f.mode] = (rows.position[f.column] as Int32Array)[i] as number;
    }
    value['vector'] = Array.from(vectors.subarray(i * width, (i + 1) * width));
    out.push({ key: rowIdKey(rowId), value: value as unknown as TransformedValue });
  }
  return out;
}

/** The S3 key of a row batch's Arrow file: `<prefix>/<model version>/part-<source partition>-<first covered source offset>.arrow`. */
export function transformedObjectKey(prefix: string, modelVersion: string, batch: Pick<RowBatch, 'sourcePartition' | 'coveredFrom'>): string {
  const head = prefix.replace(/\/+$/, '');
  return `${head === '' ? '' : `${head}/`}${modelVersion}/part-${batch.sourcePartition}-${batch.coveredFrom}.arrow`;
}

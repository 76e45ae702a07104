/**
 * The pure part of the inverse stage: one message of the encoded topic → decoded rows + dead
 * letters.
 *
 * An encoded message is either
 *   - a block of the transformed topic (an Arrow IPC stream, topics/transformed-block.ts): the
 *     rows' alpha and mode per numeric column and category per categorical column, decoded
 *     column by column (`inverseBlock`, BatchDecoder.decodeModes) with no work per row beyond
 *     the arithmetic;
 *   - Avro in the vgmflow.Transformed schema (Confluent wire format: magic byte 0, 4-byte
 *     schema id, Avro body; topics/transformed-schema.ts). Only `vector` is used. The stage
 *     deserialises it (that needs the Schema Registry) and hands the vector here; or
 *   - CSV text in the research layout (core/normalization/layout.ts): one or more rows per
 *     message, numbers only, no header, `encodedWidth(model)` fields per row.
 * `encodedFormat` tells them apart: by the `content-type` header when it names an Arrow stream,
 * else by the first bytes: an Arrow IPC stream starts with 0xFFFFFFFF, Avro with 0x00 (CSV
 * text starts with neither), anything else is CSV.
 *
 * The rows of an Avro or CSV message are decoded together by BatchDecoder (arg-max modes, no
 * alpha clip, value clipped to the fitted range); a block's rows are decoded from their modes,
 * bit for bit the same values. Decoded rows are written as blocks (./decoded-block.ts), one
 * per input message, or one row per output message as CSV lines — the model's columns in
 * model order, numbers shortest-round-trip (formatNumber), categories as they are, and the
 * missing-value marker of a mixed column as an empty cell (as pipeline/jobs/inverse-file.ts
 * writes it) — or Avro (the stage).
 *
 * A row with the wrong number of fields, a field that is not a finite number, a CSV syntax
 * error, a mode outside its one-hot, or an Avro value that cannot be read becomes a dead
 * letter; every row of the message ends up exactly once in one of the two. A block whose
 * columns are not the model's, or bytes that are no block, become one dead letter for the
 * message.
 *
 * Keys of per-row output: a message holding exactly one row keeps its key; a block's row gets
 * its row id `${partition}:${offset}:${row}`; otherwise (no key, or several rows in one CSV
 * message) row k gets `${partition}:${offset}:${k}` of the encoded message.
 */
import { CONFLUENT_MAGIC_BYTE } from '../../topics/avro-wire';
import { formatCsvRow, formatNumber, parseCsvText } from '../../core/csv/csv';
import { cutRaw, DEFAULT_DEAD_LETTER_RAW_BYTES, type DeadLetterRecord } from '../../topics/dead-letter';
import { MISSING_VALUE, parseFiniteNumber } from '../../core/normalization/column-spec';
import type { CellValue } from '../../core/normalization/column-summary';
import { BatchDecoder, type DecodedBatch } from '../../core/normalization/batch-decoder';
import { encodedColumnNames } from '../../core/normalization/layout';
import type { ColumnModel, TransformerModel, VersionedModel } from '../../core/normalization/model';
import { rowIdKey, type RowIds } from '../../core/normalization/row-id';
import { decodedBlockLayout, type DecodedBlock, type DecodedBlockLayout } from '../../topics/decoded-block';
import { ARROW_STREAM_CONTENT_TYPE, type TransformedBlock } from '../../topics/transformed-block';

export type EncodedFormat = 'block' | 'avro' | 'csv';
export const ENCODED_FORMATS: readonly EncodedFormat[] = ['block', 'avro', 'csv'];

/**
 * How a message is read: a block when its content-type header names an Arrow stream or its
 * bytes start with the Arrow IPC continuation marker 0xFFFFFFFF, Avro when its first byte is
 * the Confluent magic byte 0, else CSV.
 */
export function encodedFormat(value: Uint8Array, headers: Readonly<Record<string, string>> = {}): EncodedFormat {
  if (headers['content-type'] === ARROW_STREAM_CONTENT_TYPE) return 'block';
  if (value.length >= 4 && value[0] === 0xff && value[1] === 0xff && value[2] === 0xff && value[3] === 0xff) return 'block';
  return value.length > 0 && value[0] === CONFLUENT_MAGIC_BYTE ? 'avro' : 'csv';
}

/** A model ready to decode with. */
export interface InverseContext extends VersionedModel {
  readonly decoder: BatchDecoder;
  /** Header names of the encoded positions (for reasons). */
  readonly encodedNames: readonly string[];
  /** The layout of the decoded blocks this model writes. */
  readonly decodedLayout: DecodedBlockLayout;
}

export function inverseContext(model: TransformerModel, modelVersion: string, modelName = 'default'): InverseContext {
  return {
    model,
    modelVersion,
    decoder: new BatchDecoder(model),
    encodedNames: encodedColumnNames(model),
    decodedLayout: decodedBlockLayout(model, { modelName, modelVersion }),
  };
}

/** Where an encoded message came from. */
export interface EncodedSource {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
}

/** One encoded message, as the stage hands it over. */
export type EncodedMessage =
  | { readonly kind: 'csv'; readonly text: string }
  /** A deserialised Avro value's `vector` (unknown: checked here). */
  | { readonly kind: 'vector'; readonly vector: unknown }
  /** An Avro value that could not be read. */
  | { readonly kind: 'unreadable'; readonly reason: string };

export interface DecodedRow {
  readonly key: string;
  /** Row within the message, 0-based. */
  readonly row: number;
  readonly values: CellValue[];
  /** The CSV line, without terminator. */
  readonly csv: string;
}

export interface InverseMessageResult {
  readonly rows: DecodedRow[];
  readonly deadLetters: DeadLetterRecord[];
}

/** A decoded number as a CSV cell: shortest round-trip, a mixed column's missing value empty. */
export function decodedNumberCell(column: ColumnModel | undefined, v: number): string {
  return column?.type === 'mixed' && v === MISSING_VALUE ? '' : formatNumber(v);
}

/** The decoded row as CSV cells: numbers as decodedNumberCell writes them, categories as they are. */
export function decodedCells(model: TransformerModel, values: readonly CellValue[]): string[] {
  return values.map((v, i) => (typeof v === 'string' ? v : decodedNumberCell(model.columns[i], v)));
}

/** Decodes every row of one encoded message; rows that cannot be decoded become dead letters. */
export function inverseMessage(
  ctx: InverseContext,
  source: EncodedSource,
  message: EncodedMessage,
  maxDeadLetterRawBytes = DEFAULT_DEAD_LETTER_RAW_BYTES,
): InverseMessageResult {
  const { decoder, encodedNames, model } = ctx;
  const width = decoder.width;
  const deadLetters: DeadLetterRecord[] = [];
  const reject = (line: number, raw: string, reason: string, column?: string): void => {
    const d: DeadLetterRecord = {
      raw: cutRaw(raw, maxDeadLetterRawBytes).raw,
      reason: `inverse: ${reason}`,
      topic: source.topic,
      partition: source.partition,
      offset: source.offset,
      line,
    };
    deadLetters.push(column === undefined ? d : { ...d, column });
  };

  // Candidate rows: (line, raw text, fields as text or numbers).
  // `index`: the row's 0-based position among the message's rows (dead or alive).
  const candidates: Array<{ index: number; line: number; raw: string; fields: ReadonlyArray<unknown> }> = [];
  let total = 0;
  if (message.kind === 'unreadable') {
    reject(1, '', message.reason);
    total = 1;
  } else if (message.kind === 'vector') {
    const v: unknown = message.vector;
    if (!Array.isArray(v)) reject(1, '', 'the Avro value has no array field "vector"');
    else candidates.push({ index: 0, line: 1, raw: v.map((x: unknown) => String(x)).join(','), fields: v as unknown[] });
    total = 1;
  } else {
    for (const record of parseCsvText(message.text)) {
      if (record.kind === 'error') reject(record.line, record.raw, record.reason);
      else candidates.push({ index: total, line: record.line, raw: record.raw, fields: record.fields });
      total++;
    }
  }

  // The candidates' vectors, decoded together; slot[k] is candidate k's row among them, or
  // the reason it has none (dead letters keep candidate order).
  const vectors = new Float64Array(candidates.length * width);
  const slot: Array<number | { reason: string; column?: string }> = [];
  let decodable = 0;
  for (const c of candidates) {
    if (c.fields.length !== width) {
      slot.push({ reason: `expected ${width} encoded values, got ${c.fields.length}` });
      continue;
    }
    const at = decodable * width;
    let bad = -1;
    for (let i = 0; i < width; i++) {
      const f = c.fields[i];
      const x = typeof f === 'number' ? (Number.isFinite(f) ? f : null) : typeof f === 'string' ? parseFiniteNumber(f.trim()) : null;
      if (x === null) {
        bad = i;
        break;
      }
      vectors[at + i] = x;
    }
    if (bad >= 0) {
      const name = encodedNames[bad] as string;
      slot.push({ reason: `encoded value ${bad} (${name}): ${JSON.stringify(String(c.fields[bad]))} is not a finite number`, column: name });
      continue;
    }
    slot.push(decodable++);
  }
  const decoded = decoder.decode(vectors, decodable);
  const errors = new Map(decoded.rejections.map((r) => [r.row, r.error.message]));
  const rows: DecodedRow[] = [];
  candidates.forEach((c, k) => {
    const s = slot[k] as number | { reason: string; column?: string };
    if (typeof s !== 'number') return reject(c.line, c.raw, s.reason, s.column);
    const error = errors.get(s);
    if (error !== undefined) return reject(c.line, c.raw, error);
    const values = decoder.cellsAt(decoded, s);
    const key = total === 1 && source.key !== null ? source.key : rowIdKey({ partition: source.partition, offset: source.offset, rowInMessage: c.index });
    rows.push({ key, row: c.index, values, csv: formatCsvRow(decodedCells(model, values)) });
  });
  return { rows, deadLetters };
}

/** A block's decoded rows: the decoder's columns over all of its rows (rejected ones marked) and their ids. */
export interface InverseBlockResult {
  readonly decoded: DecodedBatch;
  readonly rowIds: RowIds;
  readonly deadLetters: DeadLetterRecord[];
}

/** Why a block's columns cannot be decoded with `model`, or null when they can. */
export function blockMismatch(model: TransformerModel, block: TransformedBlock): string | null {
  const columns = block.layout.columns;
  if (columns.length !== model.columns.length) return `the block has ${columns.length} columns, the model ${model.columns.length}`;
  for (let c = 0; c < columns.length; c++) {
    const b = columns[c] as TransformedBlock['layout']['columns'][number];
    const m = model.columns[c] as ColumnModel;
    if (b.name !== m.name || b.type !== m.type) return `column ${c} is ${JSON.stringify(b.name)} (${b.type}) in the block, ${JSON.stringify(m.name)} (${m.type}) in the model`;
    if (m.type === 'categorical') {
      const categories = block.layout.categories[c] ?? [];
      if (categories.length !== m.categories.length || categories.some((x, i) => x !== m.categories[i])) return `column ${m.name}: the block's categories are not the model's`;
    } else if (b.width !== 1 + m.modes.length) {
      return `column ${m.name}: the block has ${b.width - 1} modes, the model ${m.modes.length}`;
    }
  }
  return null;
}

/** A block row's values as text, for a dead letter: per column alpha and mode, or the category index. */
function blockRowRaw(block: TransformedBlock, i: number): string {
  const { rows } = block;
  const cells: string[] = [rowIdKey({ partition: rows.rowIds.partition[i] as number, offset: rows.rowIds.offset[i] as number, rowInMessage: rows.rowIds.rowInMessage[i] as number })];
  rows.position.forEach((p, c) => {
    const a = rows.alpha[c];
    if (a !== null && a !== undefined) cells.push(String(a[i]));
    cells.push(String(p[i]));
  });
  return cells.join(',');
}

/**
 * Decodes every row of a transformed block with the model in use. A block whose columns are
 * not the model's becomes one dead letter (counting its rows in the reason); a row with a mode
 * outside its one-hot or a non-finite alpha becomes a dead letter of its own.
 */
export function inverseBlock(
  ctx: InverseContext,
  source: EncodedSource,
  block: TransformedBlock,
  maxDeadLetterRawBytes = DEFAULT_DEAD_LETTER_RAW_BYTES,
): InverseBlockResult {
  const { rows } = block;
  const mismatch = blockMismatch(ctx.model, block);
  if (mismatch !== null) {
    const reason = `inverse: a block of ${rows.length} rows (model version ${block.layout.modelVersion}) does not fit model version ${ctx.modelVersion}: ${mismatch}`;
    const empty = ctx.decoder.decodeModes(ctx.model.columns.map((c) => (c.type === 'categorical' ? null : new Float64Array(0))), ctx.model.columns.map(() => new Int32Array(0)), 0);
    const none = { partition: new Int32Array(0), offset: new Float64Array(0), rowInMessage: new Int32Array(0) };
    return { decoded: empty, rowIds: none, deadLetters: [{ raw: '', reason, topic: source.topic, partition: source.partition, offset: source.offset, line: 0 }] };
  }
  const decoded = ctx.decoder.decodeModes(rows.alpha, rows.position, rows.length);
  const deadLetters = decoded.rejections.map(({ row, error }): DeadLetterRecord => ({
    raw: cutRaw(blockRowRaw(block, row), maxDeadLetterRawBytes).raw,
    reason: `inverse: ${error.message}`,
    topic: source.topic,
    partition: source.partition,
    offset: source.offset,
    line: row + 1,
  }));
  return { decoded, rowIds: rows.rowIds, deadLetters };
}

/** The decoded rows (not rejected) of a block input as a decoded block: typed columns, no row objects. */
export function decodedBlockOf(ctx: InverseContext, decoded: DecodedBatch, rowIds: RowIds): DecodedBlock {
  const n = decoded.length;
  const kept = n - decoded.rejections.length;
  if (kept === n) return { layout: ctx.decodedLayout, length: n, rowIds, values: decoded.values, categories: decoded.categories };
  const rows = new Int32Array(kept);
  for (let i = 0, k = 0; i < n; i++) if (decoded.rejected[i] === 0) rows[k++] = i;
  const pick = <A extends Float64Array | Int32Array>(from: A, make: (n: number) => A): A => {
    const out = make(kept);
    for (let k = 0; k < kept; k++) out[k] = from[rows[k] as number] as number;
    return out;
  };
  const f64 = (m: number): Float64Array => new Float64Array(m);
  const i32 = (m: number): Int32Array => new Int32Array(m);
  return {
    layout: ctx.decodedLayout,
    length: kept,
    rowIds: { partition: pick(rowIds.partition, i32), offset: pick(rowIds.offset, f64), rowInMessage: pick(rowIds.rowInMessage, i32) },
    values: decoded.values.map((v) => (v === null ? null : pick(v, f64))),
    categories: decoded.categories.map((v) => (v === null ? null : pick(v, i32))),
  };
}

/** The decoded rows (not rejected) of a block input as rows, for per-row output (CSV or Avro); keys are the row ids. */
export function decodedRowsOf(ctx: InverseContext, decoded: DecodedBatch, rowIds: RowIds): DecodedRow[] {
  const rows: DecodedRow[] = [];
  for (let i = 0; i < decoded.length; i++) {
    if (decoded.rejected[i] !== 0) continue;
    const values = ctx.decoder.cellsAt(decoded, i);
    const key = rowIdKey({ partition: rowIds.partition[i] as number, offset: rowIds.offset[i] as number, rowInMessage: rowIds.rowInMessage[i] as number });
    rows.push({ key, row: i, values, csv: formatCsvRow(decodedCells(ctx.model, values)) });
  }
  return rows;
}

/**
 * The decoded rows of a CSV or Avro message as a decoded block; each row's id is the encoded
 * message's partition and offset and the row's place in it.
 */
export function decodedBlockOfRows(ctx: InverseContext, source: EncodedSource, rows: readonly DecodedRow[]): DecodedBlock {
  const n = rows.length;
  const model = ctx.model;
  const categoryIndex = model.columns.map((c) => (c.type === 'categorical' ? new Map(c.categories.map((x, i) => [x, i])) : null));
  const values = model.columns.map((c) => (c.type === 'categorical' ? null : new Float64Array(n)));
  const categories = model.columns.map((c) => (c.type === 'categorical' ? new Int32Array(n) : null));
  const rowIds = { partition: new Int32Array(n).fill(source.partition), offset: new Float64Array(n).fill(source.offset), rowInMessage: new Int32Array(n) };
  rows.forEach((r, i) => {
    rowIds.rowInMessage[i] = r.row;
    r.values.forEach((v, c) => {
      const index = categoryIndex[c];
      if (index === null || index === undefined) (values[c] as Float64Array)[i] = v as number;
      else (categories[c] as Int32Array)[i] = index.get(v as string) ?? -1;
    });
  });
  return { layout: ctx.decodedLayout, length: n, rowIds, values, categories };
}

/**
 * The pure part of the inverse stage: one message of the encoded topic → decoded rows (CSV
 * text, one row per output message) + dead letters.
 *
 * An encoded message is either
 *   - Avro in the vgmflow.Transformed schema (Confluent wire format: magic byte 0, 4-byte
 *     schema id, Avro body; topics/transformed-schema.ts). Only `vector` is used. The stage
 *     deserialises it (that needs the Schema Registry) and hands the vector here; or
 *   - CSV text in the research layout (core/normalization/layout.ts): one or more rows per
 *     message, numbers only, no header, `encodedWidth(model)` fields per row.
 * `encodedFormat` tells them apart by the first byte: 0x00 is Avro (CSV text never starts
 * with a NUL), anything else is CSV.
 *
 * The message's rows are decoded together by BatchDecoder (arg-max modes, no alpha clip, value
 * clipped to the fitted range), each written as one CSV line: the model's columns in model
 * order, numbers shortest-round-trip (formatNumber), categories as they are, and the
 * missing-value marker of a mixed column as an empty cell (as pipeline/jobs/inverse-file.ts
 * writes it).
 *
 * A row with the wrong number of fields, a field that is not a finite number, a CSV syntax
 * error, or an Avro value that cannot be read becomes a dead letter; every row of the
 * message ends up exactly once in one of the two.
 *
 * Keys: a message holding exactly one row keeps its key; otherwise (no key, or several rows
 * in one CSV message) row k gets `${partition}:${offset}:${k}`.
 */
import { CONFLUENT_MAGIC_BYTE } from '../../topics/avro-wire';
import { formatCsvRow, formatNumber, parseCsvText } from '../../core/csv/csv';
import { cutRaw, DEFAULT_DEAD_LETTER_RAW_BYTES, type DeadLetterRecord } from '../../topics/dead-letter';
import { MISSING_VALUE, parseFiniteNumber } from '../../core/normalization/column-spec';
import type { CellValue } from '../../core/normalization/column-summary';
import { BatchDecoder } from '../../core/normalization/batch-decoder';
import { encodedColumnNames } from '../../core/normalization/layout';
import type { ColumnModel, TransformerModel, VersionedModel } from '../../core/normalization/model';
import { rowIdKey } from '../../core/normalization/row-id';

export type EncodedFormat = 'avro' | 'csv';

/** How a message is read: Avro when its first byte is the Confluent magic byte 0, else CSV. */
export function encodedFormat(value: Uint8Array): EncodedFormat {
  return value.length > 0 && value[0] === CONFLUENT_MAGIC_BYTE ? 'avro' : 'csv';
}

/** A model ready to decode with. */
export interface InverseContext extends VersionedModel {
  readonly decoder: BatchDecoder;
  /** Header names of the encoded positions (for reasons). */
  readonly encodedNames: readonly string[];
}

export function inverseContext(model: TransformerModel, modelVersion: string): InverseContext {
  return { model, modelVersion, decoder: new BatchDecoder(model), encodedNames: encodedColumnNames(model) };
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

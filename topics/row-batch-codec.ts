/**
 * RowBatch ⇄ Arrow IPC stream bytes: the value format of the `vgm.batches` topic.
 *
 * The bytes are a standard Arrow IPC *stream* (schema message, dictionary batches, one record
 * batch, end-of-stream marker), so any Arrow implementation reads them, e.g. in Python:
 *
 *     import json, pyarrow as pa
 *     table = pa.ipc.open_stream(message_value).read_all()
 *     meta = json.loads(table.schema.metadata[b"vgmflow.row_batch"])
 *
 * Schema (no field is nullable, no value is null):
 *
 *   field              Arrow type                     holds
 *   _source_offset     Int64                          Kafka offset of the source message (0 … 2^53 - 1)
 *   _row_in_message    Int32                          0-based index of the row within that message
 *   <column 1>         Float64                        continuous and mixed columns (bit-exact, -0 kept)
 *   …                  Dictionary<Int32, Utf8>        categorical columns (dictionary id = field index)
 *
 * The column fields follow in input order and carry the column names. Schema metadata:
 *
 *   "vgmflow.row_batch" → JSON {
 *     "version": 1,
 *     "sourceTopic": "vgm.rows",
 *     "sourcePartition": 3,
 *     "coveredFrom": 1200,          source offsets [coveredFrom, coveredTo) this batch accounts
 *     "coveredTo": 1250,            for (see RowBatch); every _source_offset lies in the range
 *     "columns": [ {"name": "Amount", "type": "continuous"},
 *                  {"name": "Tip", "type": "mixed", "modalValues": [0, -9999999]},
 *                  {"name": "Network", "type": "categorical"} ]
 *   }
 *
 * Decoding also accepts categorical columns written as plain Utf8 or LargeUtf8 (or dictionaries
 * of those with any integer index type), and streams with several record batches (they are
 * concatenated), so batches written by other Arrow producers such as pyarrow are readable too.
 */
import {
  DataType,
  Dictionary,
  Field,
  Float64,
  Int32,
  Int64,
  makeData,
  makeVector,
  Precision,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Utf8,
  type Data,
} from 'apache-arrow';
import type { ColumnSpec } from '../core/normalization/column-spec';
import { int64DataFromNumbers, numbersFromInt64, tableOfIpcStream } from './arrow-columns';
import type { Codec } from './codec';
import {
  checkCoverage,
  checkRowBatchColumns,
  checkSourceOffset,
  MAX_SOURCE_OFFSET,
  ROW_IN_MESSAGE_FIELD,
  RowBatchError,
  SOURCE_OFFSET_FIELD,
  type CategoryCodes,
  type RowBatch,
} from './row-batch';

/** Schema metadata key holding the batch description (JSON). */
export const ROW_BATCH_METADATA_KEY = 'vgmflow.row_batch';
export const ROW_BATCH_FORMAT_VERSION = 1;
/** Content type of a `vgm.batches` value, e.g. for a record header. */
export const ROW_BATCH_CONTENT_TYPE = 'application/vnd.apache.arrow.stream';

/** A `vgm.batches` value that cannot be decoded, with the reason. */
export class RowBatchDecodeError extends RowBatchError {}

interface RowBatchMetadata {
  readonly version: number;
  readonly sourceTopic: string;
  readonly sourcePartition: number;
  readonly coveredFrom: number;
  readonly coveredTo: number;
  readonly columns: readonly ColumnSpec[];
}

const encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// ---------------------------------------------------------------------------------------------
// Encoding

/** Dictionary-encodes strings: distinct values in order of first appearance, and an index per row. */
function dictionaryData(values: readonly string[], column: number): Data<Dictionary<Utf8, Int32>> {
  const ids = new Map<string, number>();
  const distinct: string[] = [];
  const indices = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as string;
    let id = ids.get(v);
    if (id === undefined) {
      id = distinct.length;
      ids.set(v, id);
      distinct.push(v);
    }
    indices[i] = id;
  }
  return utf8Dictionary(distinct, indices, column);
}

/**
 * The same dictionary from codes a batch already carries: renumbered by first appearance (and
 * equal values merged), so a batch encodes to the same bytes with or without its codes.
 */
function dictionaryDataFromCodes(categories: CategoryCodes, column: number): Data<Dictionary<Utf8, Int32>> {
  const { codes, values } = categories;
  const firstOfValue = new Map<string, number>();
  const canonical = new Int32Array(values.length);
  values.forEach((v, k) => {
    const first = firstOfValue.get(v);
    if (first === undefined) firstOfValue.set(v, k);
    canonical[k] = first ?? k;
  });
  const idOf = new Int32Array(values.length).fill(-1);
  const distinct: string[] = [];
  const indices = new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const code = canonical[codes[i] as number] as number;
    let id = idOf[code] as number;
    if (id < 0) {
      id = distinct.length;
      idOf[code] = id;
      distinct.push(values[code] as string);
    }
    indices[i] = id;
  }
  return utf8Dictionary(distinct, indices, column);
}

function utf8Dictionary(distinct: readonly string[], indices: Int32Array, column: number): Data<Dictionary<Utf8, Int32>> {
  const encoded = distinct.map((s) => encoder.encode(s));
  let total = 0;
  for (const e of encoded) total += e.length;
  if (total > 0x7fffffff) throw new RowBatchError(`categorical column ${column} holds more than 2 GiB of text`);
  const bytes = new Uint8Array(total);
  const offsets = new Int32Array(encoded.length + 1);
  let at = 0;
  for (let k = 0; k < encoded.length; k++) {
    bytes.set(encoded[k] as Uint8Array, at);
    at += (encoded[k] as Uint8Array).length;
    offsets[k + 1] = at;
  }
  const dictionary = makeData({ type: new Utf8(), length: distinct.length, nullCount: 0, valueOffsets: offsets, data: bytes });
  return makeData({
    type: dictionaryType(column),
    length: indices.length,
    nullCount: 0,
    data: indices,
    dictionary: makeVector(dictionary),
  });
}

/** Dictionary ids are the field index, so the same batch always encodes to the same bytes. */
function dictionaryType(field: number): Dictionary<Utf8, Int32> {
  return new Dictionary(new Utf8(), new Int32(), field, false);
}

function checkBatch(b: RowBatch): void {
  checkRowBatchColumns(b.columns);
  const n = b.length;
  if (!Number.isInteger(n) || n < 0) throw new RowBatchError(`batch length ${n} is not a non-negative integer`);
  if (!Number.isInteger(b.sourcePartition) || b.sourcePartition < 0) {
    throw new RowBatchError(`source partition ${b.sourcePartition} is not a non-negative integer`);
  }
  if (typeof b.sourceTopic !== 'string') throw new RowBatchError('source topic is not a string');
  if (b.sourceOffsets.length !== n) throw new RowBatchError(`sourceOffsets has ${b.sourceOffsets.length} values for ${n} rows`);
  if (b.rowInMessage.length !== n) throw new RowBatchError(`rowInMessage has ${b.rowInMessage.length} values for ${n} rows`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const o = b.sourceOffsets[i] as number;
    checkSourceOffset(o);
    if (o < lo) lo = o;
    if (o > hi) hi = o;
  }
  checkCoverage(b.coveredFrom, b.coveredTo, lo, hi);
  if (b.numeric.length !== b.columns.length || b.text.length !== b.columns.length) {
    throw new RowBatchError(`numeric/text hold ${b.numeric.length}/${b.text.length} columns for ${b.columns.length} specs`);
  }
  b.columns.forEach((spec, c) => {
    const numbers = b.numeric[c];
    const strings = b.text[c];
    if (spec.type === 'categorical') {
      if (numbers !== null || strings === null) throw new RowBatchError(`categorical column ${spec.name} needs text values only`);
      if (strings.length !== n) throw new RowBatchError(`column ${spec.name} has ${strings.length} values for ${n} rows`);
      const coded = b.categories?.[c];
      if (coded) {
        if (coded.codes.length !== n) throw new RowBatchError(`column ${spec.name} has ${coded.codes.length} codes for ${n} rows`);
        for (const code of coded.codes) {
          if (!(code >= 0 && code < coded.values.length)) throw new RowBatchError(`column ${spec.name} has code ${code} for ${coded.values.length} values`);
        }
      }
    } else {
      if (strings !== null || numbers === null) throw new RowBatchError(`numeric column ${spec.name} needs numeric values only`);
      if (numbers.length !== n) throw new RowBatchError(`column ${spec.name} has ${numbers.length} values for ${n} rows`);
    }
  });
}

function metadataJson(b: RowBatch): string {
  const meta: RowBatchMetadata = {
    version: ROW_BATCH_FORMAT_VERSION,
    sourceTopic: b.sourceTopic,
    sourcePartition: b.sourcePartition,
    coveredFrom: b.coveredFrom,
    coveredTo: b.coveredTo,
    // Only the spec's own fields, in a fixed order.
    columns: b.columns.map((s): ColumnSpec =>
      s.type === 'mixed' ? { name: s.name, type: s.type, modalValues: [...s.modalValues] } : { name: s.name, type: s.type },
    ),
  };
  return JSON.stringify(meta);
}

/** Encodes a batch as an Arrow IPC stream with exactly one record batch (see the schema above). */
function encodeRowBatch(b: RowBatch): Uint8Array {
  checkBatch(b);
  const n = b.length;
  const fields: Field[] = [new Field(SOURCE_OFFSET_FIELD, new Int64(), false), new Field(ROW_IN_MESSAGE_FIELD, new Int32(), false)];
  const children: Data[] = [
    int64DataFromNumbers(b.sourceOffsets),
    makeData({ type: new Int32(), length: n, nullCount: 0, data: Int32Array.from(b.rowInMessage) }),
  ];
  b.columns.forEach((spec, c) => {
    const numbers = b.numeric[c];
    if (numbers) {
      fields.push(new Field(spec.name, new Float64(), false));
      children.push(makeData({ type: new Float64(), length: n, nullCount: 0, data: Float64Array.from(numbers) }));
    } else {
      const coded = b.categories?.[c];
      const data = coded ? dictionaryDataFromCodes(coded, fields.length) : dictionaryData(b.text[c] as readonly string[], fields.length);
      fields.push(new Field(spec.name, data.type, false));
      children.push(data);
    }
  });
  const schema = new Schema(fields, new Map([[ROW_BATCH_METADATA_KEY, metadataJson(b)]]));
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children }));
  return RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true);
}

// ---------------------------------------------------------------------------------------------
// Decoding

function fail(message: string): never {
  throw new RowBatchDecodeError(`invalid row batch: ${message}`);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function parseSpec(x: unknown, k: number): ColumnSpec {
  if (!isRecord(x)) fail(`metadata column ${k} is not an object`);
  const { name, type } = x;
  if (typeof name !== 'string' || name === '') fail(`metadata column ${k} has no name`);
  if (type === 'continuous' || type === 'categorical') return { name, type };
  if (type === 'mixed') {
    const modal = x['modalValues'];
    if (!Array.isArray(modal) || !modal.every((v): v is number => typeof v === 'number' && Number.isFinite(v))) {
      fail(`metadata column "${name}" (mixed) has no list of finite modalValues`);
    }
    return { name, type, modalValues: modal };
  }
  return fail(`metadata column "${name}" has unknown type ${JSON.stringify(type)}`);
}

function parseMetadata(metadata: ReadonlyMap<string, string>): RowBatchMetadata {
  const text = metadata.get(ROW_BATCH_METADATA_KEY);
  if (text === undefined) {
    const keys = [...metadata.keys()];
    fail(`schema metadata has no "${ROW_BATCH_METADATA_KEY}" entry${keys.length ? ` (has: ${keys.join(', ')})` : ''}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail(`schema metadata "${ROW_BATCH_METADATA_KEY}" is not JSON: ${(err as Error).message}`);
  }
  if (!isRecord(json)) fail(`schema metadata "${ROW_BATCH_METADATA_KEY}" is not a JSON object`);
  const { version, sourceTopic, sourcePartition, coveredFrom, coveredTo, columns } = json;
  if (version !== ROW_BATCH_FORMAT_VERSION) {
    fail(`unsupported format version ${JSON.stringify(version)} (this reader knows ${ROW_BATCH_FORMAT_VERSION})`);
  }
  if (typeof sourceTopic !== 'string') fail('metadata sourceTopic is not a string');
  if (typeof sourcePartition !== 'number' || !Number.isInteger(sourcePartition) || sourcePartition < 0) {
    fail(`metadata sourcePartition ${JSON.stringify(sourcePartition)} is not a non-negative integer`);
  }
  const isOffset = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= MAX_SOURCE_OFFSET + 1;
  if (!isOffset(coveredFrom) || !isOffset(coveredTo) || coveredFrom > coveredTo) {
    fail(`metadata coverage [${JSON.stringify(coveredFrom)}, ${JSON.stringify(coveredTo)}) is not a range of source offsets`);
  }
  if (!Array.isArray(columns)) fail('metadata columns is not an array');
  const specs = columns.map(parseSpec);
  try {
    checkRowBatchColumns(specs);
  } catch (err) {
    fail(`metadata columns: ${(err as Error).message}`);
  }
  return { version, sourceTopic, sourcePartition, coveredFrom, coveredTo, columns: specs };
}

function describe(type: DataType): string {
  return String(type);
}

function isInt(type: DataType, bitWidth: number): boolean {
  return DataType.isInt(type) && type.isSigned && type.bitWidth === bitWidth;
}

function isStringType(type: DataType): boolean {
  return DataType.isUtf8(type) || DataType.isLargeUtf8(type);
}

function isCategoricalType(type: DataType): boolean {
  return isStringType(type) || (DataType.isDictionary(type) && isStringType(type.dictionary) && DataType.isInt(type.indices));
}

function checkFields(schema: Schema, columns: readonly ColumnSpec[]): void {
  const fields = schema.fields;
  const expected = 2 + columns.length;
  if (fields.length !== expected) {
    fail(`schema has ${fields.length} fields, expected ${expected} (${SOURCE_OFFSET_FIELD}, ${ROW_IN_MESSAGE_FIELD} and ${columns.length} columns)`);
  }
  const check = (k: number, name: string, ok: (t: DataType) => boolean, want: string): void => {
    const f = fields[k] as Field;
    if (f.name !== name) fail(`field ${k} is named "${f.name}", expected "${name}"`);
    if (!ok(f.type)) fail(`field "${name}" has type ${describe(f.type)}, expected ${want}`);
  };
  check(0, SOURCE_OFFSET_FIELD, (t) => isInt(t, 64), 'Int64');
  check(1, ROW_IN_MESSAGE_FIELD, (t) => isInt(t, 32), 'Int32');
  columns.forEach((spec, c) => {
    if (spec.type === 'categorical') check(2 + c, spec.name, isCategoricalType, 'Utf8 or Dictionary<Int32, Utf8>');
    else check(2 + c, spec.name, (t) => DataType.isFloat(t) && t.precision === Precision.DOUBLE, 'Float64');
  });
}

function checkNoNulls(data: Data, name: string): void {
  if (data.nullCount > 0) fail(`field "${name}" has ${data.nullCount} null value(s)`);
}

function decodeUtf8(bytes: Uint8Array, name: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return fail(`field "${name}" holds invalid UTF-8`);
  }
}

/** The strings of a Utf8 or LargeUtf8 chunk (its offsets are already sliced to the chunk). */
function stringsOf(data: Data, name: string, out: string[]): void {
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  const bytes = data.values as Uint8Array;
  for (let i = 0; i < data.length; i++) {
    const from = Number(offsets[i]);
    const to = Number(offsets[i + 1]);
    out.push(decodeUtf8(bytes.subarray(from, to), name));
  }
}

function appendDictionaryColumn(data: Data, name: string, out: string[]): void {
  const dictionary: string[] = [];
  for (const chunk of data.dictionary?.data ?? []) {
    checkNoNulls(chunk, name);
    stringsOf(chunk, name, dictionary);
  }
  const indices = data.values as ArrayLike<number | bigint>;
  for (let i = 0; i < data.length; i++) {
    const v = dictionary[Number(indices[i])];
    if (v === undefined) fail(`field "${name}" row ${out.length} has dictionary index ${String(indices[i])} out of range`);
    out.push(v);
  }
}

/** Reads an Arrow IPC stream written by encodeRowBatch (or any producer of the same schema). */
function decodeRowBatch(bytes: Uint8Array): RowBatch {
  const table = tableOfIpcStream(bytes, fail);
  const meta = parseMetadata(table.schema.metadata);
  const { columns } = meta;
  checkFields(table.schema, columns);

  const n = table.numRows;
  const sourceOffsets = new Float64Array(n);
  const rowInMessage = new Int32Array(n);
  const numeric: (Float64Array | null)[] = columns.map((s) => (s.type === 'categorical' ? null : new Float64Array(n)));
  const text: (string[] | null)[] = columns.map((s) => (s.type === 'categorical' ? [] : null));
  const names = [SOURCE_OFFSET_FIELD, ROW_IN_MESSAGE_FIELD, ...columns.map((s) => s.name)];

  let at = 0;
  for (const batch of table.batches) {
    const children = batch.data.children;
    const len = batch.numRows;
    children.forEach((d, k) => checkNoNulls(d, names[k] as string));
    // Read as doubles without a BigInt per row; a value of 2^53 or more is outside any coverage.
    numbersFromInt64(children[0] as Data, sourceOffsets, at, (o) =>
      fail(`${SOURCE_OFFSET_FIELD} ${o} is outside the batch's coverage [${meta.coveredFrom}, ${meta.coveredTo})`),
    );
    for (let i = at; i < at + len; i++) {
      const o = sourceOffsets[i] as number;
      if (o < meta.coveredFrom || o >= meta.coveredTo) {
        fail(`${SOURCE_OFFSET_FIELD} ${o} is outside the batch's coverage [${meta.coveredFrom}, ${meta.coveredTo})`);
      }
    }
    const rows = (children[1] as Data).values as Int32Array;
    for (let i = 0; i < len; i++) {
      const r = rows[i] as number;
      if (r < 0) fail(`${ROW_IN_MESSAGE_FIELD} ${r} is negative`);
      rowInMessage[at + i] = r;
    }
    columns.forEach((spec, c) => {
      const data = children[2 + c] as Data;
      const numbers = numeric[c];
      if (numbers) {
        numbers.set((data.values as Float64Array).subarray(0, len), at);
      } else if (DataType.isDictionary(data.type)) {
        appendDictionaryColumn(data, spec.name, text[c] as string[]);
      } else {
        stringsOf(data, spec.name, text[c] as string[]);
      }
    });
    at += len;
  }
  return {
    columns,
    sourceTopic: meta.sourceTopic,
    sourcePartition: meta.sourcePartition,
    coveredFrom: meta.coveredFrom,
    coveredTo: meta.coveredTo,
    length: n,
    sourceOffsets,
    rowInMessage,
    numeric,
    text,
  };
}

/** The batches topic's values: Arrow IPC streams of parsed rows with their source coverage. */
export const rowBatchCodec: Codec<RowBatch> = { contentType: ROW_BATCH_CONTENT_TYPE, encode: encodeRowBatch, decode: decodeRowBatch };

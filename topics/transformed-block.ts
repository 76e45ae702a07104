/**
 * The transformed topic's block format: the encoded rows of one input row batch in one
 * message, column by column, as an Arrow IPC *stream* (schema, dictionary batches, one record
 * batch, end-of-stream marker), header `content-type: application/vnd.apache.arrow.stream`.
 * Any Arrow implementation reads it without vgmflow code, e.g. in Python:
 *
 *     table = pyarrow.ipc.open_stream(message.value()).read_all()
 *     meta = json.loads(table.schema.metadata[b"vgmflow.transformed"])
 *
 * Fields (none nullable), in this order:
 *
 *   source_partition   Int32                     where the row came from on the input topic
 *   source_offset      Int64                     (the row id, core/normalization/row-id.ts;
 *   row_in_message     Int32                      it also keys the row's mode draw)
 *   per model column, in the model's order:
 *     <stem>_alpha     Float64                   numeric column: alpha = (x − μ_k)/(4σ_k), exact
 *     <stem>_mode      Int32                     numeric column: one-hot position of the mode
 *     <stem>_category  Dictionary<Int32, Utf8>   categorical column: the index is the one-hot
 *                                               position, the dictionary the model's categories
 *                                               in one-hot order
 *   vector             FixedSizeList<Float64>[w] only when asked for (`vector: true`): the row
 *                                               in the research layout
 *
 * `<stem>` is the column name made an Avro name (topics/transformed-schema.ts), so the alpha
 * and mode fields are named as on the Avro topic and in the S3 files. Schema metadata
 * `vgmflow.transformed` is JSON:
 *
 *   { "format": "vgmflow.transformed", "version": 1,
 *     "modelName": "default", "modelVersion": "<fit job id>",
 *     "width": w, "vector": false,
 *     "vectorColumns": ["Amount.alpha", "Amount.mode3", …],    names of the research layout
 *     "columns": [ {"name": "Amount", "type": "continuous", "offset": 0, "width": 6,
 *                   "alpha": "Amount_alpha", "mode": "Amount_mode"},
 *                  {"name": "Network", "type": "categorical", "offset": 6, "width": 5,
 *                   "field": "Network_category"} ] }
 *
 * (`offset`/`width`: the column's slice of the research layout, so a reader can rebuild the
 * vector from alpha and mode: vector[offset] = alpha, vector[offset + 1 + mode] = 1; for a
 * categorical column vector[offset + index] = 1.)
 *
 * The S3 Arrow files (`transformedArrowFile`) are the same columns as an Arrow IPC *file*,
 * built from the same column data, with `model_version` (Utf8) after the row ids and
 * `vector` always present.
 */
import {
  DataType,
  Field,
  FixedSizeList,
  Float64,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Utf8,
  type Data,
  type Vector,
} from 'apache-arrow';
import { researchLayout, type EncodedRows } from '../core/normalization/encoded-rows';
import { columnOffsets, columnWidth, encodedColumnNames, encodedWidth } from '../core/normalization/layout';
import type { TransformerModel } from '../core/normalization/model';
import {
  dictionaryData,
  float64Data,
  int32Data,
  int64DataFromNumbers,
  isFloat64,
  isInt,
  numbersFromInt64,
  repeatedUtf8Data,
  dictionaryStrings,
  utf8Vector,
  tableOfIpcStream,
} from './arrow-columns';
import type { Codec } from './codec';
import { numericColumnFields, sanitizeAvroName, uniqueAvroStem } from './transformed-schema';

export const ARROW_STREAM_CONTENT_TYPE = 'application/vnd.apache.arrow.stream';
export const ARROW_FILE_CONTENT_TYPE = 'application/vnd.apache.arrow.file';
export const TRANSFORMED_METADATA_KEY = 'vgmflow.transformed';
export const TRANSFORMED_BLOCK_FORMAT = 'vgmflow.transformed';
export const TRANSFORMED_BLOCK_VERSION = 1;

export const SOURCE_PARTITION_FIELD = 'source_partition';
export const SOURCE_OFFSET_FIELD = 'source_offset';
export const ROW_IN_MESSAGE_FIELD = 'row_in_message';
export const VECTOR_FIELD = 'vector';
export const MODEL_VERSION_FIELD = 'model_version';

export type BlockColumn =
  | {
      readonly name: string;
      readonly type: 'continuous' | 'mixed';
      readonly offset: number;
      readonly width: number;
      readonly alpha: string;
      readonly mode: string;
    }
  | { readonly name: string; readonly type: 'categorical'; readonly offset: number; readonly width: number; readonly field: string };

/** What a block's schema says: everything but the rows. */
export interface TransformedBlockLayout {
  readonly modelName: string;
  readonly modelVersion: string;
  /** Values per row in the research layout. */
  readonly width: number;
  /** Whether blocks carry the research-layout vector. */
  readonly vector: boolean;
  readonly vectorColumns: readonly string[];
  readonly columns: readonly BlockColumn[];
  /** Per column: a categorical column's categories in one-hot order, null for a numeric one. */
  readonly categories: readonly (readonly string[] | null)[];
}

export interface TransformedBlock {
  readonly layout: TransformedBlockLayout;
  readonly rows: EncodedRows;
  /** The rows in the research layout (rows.length × width), when layout.vector. */
  readonly vectors: Float64Array | null;
}

export class TransformedBlockError extends Error {}

/** The layout of the blocks a model writes. */
export function transformedBlockLayout(
  model: TransformerModel,
  o: { readonly modelName: string; readonly modelVersion: string; readonly vector: boolean },
): TransformedBlockLayout {
  const numeric = new Map(numericColumnFields(model).map((f) => [f.column, f]));
  const offsets = columnOffsets(model);
  const categoryStems = new Set<string>();
  const columns = model.columns.map((column, c): BlockColumn => {
    const at = { offset: offsets[c] as number, width: columnWidth(column) };
    if (column.type === 'categorical') {
      const stem = uniqueAvroStem(sanitizeAvroName(column.name), (s) => categoryStems.has(s));
      categoryStems.add(stem);
      return { name: column.name, type: 'categorical', ...at, field: `${stem}_category` };
    }
    const f = numeric.get(c);
    if (f === undefined) throw new TransformedBlockError(`no Avro fields for column ${column.name}`);
    return { name: column.name, type: column.type, ...at, alpha: f.alpha, mode: f.mode };
  });
  return {
    modelName: o.modelName,
    modelVersion: o.modelVersion,
    width: encodedWidth(model),
    vector: o.vector,
    vectorColumns: encodedColumnNames(model),
    columns,
    categories: model.columns.map((c) => (c.type === 'categorical' ? [...c.categories] : null)),
  };
}

function metadataJson(layout: TransformedBlockLayout): string {
  return JSON.stringify({
    format: TRANSFORMED_BLOCK_FORMAT,
    version: TRANSFORMED_BLOCK_VERSION,
    modelName: layout.modelName,
    modelVersion: layout.modelVersion,
    width: layout.width,
    vector: layout.vector,
    vectorColumns: layout.vectorColumns,
    columns: layout.columns,
  });
}

/** The Arrow pieces a layout writes with, made once per layout. */
interface ArrowLayout {
  readonly metadata: string;
  readonly dictionaries: readonly (Vector<Utf8> | null)[];
  readonly vectorType: FixedSizeList<Float64>;
}

const arrowLayouts = new WeakMap<TransformedBlockLayout, ArrowLayout>();

function arrowLayout(layout: TransformedBlockLayout): ArrowLayout {
  let a = arrowLayouts.get(layout);
  if (a === undefined) {
    a = {
      metadata: metadataJson(layout),
      dictionaries: layout.categories.map((c) => (c === null ? null : utf8Vector(c))),
      vectorType: new FixedSizeList(layout.width, new Field('item', new Float64(), false)),
    };
    arrowLayouts.set(layout, a);
  }
  return a;
}

function checkBlock(block: TransformedBlock): void {
  const { layout, rows, vectors } = block;
  const n = rows.length;
  if (rows.alpha.length !== layout.columns.length || rows.position.length !== layout.columns.length) {
    throw new TransformedBlockError(`a block of ${layout.columns.length} columns got ${rows.alpha.length} alpha and ${rows.position.length} position arrays`);
  }
  if (rows.rowIds.partition.length !== n || rows.rowIds.offset.length !== n || rows.rowIds.rowInMessage.length !== n) {
    throw new TransformedBlockError(`row ids of ${rows.rowIds.partition.length}/${rows.rowIds.offset.length}/${rows.rowIds.rowInMessage.length} rows for ${n} rows`);
  }
  layout.columns.forEach((c, k) => {
    const alpha = rows.alpha[k];
    if ((rows.position[k] as Int32Array).length !== n) throw new TransformedBlockError(`column ${c.name}: positions for ${(rows.position[k] as Int32Array).length} rows, not ${n}`);
    if (c.type !== 'categorical' && (alpha === null || alpha === undefined || alpha.length !== n)) throw new TransformedBlockError(`column ${c.name}: no alpha for each of ${n} rows`);
  });
  if (layout.vector !== (vectors !== null)) throw new TransformedBlockError(layout.vector ? 'the layout asks for vectors and the block has none' : 'the block has vectors its layout does not list');
  if (vectors !== null && vectors.length !== n * layout.width) throw new TransformedBlockError(`${vectors.length} vector values for ${n} rows of width ${layout.width}`);
  for (let i = 0; i < n; i++) {
    const o = rows.rowIds.offset[i] as number;
    if (!(o >= 0 && o <= Number.MAX_SAFE_INTEGER && Math.floor(o) === o)) throw new TransformedBlockError(`source offset ${o} is not an integer in [0, 2^53)`);
  }
}

/** The fields and column data of a block, in field order; `fileColumns` adds model_version and always the vector. */
function blockColumns(block: TransformedBlock, fileColumns: boolean): { fields: Field[]; children: Data[] } {
  const { layout, rows } = block;
  const a = arrowLayout(layout);
  const n = rows.length;
  const fields: Field[] = [new Field(SOURCE_PARTITION_FIELD, new Int32(), false), new Field(SOURCE_OFFSET_FIELD, new Int64(), false), new Field(ROW_IN_MESSAGE_FIELD, new Int32(), false)];
  const children: Data[] = [int32Data(rows.rowIds.partition), int64DataFromNumbers(rows.rowIds.offset), int32Data(rows.rowIds.rowInMessage)];
  if (fileColumns) {
    fields.push(new Field(MODEL_VERSION_FIELD, new Utf8(), false));
    children.push(repeatedUtf8Data(layout.modelVersion, n));
  }
  layout.columns.forEach((c, k) => {
    const positions = rows.position[k] as Int32Array;
    if (c.type === 'categorical') {
      const data = dictionaryData(positions, a.dictionaries[k] as Vector<Utf8>, fields.length);
      fields.push(new Field(c.field, data.type, false));
      children.push(data);
      return;
    }
    fields.push(new Field(c.alpha, new Float64(), false), new Field(c.mode, new Int32(), false));
    children.push(float64Data(rows.alpha[k] as Float64Array), int32Data(positions));
  });
  const vectors = block.vectors ?? (fileColumns ? researchLayout(rows, layout.columns.map((c) => c.offset), layout.width) : null);
  if (vectors !== null) {
    fields.push(new Field(VECTOR_FIELD, a.vectorType, false));
    children.push(makeData({ type: a.vectorType, length: n, nullCount: 0, child: float64Data(vectors) }));
  }
  return { fields, children };
}

function recordBatch(fields: Field[], children: Data[], metadata: string, n: number): RecordBatch {
  const schema = new Schema(fields, new Map([[TRANSFORMED_METADATA_KEY, metadata]]));
  return new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children }));
}

function encodeBlock(block: TransformedBlock): Uint8Array {
  checkBlock(block);
  const { fields, children } = blockColumns(block, false);
  return RecordBatchStreamWriter.writeAll([recordBatch(fields, children, arrowLayout(block.layout).metadata, block.rows.length)]).toUint8Array(true);
}

/** The S3 object of a block: an Arrow IPC file of the same columns plus model_version and the vector. */
export function transformedArrowFile(block: TransformedBlock): Uint8Array {
  checkBlock(block);
  const { fields, children } = blockColumns(block, true);
  return RecordBatchFileWriter.writeAll([recordBatch(fields, children, arrowLayout(block.layout).metadata, block.rows.length)]).toUint8Array(true);
}

// ---------------------------------------------------------------------------------------------
// Decoding

function fail(message: string): never {
  throw new TransformedBlockError(`invalid transformed block: ${message}`);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

function parseColumn(x: unknown, k: number, width: number): BlockColumn {
  if (!isRecord(x)) fail(`metadata column ${k} is not an object`);
  const { name, type, offset, width: w } = x;
  if (typeof name !== 'string') fail(`metadata column ${k} has no name`);
  if (!isCount(offset) || !isCount(w) || w < 1 || offset + w > width) fail(`metadata column "${name}" has no slice of the ${width}-wide layout`);
  if (type === 'categorical') {
    if (typeof x.field !== 'string') fail(`metadata column "${name}" has no field`);
    return { name, type, offset, width: w, field: x.field };
  }
  if (type !== 'continuous' && type !== 'mixed') fail(`metadata column "${name}" has unknown type ${JSON.stringify(type)}`);
  if (typeof x.alpha !== 'string' || typeof x.mode !== 'string') fail(`metadata column "${name}" has no alpha and mode fields`);
  return { name, type, offset, width: w, alpha: x.alpha, mode: x.mode };
}

/** A layout without categories (they come from the dictionaries), parsed from the metadata JSON. */
function parseMetadata(text: string | undefined): Omit<TransformedBlockLayout, 'categories'> {
  if (text === undefined) fail(`schema metadata has no "${TRANSFORMED_METADATA_KEY}" entry`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail(`schema metadata "${TRANSFORMED_METADATA_KEY}" is not JSON: ${(err as Error).message}`);
  }
  if (!isRecord(json)) fail(`schema metadata "${TRANSFORMED_METADATA_KEY}" is not a JSON object`);
  const { format, version, modelName, modelVersion, width, vector, vectorColumns, columns } = json;
  if (format !== TRANSFORMED_BLOCK_FORMAT) fail(`metadata format is ${JSON.stringify(format)}, not "${TRANSFORMED_BLOCK_FORMAT}"`);
  if (version !== TRANSFORMED_BLOCK_VERSION) fail(`unsupported version ${JSON.stringify(version)} (this reader knows ${TRANSFORMED_BLOCK_VERSION})`);
  if (typeof modelName !== 'string' || typeof modelVersion !== 'string') fail('metadata modelName or modelVersion is not a string');
  if (!isCount(width) || width < 1) fail(`metadata width ${JSON.stringify(width)} is not a positive integer`);
  if (typeof vector !== 'boolean') fail('metadata vector is not a boolean');
  if (!Array.isArray(vectorColumns) || vectorColumns.length !== width || !vectorColumns.every((v): v is string => typeof v === 'string')) {
    fail(`metadata vectorColumns is not a list of ${width} names`);
  }
  if (!Array.isArray(columns) || columns.length === 0) fail('metadata columns is not a non-empty list');
  return { modelName, modelVersion, width, vector, vectorColumns, columns: columns.map((c, k) => parseColumn(c, k, width)) };
}

/** Layouts parsed from metadata, by its text: the blocks of one model share one. */
const parsedLayouts = new Map<string, Omit<TransformedBlockLayout, 'categories'>>();

function layoutOf(text: string | undefined): Omit<TransformedBlockLayout, 'categories'> {
  const known = text === undefined ? undefined : parsedLayouts.get(text);
  if (known !== undefined) return known;
  const parsed = parseMetadata(text);
  if (parsedLayouts.size >= 64) parsedLayouts.clear();
  parsedLayouts.set(text as string, parsed);
  return parsed;
}

function expectedFields(layout: Omit<TransformedBlockLayout, 'categories'>): Array<{ name: string; ok: (t: DataType) => boolean; want: string }> {
  const int32 = { ok: (t: DataType) => isInt(t, 32), want: 'Int32' };
  const fields = [
    { name: SOURCE_PARTITION_FIELD, ...int32 },
    { name: SOURCE_OFFSET_FIELD, ok: (t: DataType) => isInt(t, 64), want: 'Int64' },
    { name: ROW_IN_MESSAGE_FIELD, ...int32 },
  ];
  for (const c of layout.columns) {
    if (c.type === 'categorical') {
      fields.push({ name: c.field, ok: (t) => DataType.isDictionary(t) && DataType.isUtf8(t.dictionary) && isInt(t.indices, 32), want: 'Dictionary<Int32, Utf8>' });
    } else {
      fields.push({ name: c.alpha, ok: isFloat64, want: 'Float64' }, { name: c.mode, ...int32 });
    }
  }
  if (layout.vector) {
    fields.push({ name: VECTOR_FIELD, ok: (t) => DataType.isFixedSizeList(t) && t.listSize === layout.width && isFloat64(t.valueType), want: `FixedSizeList<Float64>[${layout.width}]` });
  }
  return fields;
}

function decodeBlock(bytes: Uint8Array): TransformedBlock {
  const table = tableOfIpcStream(bytes, fail);
  const shape = layoutOf(table.schema.metadata.get(TRANSFORMED_METADATA_KEY));
  const expected = expectedFields(shape);
  const fields = table.schema.fields;
  if (fields.length !== expected.length) fail(`schema has ${fields.length} fields, expected ${expected.length} (${expected.map((f) => f.name).join(', ')})`);
  expected.forEach((e, k) => {
    const f = fields[k] as Field;
    if (f.name !== e.name) fail(`field ${k} is named "${f.name}", expected "${e.name}"`);
    if (!e.ok(f.type)) fail(`field "${e.name}" has type ${String(f.type)}, expected ${e.want}`);
  });

  const n = table.numRows;
  const rowIds = { partition: new Int32Array(n), offset: new Float64Array(n), rowInMessage: new Int32Array(n) };
  const alpha = shape.columns.map((c) => (c.type === 'categorical' ? null : new Float64Array(n)));
  const position = shape.columns.map(() => new Int32Array(n));
  const vectors = shape.vector ? new Float64Array(n * shape.width) : null;
  const categories: (string[] | null)[] = shape.columns.map(() => null);
  let at = 0;
  for (const batch of table.batches) {
    const children = batch.data.children;
    const len = batch.numRows;
    children.forEach((d, k) => {
      if (d.nullCount > 0) fail(`field "${(fields[k] as Field).name}" has ${d.nullCount} null value(s)`);
    });
    const child = (k: number): Data => children[k] as Data;
    rowIds.partition.set((child(0).values as Int32Array).subarray(0, len), at);
    numbersFromInt64(child(1), rowIds.offset, at, (o) => fail(`${SOURCE_OFFSET_FIELD} ${o} is not an integer in [0, 2^53)`));
    rowIds.rowInMessage.set((child(2).values as Int32Array).subarray(0, len), at);
    let k = 3;
    shape.columns.forEach((c, j) => {
      if (c.type === 'categorical') {
        const data = child(k++);
        const dictionary = dictionaryStrings(data);
        const known = categories[j];
        if (known === null || known === undefined) categories[j] = dictionary;
        else if (known.length !== dictionary.length || known.some((s, i) => s !== dictionary[i])) fail(`field "${c.field}": record batches with different dictionaries`);
        (position[j] as Int32Array).set((data.values as Int32Array).subarray(0, len), at);
        return;
      }
      (alpha[j] as Float64Array).set((child(k++).values as Float64Array).subarray(0, len), at);
      (position[j] as Int32Array).set((child(k++).values as Int32Array).subarray(0, len), at);
    });
    if (vectors !== null) {
      const list = child(k);
      const items = list.children[0] as Data;
      vectors.set((items.values as Float64Array).subarray(0, len * shape.width), at * shape.width);
    }
    at += len;
  }
  for (let i = 0; i < n; i++) if ((rowIds.partition[i] as number) < 0 || (rowIds.rowInMessage[i] as number) < 0) fail(`row ${i} has a negative row id`);
  const layout: TransformedBlockLayout = { ...shape, categories: shape.columns.map((c, j) => (c.type === 'categorical' ? (categories[j] ?? []) : null)) };
  return { layout, rows: { length: n, rowIds, alpha, position }, vectors };
}

/** The transformed topic's values in the block format. */
export const transformedBlockCodec: Codec<TransformedBlock> = { contentType: ARROW_STREAM_CONTENT_TYPE, encode: encodeBlock, decode: decodeBlock };

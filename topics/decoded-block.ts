/**
 * The decoded topic's block format: the decoded rows of one input message in one message,
 * column by column, as an Arrow IPC *stream* (header `content-type:
 * application/vnd.apache.arrow.stream`), like the transformed topic's blocks
 * (./transformed-block.ts). Fields, in this order:
 *
 *   source_partition   Int32                    the row's id: for a block input, the row id it
 *   source_offset      Int64                    carries (the row on the transform's input topic);
 *   row_in_message     Int32                    for a CSV or Avro input, the encoded message's
 *                                               partition and offset and the row within it
 *   per model column, in the model's order, named as on the Avro decoded topic
 *   (topics/decoded-schema.ts's rule, clashing here with the three fields above instead):
 *     <column>         Float64                  continuous column
 *     <column>         Float64, nullable        mixed column: null is the missing value -9999999
 *     <column>         Dictionary<Int32, Utf8>  categorical column: the model's categories
 *
 * Schema metadata `vgmflow.decoded` is JSON:
 *   { "format": "vgmflow.decoded", "version": 1, "modelName": "default", "modelVersion": "<job>",
 *     "columns": [ {"name": "Amount", "type": "continuous", "field": "Amount"}, … ] }
 * Only the source_* fields and the mixed columns' nulls are not nullable / nullable as said.
 */
import { DataType, Field, Float64, Int32, Int64, makeData, RecordBatch, RecordBatchStreamWriter, Schema, Struct, type Data, type Utf8, type Vector } from 'apache-arrow';
import { MISSING_VALUE } from '../core/normalization/column-spec';
import type { ColumnModel, TransformerModel } from '../core/normalization/model';
import type { RowIds } from '../core/normalization/row-id';
import { dictionaryData, float64Data, int32Data, int64DataFromNumbers, isFloat64, isInt, numbersFromInt64, dictionaryStrings, tableOfIpcStream, utf8Vector } from './arrow-columns';
import type { Codec } from './codec';
import { ARROW_STREAM_CONTENT_TYPE, ROW_IN_MESSAGE_FIELD, SOURCE_OFFSET_FIELD, SOURCE_PARTITION_FIELD } from './transformed-block';
import { sanitizeAvroName, uniqueAvroStem } from './transformed-schema';

export const DECODED_METADATA_KEY = 'vgmflow.decoded';
export const DECODED_BLOCK_FORMAT = 'vgmflow.decoded';
export const DECODED_BLOCK_VERSION = 1;

export interface DecodedBlockColumn {
  readonly name: string;
  readonly type: ColumnModel['type'];
  readonly field: string;
}

export interface DecodedBlockLayout {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly columns: readonly DecodedBlockColumn[];
  /** Per column: a categorical column's categories, null for a numeric one. */
  readonly categories: readonly (readonly string[] | null)[];
}

export interface DecodedBlock {
  readonly layout: DecodedBlockLayout;
  readonly length: number;
  readonly rowIds: RowIds;
  /** Per column: the values of a numeric column (a mixed column's missing value as -9999999), null for a categorical one. */
  readonly values: readonly (Float64Array | null)[];
  /** Per column: each row's index into the column's categories, null for a numeric column. */
  readonly categories: readonly (Int32Array | null)[];
}

export class DecodedBlockError extends Error {}

const FIXED_FIELDS = [SOURCE_PARTITION_FIELD, SOURCE_OFFSET_FIELD, ROW_IN_MESSAGE_FIELD];

export function decodedBlockLayout(model: TransformerModel, o: { readonly modelName: string; readonly modelVersion: string }): DecodedBlockLayout {
  const taken = new Set<string>(FIXED_FIELDS);
  const columns = model.columns.map((c) => {
    const field = uniqueAvroStem(sanitizeAvroName(c.name), (s) => taken.has(s));
    taken.add(field);
    return { name: c.name, type: c.type, field };
  });
  return { ...o, columns, categories: model.columns.map((c) => (c.type === 'categorical' ? [...c.categories] : null)) };
}

interface ArrowLayout {
  readonly schemaMetadata: Map<string, string>;
  readonly dictionaries: readonly (Vector<Utf8> | null)[];
}

const arrowLayouts = new WeakMap<DecodedBlockLayout, ArrowLayout>();

function arrowLayout(layout: DecodedBlockLayout): ArrowLayout {
  let a = arrowLayouts.get(layout);
  if (a === undefined) {
    const json = JSON.stringify({ format: DECODED_BLOCK_FORMAT, version: DECODED_BLOCK_VERSION, modelName: layout.modelName, modelVersion: layout.modelVersion, columns: layout.columns });
    a = { schemaMetadata: new Map([[DECODED_METADATA_KEY, json]]), dictionaries: layout.categories.map((c) => (c === null ? null : utf8Vector(c))) };
    arrowLayouts.set(layout, a);
  }
  return a;
}

function encodeBlock(block: DecodedBlock): Uint8Array {
  const { layout, length: n, rowIds } = block;
  const a = arrowLayout(layout);
  if (rowIds.partition.length !== n || rowIds.offset.length !== n || rowIds.rowInMessage.length !== n) throw new DecodedBlockError(`row ids do not hold ${n} rows`);
  const fields: Field[] = [new Field(SOURCE_PARTITION_FIELD, new Int32(), false), new Field(SOURCE_OFFSET_FIELD, new Int64(), false), new Field(ROW_IN_MESSAGE_FIELD, new Int32(), false)];
  const children: Data[] = [int32Data(rowIds.partition), int64DataFromNumbers(rowIds.offset), int32Data(rowIds.rowInMessage)];
  layout.columns.forEach((c, k) => {
    if (c.type === 'categorical') {
      const indices = block.categories[k];
      if (indices === null || indices === undefined || indices.length !== n) throw new DecodedBlockError(`column ${c.name}: no category for each of ${n} rows`);
      const data = dictionaryData(indices, a.dictionaries[k] as Vector<Utf8>, fields.length);
      fields.push(new Field(c.field, data.type, false));
      children.push(data);
      return;
    }
    const values = block.values[k];
    if (values === null || values === undefined || values.length !== n) throw new DecodedBlockError(`column ${c.name}: no value for each of ${n} rows`);
    if (c.type === 'mixed') {
      const valid = new Uint8Array(n);
      for (let i = 0; i < n; i++) valid[i] = values[i] === MISSING_VALUE ? 0 : 1;
      fields.push(new Field(c.field, new Float64(), true));
      children.push(float64Data(values, valid));
    } else {
      fields.push(new Field(c.field, new Float64(), false));
      children.push(float64Data(values));
    }
  });
  const schema = new Schema(fields, a.schemaMetadata);
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children }));
  return RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true);
}

function fail(message: string): never {
  throw new DecodedBlockError(`invalid decoded block: ${message}`);
}

function parseMetadata(text: string | undefined): Omit<DecodedBlockLayout, 'categories'> {
  if (text === undefined) fail(`schema metadata has no "${DECODED_METADATA_KEY}" entry`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail(`schema metadata is not JSON: ${(err as Error).message}`);
  }
  const m = json as Record<string, unknown>;
  if (typeof m !== 'object' || m === null || m.format !== DECODED_BLOCK_FORMAT || m.version !== DECODED_BLOCK_VERSION) fail(`metadata is not ${DECODED_BLOCK_FORMAT} version ${DECODED_BLOCK_VERSION}`);
  if (typeof m.modelName !== 'string' || typeof m.modelVersion !== 'string' || !Array.isArray(m.columns)) fail('metadata lacks modelName, modelVersion or columns');
  const columns = m.columns.map((c: unknown, k): DecodedBlockColumn => {
    const { name, type, field } = (c ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || typeof field !== 'string' || (type !== 'continuous' && type !== 'mixed' && type !== 'categorical')) fail(`metadata column ${k} is not {name, type, field}`);
    return { name, type, field };
  });
  return { modelName: m.modelName, modelVersion: m.modelVersion, columns };
}

function decodeBlock(bytes: Uint8Array): DecodedBlock {
  const table = tableOfIpcStream(bytes, fail);
  const shape = parseMetadata(table.schema.metadata.get(DECODED_METADATA_KEY));
  const fields = table.schema.fields;
  if (fields.length !== 3 + shape.columns.length) fail(`schema has ${fields.length} fields, expected ${3 + shape.columns.length}`);
  const check = (k: number, name: string, ok: boolean): void => {
    if ((fields[k] as Field).name !== name || !ok) fail(`field ${k} is "${(fields[k] as Field).name}" of type ${String((fields[k] as Field).type)}, not the expected "${name}"`);
  };
  check(0, SOURCE_PARTITION_FIELD, isInt((fields[0] as Field).type, 32));
  check(1, SOURCE_OFFSET_FIELD, isInt((fields[1] as Field).type, 64));
  check(2, ROW_IN_MESSAGE_FIELD, isInt((fields[2] as Field).type, 32));
  shape.columns.forEach((c, j) => {
    const t = (fields[3 + j] as Field).type;
    check(3 + j, c.field, c.type === 'categorical' ? DataType.isDictionary(t) && DataType.isUtf8(t.dictionary) && isInt(t.indices, 32) : isFloat64(t));
  });
  const n = table.numRows;
  const rowIds = { partition: new Int32Array(n), offset: new Float64Array(n), rowInMessage: new Int32Array(n) };
  const values = shape.columns.map((c) => (c.type === 'categorical' ? null : new Float64Array(n)));
  const categories = shape.columns.map((c) => (c.type === 'categorical' ? new Int32Array(n) : null));
  const dictionaries: (string[] | null)[] = shape.columns.map(() => null);
  let at = 0;
  for (const batch of table.batches) {
    const children = batch.data.children;
    const len = batch.numRows;
    rowIds.partition.set(((children[0] as Data).values as Int32Array).subarray(0, len), at);
    numbersFromInt64(children[1] as Data, rowIds.offset, at, (o) => fail(`${SOURCE_OFFSET_FIELD} ${o} is not an integer in [0, 2^53)`));
    rowIds.rowInMessage.set(((children[2] as Data).values as Int32Array).subarray(0, len), at);
    shape.columns.forEach((c, j) => {
      const data = children[3 + j] as Data;
      if (c.type === 'categorical') {
        const dictionary = dictionaryStrings(data);
        dictionaries[j] ??= dictionary;
        (categories[j] as Int32Array).set((data.values as Int32Array).subarray(0, len), at);
        return;
      }
      const out = values[j] as Float64Array;
      out.set((data.values as Float64Array).subarray(0, len), at);
      if (data.nullCount > 0) {
        if (c.type !== 'mixed') fail(`field "${c.field}" has null values`);
        for (let i = 0; i < len; i++) if (!data.getValid(i)) out[at + i] = MISSING_VALUE;
      }
    });
    at += len;
  }
  const layout: DecodedBlockLayout = { ...shape, categories: shape.columns.map((c, j) => (c.type === 'categorical' ? (dictionaries[j] ?? []) : null)) };
  return { layout, length: n, rowIds, values, categories };
}

/** The decoded topic's values in the block format. */
export const decodedBlockCodec: Codec<DecodedBlock> = { contentType: ARROW_STREAM_CONTENT_TYPE, encode: encodeBlock, decode: decodeBlock };

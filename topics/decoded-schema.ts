/**
 * The value schema of the decoded topic (`<prefix>.decoded`) when the inverse stage writes
 * Avro (`output: 'avro'`; CSV text is the default): one decoded row, serialised in Confluent's
 * wire format (magic byte 0, 4-byte schema id, Avro binary body) with the schema registered
 * under the topic's value subject (`<topic>-value`), as for the transformed topic.
 *
 *   record vgmflow.Decoded {
 *     key:           string          the message key: the input key of a one-row message,
 *                                    else `<partition>:<offset>:<row>` (inverse-batch.ts)
 *     model_version: string          the id of the fit job of the model that decoded the row
 *     <column>:      double          per continuous column,
 *     <column>:      union {null, double}   per mixed column (null = the missing-value
 *                                    marker -9999999, the empty cell of the CSV output),
 *     <column>:      string          per categorical column; all in the model's column order
 *   }
 *
 * Column names become field names with transformed-schema.ts's rules (sanitizeAvroName, then
 * `_2`, `_3`, … on a clash with key, model_version or an earlier column), so a column has the
 * same stem on both topics unless it clashes only here; each column field's `doc` names the
 * original column, so the mapping can be read back from the schema.
 *
 * The schema depends only on the names, types and order of the columns: refits of the same
 * columns register the same schema (same id), whatever their modes or categories.
 */
import { MISSING_VALUE } from '../core/normalization/column-spec';
import type { ColumnModel, TransformerModel } from '../core/normalization/model';
import type { CellValue } from '../core/normalization/column-summary';
import { sanitizeAvroName, uniqueAvroStem, type AvroField, type AvroRecordSchema } from './transformed-schema';

export const DECODED_RECORD_NAME = 'Decoded';
export const DECODED_NAMESPACE = 'vgmflow';
/**
 * Content type of a decoded Avro value: the transform stage's TRANSFORMED_CONTENT_TYPE, since
 * both are Confluent wire format over Avro and a reader needs the registry either way.
 */
export const DECODED_AVRO_CONTENT_TYPE = 'application/vnd.confluent.avro';

/** Fields of the record other than the per-column ones. */
const FIXED_FIELDS = ['key', 'model_version'];

/** The Avro field of one model column. */
export interface DecodedColumnField {
  /** Index of the column in the model. */
  readonly column: number;
  /** The column's original name. */
  readonly name: string;
  readonly type: ColumnModel['type'];
  /** The field name in the schema. */
  readonly field: string;
}

/** The per-column Avro field names of a model, in column order (see the rule above). */
export function decodedColumnFields(model: TransformerModel): DecodedColumnField[] {
  const taken = new Set<string>(FIXED_FIELDS);
  return model.columns.map((column, c) => {
    const field = uniqueAvroStem(sanitizeAvroName(column.name), (s) => taken.has(s));
    taken.add(field);
    return { column: c, name: column.name, type: column.type, field };
  });
}

function columnField(f: DecodedColumnField): AvroField {
  const name = JSON.stringify(f.name);
  switch (f.type) {
    case 'continuous':
      return { name: f.field, type: 'double', doc: `column ${name} (continuous)` };
    case 'mixed':
      return { name: f.field, type: ['null', 'double'], doc: `column ${name} (mixed): null is the missing value ${MISSING_VALUE}` };
    case 'categorical':
      return { name: f.field, type: 'string', doc: `column ${name} (categorical)` };
  }
}

/** The Avro schema of the decoded topic's values for rows decoded with `model`. */
export function decodedSchema(model: TransformerModel): AvroRecordSchema {
  const fields: AvroField[] = [
    { name: 'key', type: 'string', doc: 'the decoded message key: the input key of a one-row message, else <partition>:<offset>:<row>' },
    { name: 'model_version', type: 'string', doc: 'id of the fit job that produced the model' },
    ...decodedColumnFields(model).map(columnField),
  ];
  return { type: 'record', name: DECODED_RECORD_NAME, namespace: DECODED_NAMESPACE, fields };
}

/** A value of the schema, as the Avro serialiser takes it and the deserialiser returns it. */
export interface DecodedValue {
  readonly key: string;
  readonly model_version: string;
  /** The column fields: number (continuous), number or null (mixed), string (categorical). */
  readonly [field: string]: string | number | null;
}

/**
 * The Avro value of one decoded row. `fields` defaults to decodedColumnFields(model); pass it
 * in to compute the names once per model rather than once per row.
 */
export function decodedValue(
  model: TransformerModel,
  modelVersion: string,
  row: { readonly key: string; readonly values: readonly CellValue[] },
  fields: readonly DecodedColumnField[] = decodedColumnFields(model),
): DecodedValue {
  if (row.values.length !== fields.length) {
    throw new RangeError(`decoded row ${row.key}: ${row.values.length} values for ${fields.length} columns`);
  }
  const columns: Record<string, string | number | null> = {};
  fields.forEach((f, c) => {
    const v = row.values[c] as string | number;
    // The decoder gives numbers for numeric columns and strings for categorical ones; anything
    // else is a bug, and the serialiser would reject it with a less helpful message.
    if ((f.type === 'categorical') !== (typeof v === 'string')) {
      throw new TypeError(`decoded row ${row.key}: column ${JSON.stringify(f.name)} (${f.type}) got ${JSON.stringify(v)}`);
    }
    columns[f.field] = f.type === 'mixed' && v === MISSING_VALUE ? null : v;
  });
  // No column field is called key or model_version (the clash rule), so nothing is overwritten.
  return { ...columns, key: row.key, model_version: modelVersion };
}

/** The subject the decoded topic's Avro value schema is registered under (topic name strategy). */
export function decodedSubject(topic: string): string {
  return `${topic}-value`;
}

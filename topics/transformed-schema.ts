/**
 * The value schema of the transformed topic (`<prefix>.transformed`): one encoded row, in Avro,
 * serialised in Confluent's wire format (magic byte 0, 4-byte schema id, Avro binary body) with
 * the schema registered under the topic's value subject (`<topic>-value`).
 *
 *   record vgmflow.Transformed {
 *     row_id: record vgmflow.RowId {
 *       source_partition: int      Kafka partition of the source (CSV) message
 *       source_offset:    long     its offset
 *       row_in_message:   int      0-based index of the row within that message
 *     }
 *     model_version: string        the id of the fit job that produced the model
 *     <column>_alpha: double       per numeric (continuous or mixed) column, in input order:
 *     <column>_mode:  int          alpha and the one-hot position of the row's mode
 *     vector: array<double>        the dense encoded row in the research layout
 *   }                              (see core/normalization/layout.ts)
 *
 * Column names are sanitised to Avro names ([A-Za-z_][A-Za-z0-9_]*): every character outside
 * [A-Za-z0-9_] becomes `_`, and a name that is empty or starts with a digit gets a leading `_`
 * (`Tip %` → `Tip__alpha`, `2nd` → `_2nd_alpha`). When two field names would then be equal
 * (to each other or to row_id, model_version or vector), later columns, in input order, get
 * `_2`, `_3`, … appended to the sanitised column name until unique. Each such field's `doc`
 * names the original column, so the mapping can be read back from the schema.
 *
 * The schema depends only on the names and order of the numeric columns: refits of the same
 * columns register the same schema (same id). Vector lengths may differ between versions.
 */
import type { TransformerModel } from '../core/normalization/model';

export const TRANSFORMED_RECORD_NAME = 'Transformed';
export const TRANSFORMED_NAMESPACE = 'vgmflow';

/** Fields of the record other than the per-column ones. */
const FIXED_FIELDS = ['row_id', 'model_version', 'vector'];

/** The Avro name part for a column: characters outside [A-Za-z0-9_] → `_`; `_` first if it would start with a digit or be empty. */
export function sanitizeAvroName(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9_]/g, '_');
  return clean === '' || /^[0-9]/.test(clean) ? `_${clean}` : clean;
}

/**
 * The clash rule: `base` itself, else `base_2`, `base_3`, … — the first stem for which
 * `isTaken` is false. Shared with topics/decoded-schema.ts so both topics name columns alike.
 */
export function uniqueAvroStem(base: string, isTaken: (stem: string) => boolean): string {
  let stem = base;
  for (let k = 2; isTaken(stem); k++) stem = `${base}_${k}`;
  return stem;
}

/** The Avro fields of one numeric column. */
export interface NumericColumnFields {
  /** Index of the column in the model. */
  readonly column: number;
  /** The column's original name. */
  readonly name: string;
  readonly alpha: string;
  readonly mode: string;
}

/** The per-column Avro field names of a model's numeric columns, in column order (see the rule above). */
export function numericColumnFields(model: TransformerModel): NumericColumnFields[] {
  const taken = new Set<string>(FIXED_FIELDS);
  const out: NumericColumnFields[] = [];
  model.columns.forEach((column, c) => {
    if (column.type === 'categorical') return;
    const stem = uniqueAvroStem(sanitizeAvroName(column.name), (s) => taken.has(`${s}_alpha`) || taken.has(`${s}_mode`));
    const alpha = `${stem}_alpha`;
    const mode = `${stem}_mode`;
    taken.add(alpha);
    taken.add(mode);
    out.push({ column: c, name: column.name, alpha, mode });
  });
  return out;
}

export interface AvroField {
  readonly name: string;
  readonly type: unknown;
  readonly doc?: string;
}

export interface AvroRecordSchema {
  readonly type: 'record';
  readonly name: string;
  readonly namespace: string;
  readonly doc?: string;
  readonly fields: readonly AvroField[];
}

/** vgmflow.RowId: the namespace is inherited from the enclosing record (registries drop a repeated one). */
export const ROW_ID_SCHEMA: Omit<AvroRecordSchema, 'namespace'> = {
  type: 'record',
  name: 'RowId',
  fields: [
    { name: 'source_partition', type: 'int' },
    { name: 'source_offset', type: 'long' },
    { name: 'row_in_message', type: 'int' },
  ],
};

/** The Avro schema of the transformed topic's values for rows encoded with `model`. */
export function transformedSchema(model: TransformerModel): AvroRecordSchema {
  const fields: AvroField[] = [
    { name: 'row_id', type: ROW_ID_SCHEMA },
    { name: 'model_version', type: 'string', doc: 'id of the fit job that produced the model' },
  ];
  for (const f of numericColumnFields(model)) {
    fields.push({ name: f.alpha, type: 'double', doc: `alpha of column ${JSON.stringify(f.name)}` });
    fields.push({ name: f.mode, type: 'int', doc: `one-hot position of the mode of column ${JSON.stringify(f.name)}` });
  }
  fields.push({ name: 'vector', type: { type: 'array', items: 'double' }, doc: 'the encoded row in the research layout' });
  return { type: 'record', name: TRANSFORMED_RECORD_NAME, namespace: TRANSFORMED_NAMESPACE, fields };
}

/** A value of the schema, as the Avro serialiser takes it and the deserialiser returns it. */
export interface TransformedValue {
  readonly row_id: { readonly source_partition: number; readonly source_offset: number; readonly row_in_message: number };
  readonly model_version: string;
  readonly vector: number[];
  /** The `<column>_alpha` and `<column>_mode` fields. */
  readonly [field: string]: unknown;
}

/** The subject the transformed topic's value schema is registered under (topic name strategy). */
export function transformedSubject(topic: string): string {
  return `${topic}-value`;
}

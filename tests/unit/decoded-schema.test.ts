/**
 * The decoded topic's Avro schema (topics/decoded-schema.ts): field names and types for a
 * model with all three column kinds (including names that need sanitising and clash), values
 * built from the pure decode, and a round trip through the registry library's own Avro
 * serialiser and deserialiser (against its in-memory MockClient). Also the refusals around it:
 * the stage without a registry and `vgmflow stage --output-format`.
 */
import { AvroDeserializer, AvroSerializer, MockClient, SerdeType } from '@confluentinc/schemaregistry';
import { main } from '../../pipeline/main';
import { inverseContext, inverseMessage, type DecodedRow } from '../../stages/inverse/inverse-batch';
import { runInverse } from '../../stages/inverse/inverse-stage';
import { TRANSFORMED_CONTENT_TYPE } from '../../stages/transform/transform-stage';
import { MISSING_VALUE, type ColumnSpec } from '../../core/normalization/column-spec';
import { ColumnSummaryBuilder, type CellValue } from '../../core/normalization/column-summary';
import { RowEncoder } from '../../core/normalization/encoder';
import { fitTransformer } from '../../core/normalization/fit-transformer';
import type { TransformerModel } from '../../core/normalization/model';
import {
  DECODED_AVRO_CONTENT_TYPE,
  decodedColumnFields,
  decodedSchema,
  decodedSubject,
  decodedValue,
  type DecodedValue,
} from '../../topics/decoded-schema';
import { MemoryTransport } from '../../topics/memory';
import { topicNames } from '../../topics/topology';
import { numericColumnFields } from '../../topics/transformed-schema';

// Names chosen to need the sanitising rule (space, leading digit) and the clash rule (a column
// called key; two columns that sanitise alike).
const SPECS: ColumnSpec[] = [
  { name: 'Amount 1', type: 'continuous' },
  { name: '2nd Tip', type: 'mixed', modalValues: [0, MISSING_VALUE] },
  { name: 'key', type: 'categorical' },
  { name: 'Amount_1', type: 'categorical' },
];

function rowCells(i: number): CellValue[] {
  const tip = i % 5 === 0 ? 0 : i % 7 === 0 ? MISSING_VALUE : 1 + (i % 13) * 0.25;
  return [10 + ((i * 37) % 101) * 1.3, tip, ['a', 'b', 'c'][i % 3] as string, i % 2 === 0 ? 'x,y' : 'z'];
}

function fit(specs: readonly ColumnSpec[], rows: number): TransformerModel {
  const builders = specs.map((s) => new ColumnSummaryBuilder(s));
  for (let i = 0; i < rows; i++) rowCells(i).forEach((cell, c) => builders[c]?.add(cell));
  return fitTransformer(builders.map((b) => b.build()));
}

const MODEL = fit(SPECS, 300);

/** Row i encoded with the model (as the transform stage would) and decoded by the pure inverse. */
function decodedRow(model: TransformerModel, i: number): DecodedRow {
  const { vector } = new RowEncoder(model).encode(rowCells(i), { partition: 0, offset: i, rowInMessage: 0 });
  const result = inverseMessage(inverseContext(model, 'v1'), { topic: 't', partition: 0, offset: i, key: `k${i}` }, { kind: 'vector', vector: Array.from(vector) });
  expect(result.deadLetters).toEqual([]);
  const row = result.rows[0];
  if (row === undefined) throw new Error(`row ${i} did not decode`);
  return row;
}

describe('decodedSchema', () => {
  it('has key, model_version, then one field per column in model order, sanitised and unclashed', () => {
    expect(decodedSchema(MODEL)).toEqual({
      type: 'record',
      name: 'Decoded',
      namespace: 'vgmflow',
      fields: [
        { name: 'key', type: 'string', doc: expect.any(String) },
        { name: 'model_version', type: 'string', doc: 'id of the fit job that produced the model' },
        { name: 'Amount_1', type: 'double', doc: 'column "Amount 1" (continuous)' },
        { name: '_2nd_Tip', type: ['null', 'double'], doc: 'column "2nd Tip" (mixed): null is the missing value -9999999' },
        { name: 'key_2', type: 'string', doc: 'column "key" (categorical)' },
        { name: 'Amount_1_2', type: 'string', doc: 'column "Amount_1" (categorical)' },
      ],
    });
    expect(decodedColumnFields(MODEL).map((f) => [f.column, f.name, f.type, f.field])).toEqual([
      [0, 'Amount 1', 'continuous', 'Amount_1'],
      [1, '2nd Tip', 'mixed', '_2nd_Tip'],
      [2, 'key', 'categorical', 'key_2'],
      [3, 'Amount_1', 'categorical', 'Amount_1_2'],
    ]);
    // The transformed topic names the same columns with the same stems (the shared rule).
    expect(numericColumnFields(MODEL).map((f) => f.alpha)).toEqual(['Amount_1_alpha', '_2nd_Tip_alpha']);
  });

  it('resolves clashes between numeric columns as the transformed schema does', () => {
    const named = (names: string[]): TransformerModel => ({ ...MODEL, columns: MODEL.columns.map((c, i) => ({ ...c, name: names[i] as string })) });
    const model = named(['a b', 'a_b', 'model_version', 'a-b']);
    expect(decodedColumnFields(model).map((f) => f.field)).toEqual(['a_b', 'a_b_2', 'model_version_2', 'a_b_3']);
    expect(numericColumnFields(model).map((f) => [f.alpha, f.mode])).toEqual([
      ['a_b_alpha', 'a_b_mode'],
      ['a_b_2_alpha', 'a_b_2_mode'],
    ]);
  });

  it('depends only on the columns: a refit of the same columns gives the same schema, other columns another', () => {
    const refit = fit(SPECS, 200);
    expect(refit).not.toEqual(MODEL);
    expect(JSON.stringify(decodedSchema(refit))).toBe(JSON.stringify(decodedSchema(MODEL)));
    const renamed: TransformerModel = { ...MODEL, columns: MODEL.columns.map((c, i) => (i === 3 ? { ...c, name: 'Merchant' } : c)) };
    expect(decodedSchema(renamed).fields.map((f) => f.name)).toEqual(['key', 'model_version', 'Amount_1', '_2nd_Tip', 'key_2', 'Merchant']);
  });

  it('names the subject by topic and uses the transform stage content type', () => {
    expect(decodedSubject('vgm.decoded')).toBe('vgm.decoded-value');
    expect(DECODED_AVRO_CONTENT_TYPE).toBe(TRANSFORMED_CONTENT_TYPE);
  });
});

describe('decodedValue', () => {
  it('holds the decoded cells: numbers, null for the missing value, strings', () => {
    const fields = decodedColumnFields(MODEL);
    expect(decodedValue(MODEL, 'job-1', { key: 'k', values: [12.5, MISSING_VALUE, 'a', 'x,y'] }, fields)).toEqual({
      key: 'k',
      model_version: 'job-1',
      Amount_1: 12.5,
      _2nd_Tip: null,
      key_2: 'a',
      Amount_1_2: 'x,y',
    });
    // 0 is a modal value, not missing; the default field list is the model's.
    expect(decodedValue(MODEL, 'job-1', { key: 'k', values: [-0, 0, 'b', 'z'] })._2nd_Tip).toBe(0);
  });

  it('refuses values that do not fit the model', () => {
    expect(() => decodedValue(MODEL, 'v', { key: 'k', values: [1, 2, 'a'] })).toThrow('decoded row k: 3 values for 4 columns');
    expect(() => decodedValue(MODEL, 'v', { key: 'k', values: [1, 2, 3, 'a'] })).toThrow('column "key" (categorical) got 3');
    expect(() => decodedValue(MODEL, 'v', { key: 'k', values: ['1', 2, 'a', 'b'] })).toThrow('column "Amount 1" (continuous) got "1"');
  });

  it('round-trips through the registry library: Confluent wire format, every value back as it was decoded', async () => {
    const client = new MockClient();
    const subject = decodedSubject('t.decoded');
    const id = await client.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(decodedSchema(MODEL)) }, false);
    const serializer = new AvroSerializer(client, SerdeType.VALUE, { useSchemaId: id, autoRegisterSchemas: false });
    const deserializer = new AvroDeserializer(client, SerdeType.VALUE, {});
    const fields = decodedColumnFields(MODEL);
    let missing = 0;
    for (let i = 0; i < 60; i++) {
      const row = decodedRow(MODEL, i);
      const value = decodedValue(MODEL, 'job-1', row, fields);
      const bytes = await serializer.serialize('t.decoded', value);
      expect([...bytes.subarray(0, 5)]).toEqual([0, (id >>> 24) & 255, (id >>> 16) & 255, (id >>> 8) & 255, id & 255]);
      const back = (await deserializer.deserialize('t.decoded', bytes)) as DecodedValue;
      expect(back).toEqual(value);
      // Field by field against the decoded cells (the same cells the CSV output formats).
      fields.forEach((f, c) => expect(back[f.field]).toBe(row.values[c] === MISSING_VALUE ? null : row.values[c]));
      expect(row.values).toEqual(rowCells(i).map((cell) => (typeof cell === 'number' ? expect.closeTo(cell, 6) : cell)));
      if (back._2nd_Tip === null) missing++;
    }
    expect(missing).toBeGreaterThan(0);
  });
});

describe('Avro output needs a registry', () => {
  it('runInverse refuses output avro without one, before touching any topic', async () => {
    const transport = new MemoryTransport();
    const topics = topicNames('dschema');
    await expect(runInverse({ transport, topics, encodedTopic: 'dschema.encoded', decodedTopic: 'dschema.decoded', output: 'avro' })).rejects.toThrow(
      'inverse: Avro output needs a Schema Registry client (registry)',
    );
    await expect(transport.endOffsets('dschema.decoded')).rejects.toThrow();
  });

  describe('vgmflow stage --output-format', () => {
    const saved = process.env.SCHEMA_REGISTRY_URL;
    let stderr: string[] = [];
    let spy: jest.SpyInstance | null = null;
    beforeEach(() => {
      delete process.env.SCHEMA_REGISTRY_URL;
      stderr = [];
      spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        stderr.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
      });
    });
    afterEach(() => {
      spy?.mockRestore();
      if (saved === undefined) delete process.env.SCHEMA_REGISTRY_URL;
      else process.env.SCHEMA_REGISTRY_URL = saved;
    });

    it.each([
      [['stage', 'inverse', '--brokers', '127.0.0.1:1', '--output-format', 'json'], '--output-format must be block, csv or avro, not "json"'],
      [['stage', 'inverse', '--brokers', '127.0.0.1:1', '--output-format', 'avro'], '--output-format avro needs --registry-url (or set SCHEMA_REGISTRY_URL)'],
      [['stage', 'transform', '--brokers', '127.0.0.1:1', '--output-format', 'avro'], '--output-format avro needs --registry-url (or set SCHEMA_REGISTRY_URL)'],
      [['stage', 'transform', '--brokers', '127.0.0.1:1', '--output-format', 'csv'], '--output-format must be block or avro, not "csv"'],
      [['stage', 'transform', '--brokers', '127.0.0.1:1', '--output-format', 'avro', '--vector'], '--vector is for the block format'],
      [['stage', 'reduce', '--brokers', '127.0.0.1:1', '--output-format', 'block'], '--output-format is an option of the transform and inverse stages only'],
      [['stage', 'transform', '--brokers', '127.0.0.1:1', '--compression', 'brotli'], '--compression must be one of none, gzip, snappy, lz4, zstd, not "brotli"'],
    ])('%j is a usage error', async (argv, message) => {
      expect(await main(argv)).toBe(2);
      expect(stderr.join('')).toContain(`vgmflow stage: ${message}`);
    });
  });
});

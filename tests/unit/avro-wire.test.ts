/**
 * The stages' Avro writer against the registry client's own AvroSerializer and
 * AvroDeserializer (with the client library's in-memory MockClient as the registry): the
 * same bytes for the transformed and decoded schemas, and values that read back.
 */
import { AvroDeserializer, AvroSerializer, MockClient, SerdeType } from '@confluentinc/schemaregistry';
import { avroWireReader, AvroWireFormatError, registerAvroWriter } from '../../topics/avro-wire';

const schema = {
  type: 'record',
  name: 'Row',
  namespace: 'vgmflow.test',
  fields: [
    { name: 'row_id', type: { type: 'record', name: 'RowId', fields: [{ name: 'p', type: 'int' }, { name: 'o', type: 'long' }] } },
    { name: 'key', type: 'string' },
    { name: 'x', type: 'double' },
    { name: 'tip', type: ['null', 'double'] },
    { name: 'mode', type: 'int' },
    { name: 'vector', type: { type: 'array', items: 'double' } },
  ],
};

const values = [
  { row_id: { p: 2, o: 2 ** 40 }, key: 'a', x: -0.125, tip: null, mode: 3, vector: [0.5, -1e-300, 1, 0] },
  { row_id: { p: 0, o: 0 }, key: 'é ∑', x: 1.7976931348623157e308, tip: 4.25, mode: 0, vector: [] },
];

describe('registerAvroWriter and avroWireReader', () => {
  it('writes what the registry client\'s AvroSerializer writes, and its AvroDeserializer reads it back', async () => {
    const client = new MockClient();
    const writer = await registerAvroWriter(client, 'rows-value', schema);
    const serializer = new AvroSerializer(client, SerdeType.VALUE, { useSchemaId: writer.schemaId, autoRegisterSchemas: false });
    const deserializer = new AvroDeserializer(client, SerdeType.VALUE, {});
    for (const value of values) {
      const ours = writer.write(value);
      const theirs = await serializer.serialize('rows', value);
      expect(Buffer.from(ours).equals(theirs)).toBe(true);
      expect(ours[0]).toBe(0);
      expect(Buffer.from(ours).readInt32BE(1)).toBe(writer.schemaId);
      expect(await deserializer.deserialize('rows', Buffer.from(ours))).toEqual(value);
    }
  });

  it('refuses a value that does not fit the schema', async () => {
    const writer = await registerAvroWriter(new MockClient(), 'rows-value', schema);
    expect(() => writer.write({ ...values[0], x: 'not a number' })).toThrow();
  });
});

describe('avroWireReader', () => {
  it('reads what the registry client\'s AvroSerializer wrote, under two schema versions', async () => {
    const client = new MockClient();
    const id = await client.register('rows-value', { schemaType: 'AVRO', schema: JSON.stringify(schema) }, false);
    const serializer = new AvroSerializer(client, SerdeType.VALUE, { useSchemaId: id, autoRegisterSchemas: false });
    const reader = avroWireReader(client, 'rows-value');
    // avsc decodes records into instances of generated classes: compare their data.
    const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
    for (const value of values) expect(plain(await reader.read(new Uint8Array(await serializer.serialize('rows', value))))).toEqual(value);
    const v2 = { ...schema, fields: [...schema.fields, { name: 'extra', type: 'string', default: '' }] };
    const writer2 = await registerAvroWriter(client, 'rows-value', v2);
    expect(writer2.schemaId).not.toBe(id);
    expect(plain(await reader.read(writer2.write({ ...values[1], extra: 'x' })))).toEqual({ ...values[1], extra: 'x' });
  });

  it('rejects values that are not wire format or do not decode as AvroWireFormatError, an unknown id with the registry\'s error', async () => {
    const client = new MockClient();
    const writer = await registerAvroWriter(client, 'rows-value', schema);
    const reader = avroWireReader(client, 'rows-value');
    const good = writer.write(values[0]);
    await expect(reader.read(new TextEncoder().encode('1,2,3'))).rejects.toThrow(AvroWireFormatError);
    await expect(reader.read(good.subarray(0, 4))).rejects.toThrow(AvroWireFormatError);
    await expect(reader.read(good.subarray(0, 9))).rejects.toThrow(AvroWireFormatError);
    const unknown = Uint8Array.from(good);
    unknown[4] = 99;
    const failure = await reader.read(unknown).then(() => null, (err: unknown) => err);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(AvroWireFormatError);
    // The reader still works after a failed lookup.
    expect(JSON.parse(JSON.stringify(await reader.read(good)))).toEqual(values[0]);
  });
});

// Smoke test of the stack's Schema Registry through Confluent's own client
// (@confluentinc/schemaregistry) at its Confluent-compatible endpoint: register an Avro schema,
// then serialise and deserialise a record in Confluent's wire format
// (magic byte 0, 4-byte big-endian schema id, Avro binary body).
import {
  AvroDeserializer,
  AvroSerializer,
  SerdeType,
  type Client,
} from '@confluentinc/schemaregistry';
import { schemaRegistryClient, stackConfig, uniqueName } from '../support/stack';

// jest.config.js sets testTimeout per project, which jest ignores (it is a global option);
// the stack's services need more than the 5 s default under load.
jest.setTimeout(120_000);

const SCHEMA = {
  type: 'record',
  name: 'SmokeObservation',
  namespace: 'dev.vgmflow.smoke',
  fields: [
    { name: 'column', type: 'string' },
    { name: 'value', type: 'double' },
    { name: 'row', type: 'long' },
    { name: 'mode', type: ['null', 'int'], default: null },
  ],
};

interface SmokeObservation {
  column: string;
  value: number;
  row: number;
  mode: number | null;
}

describe('Schema Registry, Confluent-compatible API (smoke)', () => {
  let client: Client;

  beforeAll(() => {
    client = schemaRegistryClient();
  });

  afterAll(async () => {
    await client.close();
  });

  it('answers the subjects listing at the configured base URL', async () => {
    const res = await fetch(`${stackConfig().schemaRegistryUrl}/subjects`);
    expect(res.status).toBe(200);
    expect(Array.isArray(await res.json())).toBe(true);
  });

  it('registers an Avro schema and round-trips a record in Confluent wire format', async () => {
    const topic = uniqueName('smoke-registry');
    const subject = `${topic}-value`;
    const schema = JSON.stringify(SCHEMA);

    const id = await client.register(subject, { schemaType: 'AVRO', schema }, false);
    expect(Number.isInteger(id)).toBe(true);
    expect(id).toBeGreaterThan(0);
    // Registering the same schema again is idempotent.
    expect(await client.register(subject, { schemaType: 'AVRO', schema }, false)).toBe(id);

    const latest = await client.getLatestSchemaMetadata(subject);
    expect(latest.id).toBe(id);
    expect(latest.version).toBe(1);

    // The id resolves over plain REST too, as any Confluent-format reader would resolve it.
    const byId = await fetch(`${stackConfig().schemaRegistryUrl}/schemas/ids/${id}`);
    expect(byId.status).toBe(200);
    const byIdBody = (await byId.json()) as { schema: string };
    expect(JSON.parse(byIdBody.schema)).toMatchObject({ name: 'SmokeObservation', namespace: 'dev.vgmflow.smoke' });

    const serializer = new AvroSerializer(client, SerdeType.VALUE, {
      useLatestVersion: true,
      autoRegisterSchemas: false,
    });
    const deserializer = new AvroDeserializer(client, SerdeType.VALUE, {});
    const records: SmokeObservation[] = [
      { column: 'amount', value: 12.5, row: 7, mode: 2 },
      { column: 'amount', value: -0.25, row: 8, mode: null },
    ];

    for (const record of records) {
      const bytes = await serializer.serialize(topic, record);
      expect(bytes[0]).toBe(0);
      expect(bytes.readInt32BE(1)).toBe(id);
      expect(bytes.length).toBeGreaterThan(5);
      // The body's first field is the Avro string "amount": zig-zag length 6 -> 0x0c, then the bytes.
      expect(bytes[5]).toBe(0x0c);
      expect(bytes.subarray(6, 12).toString('utf8')).toBe('amount');

      const decoded = (await deserializer.deserialize(topic, bytes)) as SmokeObservation;
      expect(decoded).toEqual(record);
    }
  });

  it('auto-registers a schema on first serialisation under the topic name strategy', async () => {
    const topic = uniqueName('smoke-registry-auto');
    const serializer = new AvroSerializer(client, SerdeType.VALUE, { autoRegisterSchemas: true });
    const record = { column: 'age', value: 41, row: 1, mode: null };
    const bytes = await serializer.serialize(topic, record);

    const latest = await client.getLatestSchemaMetadata(`${topic}-value`);
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(latest.id);
    const deserializer = new AvroDeserializer(client, SerdeType.VALUE, {});
    expect(await deserializer.deserialize(topic, bytes)).toEqual(record);
  });
});

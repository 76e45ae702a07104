/**
 * Avro values in Confluent's wire format — magic byte 0, the schema id as a 4-byte big-endian
 * int, the Avro binary body — written for a schema registered once, and read with the writer's
 * schema fetched once per schema id.
 *
 * Why not the registry client's AvroSerializer/AvroDeserializer for every row: they look the
 * schema up per value (a deterministic JSON stringify as the cache key, under a mutex, then
 * their rule and tag machinery), which took about a third of the transform stage's CPU. The
 * stages register or fetch schemas through the client, build each Avro type once with avsc
 * (the library the client itself encodes with), and only encode or decode per row. The bytes
 * are the same (tests/unit/avro-wire.test.ts checks them against the client's serde), so any
 * Confluent-compatible reader or writer works with the topics.
 */
import avro from 'avsc';
import type { Client } from '@confluentinc/schemaregistry';

export const CONFLUENT_MAGIC_BYTE = 0;

export interface AvroWireWriter {
  readonly schemaId: number;
  /** One value in Confluent's wire format. Throws if the value does not fit the schema. */
  write(value: unknown): Uint8Array;
}

/** A writer for a schema id already known (registered) in a registry. */
export function avroWireWriter(schemaId: number, schema: object): AvroWireWriter {
  const type = avro.Type.forSchema(schema as avro.Schema);
  const header = Buffer.alloc(5);
  header.writeUInt8(CONFLUENT_MAGIC_BYTE, 0);
  header.writeInt32BE(schemaId, 1);
  return {
    schemaId,
    write(value) {
      const body = type.toBuffer(value);
      const out = new Uint8Array(header.length + body.length);
      out.set(header, 0);
      out.set(body, header.length);
      return out;
    },
  };
}

/** Registers `schema` under `subject` (or finds it registered) and returns a writer for it. */
export async function registerAvroWriter(registry: Client, subject: string, schema: object): Promise<AvroWireWriter> {
  const schemaId = await registry.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(schema) }, false);
  return avroWireWriter(schemaId, schema);
}

/** A value that is not Confluent wire format (a record fault: dead-letter it, do not retry). */
export class AvroWireFormatError extends Error {}

export interface AvroWireReader {
  /**
   * Decodes one value with its writer's schema. Rejects with AvroWireFormatError for a value
   * that is not wire format or does not decode, and with the registry client's error when the
   * schema cannot be fetched (a RestError 404 for an unknown id).
   */
  read(bytes: Uint8Array): Promise<unknown>;
}

/** Reads values of a topic; schemas are looked up as `subject` + id, as the client's deserializer does. */
export function avroWireReader(registry: Client, subject: string): AvroWireReader {
  const types = new Map<number, Promise<avro.Type>>();
  const typeOf = (id: number): Promise<avro.Type> => {
    let type = types.get(id);
    if (type === undefined) {
      type = registry.getBySubjectAndId(subject, id).then((info) => {
        try {
          return avro.Type.forSchema(JSON.parse(info.schema) as avro.Schema);
        } catch (err) {
          throw new AvroWireFormatError(`schema id ${id} is not an Avro schema: ${err instanceof Error ? err.message : String(err)}`);
        }
      });
      // A failed fetch (registry down, unknown id) is not remembered: the next value asks again.
      type.catch(() => types.delete(id));
      types.set(id, type);
    }
    return type;
  };
  return {
    async read(bytes) {
      if (bytes.length < 5 || bytes[0] !== CONFLUENT_MAGIC_BYTE) {
        throw new AvroWireFormatError(`not Confluent wire format (${bytes.length} bytes, first byte ${bytes[0] ?? 'none'})`);
      }
      const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const type = await typeOf(buffer.readInt32BE(1));
      try {
        return type.fromBuffer(buffer.subarray(5));
      } catch (err) {
        throw new AvroWireFormatError(err instanceof Error ? err.message : String(err));
      }
    },
  };
}

/** Splits what one send hands over into produce requests the broker accepts. */
import type { OutRecord } from '../transport';

/**
 * Bytes of keys, values and headers per produce request. kafkajs puts all of a request's
 * messages for one partition into one record batch, and the broker refuses a batch over the
 * topic's max.message.bytes (1 MiB by default): a transform of 8 000 rows into one partition
 * would be refused whole. Half the default leaves room for batch and record overheads.
 */
export const MAX_REQUEST_PAYLOAD_BYTES = 512 * 1024;

function payloadBytes(record: OutRecord): number {
  let n = record.value.byteLength + (record.key === null ? 0 : Buffer.byteLength(record.key));
  for (const [k, v] of Object.entries(record.headers ?? {})) n += Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

/**
 * Splits records, in order, into runs of at most `maxBytes` payload each (a record larger
 * than that goes alone, for the broker to judge against the topic's limit).
 */
export function chunkRecords(records: readonly OutRecord[], maxBytes = MAX_REQUEST_PAYLOAD_BYTES): OutRecord[][] {
  const chunks: OutRecord[][] = [];
  let current: OutRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = payloadBytes(record);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

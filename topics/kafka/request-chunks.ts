/** Splits what one send hands over into produce requests the broker accepts. */
import type { OutRecord } from '../transport';

/**
 * Bytes of keys, values and headers per partition per produce request. kafkajs puts all of a
 * request's messages for one partition into one record batch, and the broker refuses a batch
 * over the topic's max.message.bytes (1 MiB by default): a transform of 8 000 rows into one
 * partition would be refused whole. Half the default leaves room for batch and record
 * overheads. A producer writing only to topics with larger messages may pass more
 * (KafkaTransportOptions.maxBatchBytes).
 */
export const MAX_REQUEST_PAYLOAD_BYTES = 512 * 1024;
/** Bytes of one produce request over all its partitions. */
export const MAX_REQUEST_BYTES = 32 * 1024 * 1024;

function payloadBytes(record: OutRecord): number {
  let n = record.value.byteLength + (record.key === null ? 0 : Buffer.byteLength(record.key));
  for (const [k, v] of Object.entries(record.headers ?? {})) n += Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

/**
 * Splits records, in order, into requests holding at most `maxBytes` payload per partition
 * (records without a partition count as one partition of their topic) and `maxRequestBytes`
 * in all; a record larger than that goes alone, for the broker to judge against the topic's
 * limit. Records of one partition keep their order across requests.
 */
export function chunkRecords(records: readonly OutRecord[], maxBytes = MAX_REQUEST_PAYLOAD_BYTES, maxRequestBytes = MAX_REQUEST_BYTES): OutRecord[][] {
  const chunks: OutRecord[][] = [];
  let current: OutRecord[] = [];
  let perPartition = new Map<string, number>();
  let total = 0;
  for (const record of records) {
    const size = payloadBytes(record);
    const bucket = `${record.topic}\u0000${record.partition ?? ''}`;
    const inBucket = perPartition.get(bucket) ?? 0;
    if (current.length > 0 && (inBucket + size > maxBytes || total + size > maxRequestBytes)) {
      chunks.push(current);
      current = [];
      perPartition = new Map();
      total = 0;
    }
    current.push(record);
    perPartition.set(bucket, (perPartition.get(bucket) ?? 0) + size);
    total += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

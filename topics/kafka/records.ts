/**
 * Records and offsets between the Transport's shapes and kafkajs's:
 *
 * - Offsets are numbers; a partition offset of 2^53 or more is reported as an error.
 * - Values arrive as plain Uint8Array views (not Buffers) and a null (tombstone) value as an
 *   empty array; of a header sent several times, the last value wins.
 */
import type { IHeaders, KafkaMessage, Message, TopicMessages } from 'kafkajs';
import { checkOffset } from '../offset-check';
import type { InRecord, OutRecord, TopicPartitionOffset } from '../transport';

export function toOffset(value: string, what: string): number {
  const offset = Number(value);
  if (!Number.isSafeInteger(offset)) {
    throw new RangeError(`${what}: offset ${value} is not below 2^53`);
  }
  return offset;
}

function toBuffer(value: Uint8Array): Buffer {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function toBytes(value: Buffer | null): Uint8Array {
  return value === null ? new Uint8Array(0) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function headersIn(headers: IHeaders | undefined): Readonly<Record<string, string>> {
  if (headers === undefined) return {};
  const entries: Array<[string, string]> = [];
  for (const [name, raw] of Object.entries(headers)) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined) continue;
    entries.push([name, typeof value === 'string' ? value : value.toString('utf8')]);
  }
  return Object.fromEntries(entries);
}

export function toInRecord(topic: string, partition: number, message: KafkaMessage): InRecord {
  return {
    topic,
    partition,
    offset: toOffset(message.offset, `${topic}[${partition}]`),
    key: message.key === null ? null : message.key.toString('utf8'),
    value: toBytes(message.value),
    headers: headersIn(message.headers),
  };
}

/** Records grouped by topic (in order), as kafkajs sends them. */
export function topicMessages(records: readonly OutRecord[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const record of records) {
    if (!(record.value instanceof Uint8Array)) {
      throw new TypeError(`record value for ${record.topic} must be a Uint8Array`);
    }
    let messages = byTopic.get(record.topic);
    if (messages === undefined) {
      messages = [];
      byTopic.set(record.topic, messages);
    }
    const message: Message = { key: record.key, value: toBuffer(record.value) };
    if (record.partition !== undefined) message.partition = record.partition;
    if (record.headers !== undefined) message.headers = { ...record.headers };
    messages.push(message);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

export function offsetsByTopic(offsets: readonly TopicPartitionOffset[]): Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> {
  const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const { topic, partition, offset } of offsets) {
    checkOffset(offset, 'committed offset');
    let partitions = byTopic.get(topic);
    if (partitions === undefined) {
      partitions = [];
      byTopic.set(topic, partitions);
    }
    partitions.push({ partition, offset: String(offset) });
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

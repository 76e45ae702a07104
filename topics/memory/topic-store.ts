/**
 * The memory transport's data, as a broker holds it: the topics' logs and the groups' committed
 * offsets, with the admin questions about them (ensureTopics, endOffsets, startOffsets,
 * committedOffsets). Offsets start at 0 and are contiguous per partition; nothing is ever
 * deleted, so the start offset of every partition stays 0.
 */
import { checkOffset } from '../offset-check';
import type { TopicPartitionOffset, TopicSpec } from '../transport';
import { TopicLog, type Routed } from './topic-log';

/** Offsets one group commits, as a transaction's sendOffsets hands them over. */
export interface GroupOffsets {
  readonly group: string;
  readonly offsets: readonly TopicPartitionOffset[];
}

export class TopicStore {
  private readonly topics = new Map<string, TopicLog>();
  /** group → topic → partition → committed offset */
  private readonly committed = new Map<string, Map<string, Map<number, number>>>();
  private closed = false;

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    this.checkOpen();
    for (const spec of specs) {
      if (this.topics.has(spec.name)) continue;
      if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
        throw new RangeError(`topic ${spec.name}: partitions must be a positive integer (got ${spec.partitions})`);
      }
      this.topics.set(spec.name, new TopicLog({ name: spec.name, partitions: spec.partitions, config: { ...spec.config } }));
    }
  }

  async endOffsets(topic: string): Promise<number[]> {
    return this.topic(topic).partitions.map((records) => records.length);
  }

  async startOffsets(topic: string): Promise<number[]> {
    return this.topic(topic).partitions.map(() => 0);
  }

  async committedOffsets(group: string, topic: string): Promise<number[]> {
    return this.topic(topic).partitions.map((_, partition) => this.committedOffset(group, topic, partition));
  }

  topic(name: string): TopicLog {
    const log = this.topics.get(name);
    if (log === undefined) throw new Error(`unknown topic ${name} (create it with ensureTopics)`);
    return log;
  }

  committedOffset(group: string, topic: string, partition: number): number {
    return this.committed.get(group)?.get(topic)?.get(partition) ?? -1;
  }

  commitOffsets(group: string, offsets: readonly TopicPartitionOffset[]): void {
    this.checkOpen();
    for (const entry of offsets) {
      this.topic(entry.topic).checkPartition(entry.partition);
      checkOffset(entry.offset, 'committed offset');
    }
    this.storeOffsets(group, offsets);
  }

  /** Appends records and stores offsets in one step: readers see all of it or none. */
  apply(records: readonly Routed[], offsets: readonly GroupOffsets[]): void {
    this.checkOpen();
    const touched = new Set<TopicLog>();
    for (const record of records) {
      const partition = record.log.partitions[record.partition];
      partition.push(
        Object.freeze({
          topic: record.log.name,
          partition: record.partition,
          offset: partition.length,
          key: record.key,
          value: record.value,
          headers: record.headers,
        }),
      );
      touched.add(record.log);
    }
    for (const entry of offsets) this.storeOffsets(entry.group, entry.offsets);
    for (const log of touched) for (const reader of log.readers) reader.wake();
  }

  /** From now on, every change (and every new producer or subscription) is refused. */
  close(): void {
    this.closed = true;
  }

  checkOpen(): void {
    if (this.closed) throw new Error('the transport is closed');
  }

  private storeOffsets(group: string, offsets: readonly TopicPartitionOffset[]): void {
    let byTopic = this.committed.get(group);
    if (byTopic === undefined) {
      byTopic = new Map();
      this.committed.set(group, byTopic);
    }
    for (const { topic, partition, offset } of offsets) {
      let byPartition = byTopic.get(topic);
      if (byPartition === undefined) {
        byPartition = new Map();
        byTopic.set(topic, byPartition);
      }
      byPartition.set(partition, offset);
    }
  }
}

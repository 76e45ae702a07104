/**
 * The Transport's questions about topics and groups, through one lazily connected kafkajs admin:
 * ensureTopics, endOffsets, startOffsets, committedOffsets, groupMembers.
 *
 * endOffsets are what a read_committed reader can reach: kafkajs's admin asks ListOffsets with
 * read_committed isolation, so it returns the last stable offset (the high watermark when no
 * transaction is open). Each ended transaction leaves a marker offset behind in every partition
 * it wrote (and an aborted one its invisible records too), so with transactional producers
 * offsets have gaps and the end offset can lie beyond the last readable record's offset + 1:
 * a reader cannot tell from the records alone that it has read everything below an end offset.
 * Also, a transaction's commit returns once the coordinator has decided, and the broker writes
 * the markers just after: for a moment the end offset (and read_committed readers) may not
 * include the transaction yet.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { TopicSpec } from '../transport';
import type { Outages } from './errors';
import { toOffset } from './records';

export class KafkaAdmin {
  private adminClient: Promise<Admin> | null = null;

  /**
   * @param replicationFactor for new topics; undefined: min(3, number of brokers).
   * @param checkOpen throws once the transport is closed.
   * @param outages every request (connecting included) is retried through a passing outage;
   *   kafkajs's admin gives up on some errors that pass, e.g. fetchOffsets on NOT_COORDINATOR
   *   while a fresh broker is still loading __consumer_offsets.
   */
  constructor(
    private readonly kafka: Kafka,
    private readonly replicationFactor: number | undefined,
    private readonly checkOpen: () => void,
    private readonly outages: Outages,
  ) {}

  ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    return this.outages.ride(() => this.ensureTopicsOnce(specs));
  }

  private async ensureTopicsOnce(specs: readonly TopicSpec[]): Promise<void> {
    const admin = await this.admin();
    const wanted = new Map(specs.map((spec) => [spec.name, spec]));
    const existing = new Set(await admin.listTopics());
    const missing = [...wanted.values()].filter((spec) => !existing.has(spec.name));
    if (missing.length === 0) return;
    const replicationFactor = this.replicationFactor ?? Math.min(3, (await admin.describeCluster()).brokers.length);
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions,
          replicationFactor,
          configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (error) {
      // Somebody else may have created some of them meanwhile (kafkajs only tolerates "already
      // exists" when it is the answer for every topic).
      const now = new Set(await admin.listTopics());
      if (!missing.every((spec) => now.has(spec.name))) throw error;
    }
  }

  endOffsets(topic: string): Promise<number[]> {
    return this.watermarks(topic, 'high', 'end');
  }

  startOffsets(topic: string): Promise<number[]> {
    return this.watermarks(topic, 'low', 'start');
  }

  async committedOffsets(group: string, topic: string): Promise<number[]> {
    const result = await this.request((admin) => admin.fetchOffsets({ groupId: group, topics: [topic] }));
    const partitions = result.find((entry) => entry.topic === topic)?.partitions ?? [];
    return [...partitions]
      .sort((a, b) => a.partition - b.partition)
      .map((entry) => {
        const offset = toOffset(entry.offset, `${group} ${topic}[${entry.partition}] committed`);
        return offset < 0 ? -1 : offset;
      });
  }

  async groupMembers(group: string): Promise<number> {
    const { groups } = await this.request((admin) => admin.describeGroups([group]));
    return groups.find((g) => g.groupId === group)?.members.length ?? 0;
  }

  async close(): Promise<void> {
    if (this.adminClient !== null) {
      const admin = await this.adminClient.catch(() => null);
      this.adminClient = null;
      await admin?.disconnect();
    }
  }

  /** Per partition, one watermark of the topic: `high` (end offsets) or `low` (start offsets). */
  private async watermarks(topic: string, which: 'high' | 'low', what: 'end' | 'start'): Promise<number[]> {
    const offsets = await this.request((admin) => admin.fetchTopicOffsets(topic));
    return offsets
      .sort((a, b) => a.partition - b.partition)
      .map((entry) => toOffset(entry[which], `${topic}[${entry.partition}] ${what}`));
  }

  private request<T>(call: (admin: Admin) => Promise<T>): Promise<T> {
    return this.outages.ride(async () => call(await this.admin()));
  }

  private admin(): Promise<Admin> {
    this.checkOpen();
    if (this.adminClient === null) {
      const admin = this.kafka.admin();
      this.adminClient = admin.connect().then(() => admin);
      this.adminClient.catch(() => {
        this.adminClient = null;
      });
    }
    return this.adminClient;
  }
}

/**
 * The Transport over a Kafka cluster, through kafkajs (2.2.x). Stages see only the interface in
 * ../transport; this folder keeps kafkajs's particulars away from them, one job a file:
 *
 * - ./records: offsets, values and headers between the interface and kafkajs;
 * - ./errors: which kafkajs errors pass (a broker restart) and the outage bound;
 * - ./admin: topics, watermarks, committed offsets and group members (and why end offsets are
 *   last stable offsets);
 * - ./producer: sends, split by ./request-chunks, and transactions;
 * - ./consumer-group: subscriptions (groups, rebalances, batches, positions, commits);
 * - ./logging: kafkajs's log lines without the routine ones;
 * - ./compression: the snappy, lz4 and zstd codecs kafkajs lacks, registered on construction;
 * - ./checksum: record batches checksummed natively instead of in JavaScript, set on construction.
 */
import { Kafka, logLevel, type CompressionTypes } from 'kafkajs';
import type { Producer, SubscribeOptions, Subscription, TopicSpec, Transport } from '../transport';
import { KafkaAdmin } from './admin';
import { useNativeChecksum } from './checksum';
import { compressionType, registerCompressionCodecs } from './compression';
import { subscribeConsumer, type ConsumerSettings, type KafkaSubscription } from './consumer-group';
import { Outages } from './errors';
import { logCreator } from './logging';
import { DEFAULT_BROKER_TIMEOUT_MS, DEFAULT_TUNING, type KafkaTransportOptions } from './options';
import { KafkaProducer } from './producer';
import { MAX_REQUEST_PAYLOAD_BYTES } from './request-chunks';

/** The Transport over Kafka; see the file comments of this folder for how kafkajs maps onto it. */
export class KafkaTransport implements Transport {
  private readonly kafka: Kafka;
  private readonly consumers: ConsumerSettings;
  private readonly admin: KafkaAdmin;
  private readonly compression: CompressionTypes;
  private readonly outages: Outages;
  private readonly maxBatchBytes: number;
  private readonly producers = new Set<KafkaProducer>();
  private readonly subscriptions = new Set<KafkaSubscription>();
  private closed = false;

  constructor(options: KafkaTransportOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaTransport needs at least one broker');
    registerCompressionCodecs();
    useNativeChecksum();
    this.compression = compressionType(options.compression ?? 'none');
    this.maxBatchBytes = Math.max(1, options.maxBatchBytes ?? MAX_REQUEST_PAYLOAD_BYTES);
    const clientId = options.clientId ?? 'vgmflow';
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const boundMs = options.brokerTimeoutMs ?? DEFAULT_BROKER_TIMEOUT_MS;
    if (!(boundMs > 0)) throw new RangeError(`brokerTimeoutMs must be positive (got ${boundMs})`);
    this.outages = new Outages(boundMs, options.brokers.join(','), log);
    this.kafka = new Kafka({
      ...(options.kafka ?? {}),
      brokers: [...options.brokers],
      clientId,
      logLevel: options.logLevel ?? logLevel.WARN,
      logCreator: logCreator(log),
    });
    this.consumers = {
      kafka: this.kafka,
      clientId,
      tuning: { ...DEFAULT_TUNING, ...(options.consumer ?? {}) },
      maxBatchRecords: Math.max(1, options.maxBatchRecords ?? 500),
      log,
      outages: this.outages,
    };
    this.admin = new KafkaAdmin(this.kafka, options.replicationFactor, () => this.checkOpen(), this.outages);
  }

  ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    return this.admin.ensureTopics(specs);
  }

  endOffsets(topic: string): Promise<number[]> {
    return this.admin.endOffsets(topic);
  }

  startOffsets(topic: string): Promise<number[]> {
    return this.admin.startOffsets(topic);
  }

  committedOffsets(group: string, topic: string): Promise<number[]> {
    return this.admin.committedOffsets(group, topic);
  }

  groupMembers(group: string): Promise<number> {
    return this.admin.groupMembers(group);
  }

  async producer(options: { readonly transactionalId?: string } = {}): Promise<Producer> {
    this.checkOpen();
    const producer = await KafkaProducer.create(this.kafka, options.transactionalId, this.compression, this.maxBatchBytes, this.outages, (p) => this.producers.delete(p));
    this.producers.add(producer);
    return producer;
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.checkOpen();
    return subscribeConsumer(
      this.consumers,
      options,
      (s) => this.subscriptions.add(s),
      (s) => this.subscriptions.delete(s),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.subscriptions].map((subscription) => subscription.stop()));
    await Promise.allSettled([...this.producers].map((producer) => producer.close()));
    await this.admin.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('the transport is closed');
  }
}

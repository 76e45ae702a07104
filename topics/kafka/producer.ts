/**
 * The Transport's producer over a kafkajs producer: sends (split into requests the broker
 * accepts) and transactions.
 *
 * - A transactional producer initialises its transactional id when created, fencing older
 *   producers with the same id and aborting their open transaction. Transactions of one producer
 *   run one after another. If a commit or abort fails half-way, the next transaction starts on a
 *   fresh kafkajs producer with the same id (kafkajs's own state machine would refuse it).
 * - Transactions commit offsets with TxnOffsetCommit without the consumer's generation (kafkajs
 *   has no KIP-447 group metadata): a zombie member is fenced by its transactional id, not by the
 *   group generation, so give each stage instance a stable transactional id.
 */
import {
  Partitioners,
  type CompressionTypes,
  type Kafka,
  type Producer as KafkaJsProducer,
  type Transaction as KafkaJsTransaction,
} from 'kafkajs';
import { serial } from '../../core/serial';
import type { OutRecord, Producer, Transaction } from '../transport';
import { offsetsByTopic, topicMessages } from './records';
import { chunkRecords } from './request-chunks';

/** In order, one request at a time: a partition's records keep their order. */
async function sendInRequests(sender: Pick<KafkaJsProducer, 'sendBatch'>, records: readonly OutRecord[], compression: CompressionTypes, maxBatchBytes: number): Promise<void> {
  if (records.length === 0) return;
  for (const chunk of chunkRecords(records, maxBatchBytes)) await sender.sendBatch({ topicMessages: topicMessages(chunk), acks: -1, compression });
}

export class KafkaProducer implements Producer {
  /** Transactions, one at a time. */
  private readonly transactions = serial();
  /** Set when a transaction ended in a state kafkajs cannot start the next one from. */
  private broken = false;
  private closed = false;

  private constructor(
    private readonly kafka: Kafka,
    private readonly transactionalId: string | undefined,
    private readonly compression: CompressionTypes,
    private readonly maxBatchBytes: number,
    private inner: KafkaJsProducer,
    private readonly onClose: (producer: KafkaProducer) => void,
  ) {}

  static async create(
    kafka: Kafka,
    transactionalId: string | undefined,
    compression: CompressionTypes,
    maxBatchBytes: number,
    onClose: (producer: KafkaProducer) => void,
  ): Promise<KafkaProducer> {
    const inner = await KafkaProducer.connect(kafka, transactionalId);
    return new KafkaProducer(kafka, transactionalId, compression, maxBatchBytes, inner, onClose);
  }

  private static async connect(kafka: Kafka, transactionalId: string | undefined): Promise<KafkaJsProducer> {
    const inner = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      // One request in flight per broker keeps a partition's records in order across retries.
      maxInFlightRequests: 1,
      ...(transactionalId === undefined ? {} : { transactionalId, idempotent: true }),
    });
    await inner.connect();
    if (transactionalId !== undefined) {
      try {
        // kafkajs initialises the transactional id lazily; an empty transaction does it now
        // (fencing older producers with the same id) and sends nothing.
        const tx = await inner.transaction();
        await tx.abort();
      } catch (error) {
        await inner.disconnect().catch(() => undefined);
        throw error;
      }
    }
    return inner;
  }

  async send(records: readonly OutRecord[]): Promise<void> {
    if (this.closed) throw new Error('producer is closed');
    await sendInRequests(this.inner, records, this.compression, this.maxBatchBytes);
  }

  transaction(work: (tx: Transaction) => Promise<void>): Promise<void> {
    return this.transactions.run(() => this.runTransaction(work));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.transactions.idle();
    this.onClose(this);
    await this.inner.disconnect();
  }

  private async runTransaction(work: (tx: Transaction) => Promise<void>): Promise<void> {
    if (this.transactionalId === undefined) {
      throw new Error('transaction() needs a producer created with a transactionalId');
    }
    if (this.closed) throw new Error('producer is closed');
    if (this.broken) {
      await this.inner.disconnect().catch(() => undefined);
      this.inner = await KafkaProducer.connect(this.kafka, this.transactionalId);
      this.broken = false;
    }
    const tx: KafkaJsTransaction = await this.inner.transaction();
    let ended = false;
    let failure: { error: unknown } | null = null;
    try {
      await work({
        send: (records) => sendInRequests(tx, records, this.compression, this.maxBatchBytes),
        sendOffsets: async (group, offsets) => {
          if (offsets.length === 0) return;
          await tx.sendOffsets({ consumerGroupId: group, topics: offsetsByTopic(offsets) });
        },
      });
      await tx.commit();
      ended = true;
    } catch (error) {
      failure = { error };
    }
    if (failure === null) return;
    if (!ended && tx.isActive()) {
      try {
        await tx.abort();
        ended = true;
      } catch {
        // Reported through the original error; the next transaction starts afresh.
      }
    }
    if (!ended) this.broken = true;
    throw failure.error;
  }
}

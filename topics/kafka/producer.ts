/**
 * The Transport's producer over a kafkajs producer: sends (split into requests the broker
 * accepts) and transactions.
 *
 * - A transactional producer initialises its transactional id when created, fencing older
 *   producers with the same id and aborting their open transaction. Transactions of one producer
 *   run one after another.
 * - A transaction that fails for a passing reason (the broker went away, a coordinator moved; see
 *   ./errors) is reported as TransactionInterruptedError, and only once it is over: when it was
 *   not cleanly aborted — e.g. the commit's answer was lost, so it may have committed — a fresh
 *   kafkajs producer initialises the same transactional id first, which the coordinator answers
 *   only after it has finished (committed or aborted) that transaction. So the group's committed
 *   offsets tell the caller afterwards whether the transaction's work is done. Passing failures
 *   that outlast the outage bound without a commit in between become BrokerUnavailableError.
 * - Any other failure of a commit or abort half-way also moves the next transaction to a fresh
 *   kafkajs producer with the same id (kafkajs's own state machine would refuse it). A fenced
 *   producer (a newer one has the same transactional id) fails for good: its errors do not pass,
 *   and initialising the id again would fence the newer one in turn.
 * - Transactions commit offsets with TxnOffsetCommit without the consumer's generation (kafkajs
 *   has no KIP-447 group metadata): a zombie member is fenced by its transactional id, not by the
 *   group generation, so give each stage instance a stable transactional id.
 * - A plain producer (no transactional id) is idempotent, so kafkajs's own retries of a request
 *   write its records once. When kafkajs gives up on a request for a passing reason, the request
 *   is sent again (as a new one) through the outage: it is written twice only if the broker had
 *   written it and the answer was lost. The fit's topics take duplicates (partials are keyed,
 *   broadcasts and model records are idempotent); `vgmflow produce` may then repeat a message.
 */
import {
  Partitioners,
  type CompressionTypes,
  type Kafka,
  type Producer as KafkaJsProducer,
  type Transaction as KafkaJsTransaction,
} from 'kafkajs';
import { serial } from '../../core/serial';
import { TransactionInterruptedError, type OutRecord, type Producer, type Transaction } from '../transport';
import { errorMessage, isPassing, Outages, sleep } from './errors';
import { offsetsByTopic, topicMessages } from './records';
import { chunkRecords } from './request-chunks';

/** In order, one request at a time: a partition's records keep their order. */
async function sendInRequests(sender: Pick<KafkaJsProducer, 'sendBatch'>, records: readonly OutRecord[], compression: CompressionTypes): Promise<void> {
  if (records.length === 0) return;
  for (const chunk of chunkRecords(records)) await sender.sendBatch({ topicMessages: topicMessages(chunk), acks: -1, compression });
}

export class KafkaProducer implements Producer {
  /** Transactions, one at a time. */
  private readonly transactions = serial();
  /** Set when a transaction ended in a state kafkajs cannot start the next one from. */
  private broken = false;
  private closed = false;
  /** When transactions started failing for passing reasons, since the last commit. */
  private failingSince: number | null = null;

  private constructor(
    private readonly kafka: Kafka,
    private readonly transactionalId: string | undefined,
    private readonly compression: CompressionTypes,
    private readonly outages: Outages,
    private inner: KafkaJsProducer,
    private readonly onClose: (producer: KafkaProducer) => void,
  ) {}

  static async create(
    kafka: Kafka,
    transactionalId: string | undefined,
    compression: CompressionTypes,
    outages: Outages,
    onClose: (producer: KafkaProducer) => void,
  ): Promise<KafkaProducer> {
    const inner = await outages.ride(() => KafkaProducer.connect(kafka, transactionalId));
    return new KafkaProducer(kafka, transactionalId, compression, outages, inner, onClose);
  }

  private static async connect(kafka: Kafka, transactionalId: string | undefined): Promise<KafkaJsProducer> {
    const inner = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      // One request in flight per broker keeps a partition's records in order across retries.
      maxInFlightRequests: 1,
      idempotent: true,
      ...(transactionalId === undefined ? {} : { transactionalId }),
    });
    try {
      await inner.connect();
      if (transactionalId !== undefined) {
        // kafkajs initialises the transactional id lazily; an empty transaction does it now
        // (fencing older producers with the same id) and sends nothing.
        const tx = await inner.transaction();
        await tx.abort();
      }
    } catch (error) {
      await inner.disconnect().catch(() => undefined);
      throw error;
    }
    return inner;
  }

  async send(records: readonly OutRecord[]): Promise<void> {
    if (this.closed) throw new Error('producer is closed');
    // Request by request, so that a retry sends again only what did not get through.
    for (const chunk of chunkRecords(records)) {
      await this.outages.ride(() => this.inner.sendBatch({ topicMessages: topicMessages(chunk), acks: -1, compression: this.compression }));
    }
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
    const started = Date.now();
    let ended = false;
    let failure: { error: unknown } | null = null;
    try {
      if (this.broken) await this.reconnect();
      const tx: KafkaJsTransaction = await this.inner.transaction();
      try {
        await work({
          send: (records) => sendInRequests(tx, records, this.compression),
          sendOffsets: async (group, offsets) => {
            if (offsets.length === 0) return;
            await tx.sendOffsets({ consumerGroupId: group, topics: offsetsByTopic(offsets) });
          },
        });
        await tx.commit();
        ended = true;
      } catch (error) {
        failure = { error };
        if (tx.isActive()) {
          try {
            await tx.abort();
            ended = true;
          } catch {
            // Reported through the original error; the transaction is finished below.
          }
        }
      }
    } catch (error) {
      // No transaction began (reconnecting or starting one failed): nothing to finish.
      failure = { error };
      ended = true;
    }
    if (failure === null) {
      this.failingSince = null;
      this.outages.answered();
      return;
    }
    if (!ended) this.broken = true;
    const { error } = failure;
    if (!isPassing(error)) throw error;
    this.failingSince ??= started;
    const giveUp = this.outages.failed(this.failingSince, error);
    if (giveUp !== null) throw giveUp;
    // The caller reads the committed offsets next to know what to redo; they are only final once
    // the coordinator has finished the transaction, which a fresh initialisation waits for.
    if (this.broken) await this.finishTransaction();
    this.outages.log(`[vgmflow] transaction of ${this.transactionalId} interrupted (${errorMessage(error)}); its work is redone`);
    throw new TransactionInterruptedError(`transaction of ${this.transactionalId} interrupted: ${errorMessage(error)}`, { cause: error });
  }

  /** A fresh kafkajs producer with the same transactional id (InitProducerId). */
  private async reconnect(): Promise<void> {
    await this.inner.disconnect().catch(() => undefined);
    this.inner = await KafkaProducer.connect(this.kafka, this.transactionalId);
    this.broken = false;
  }

  /** Reinitialises the transactional id through a passing outage (or gives up past the bound). */
  private async finishTransaction(): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.reconnect();
        return;
      } catch (error) {
        if (!isPassing(error)) throw error;
        const giveUp = this.outages.failed(this.failingSince ?? Date.now(), error);
        if (giveUp !== null) throw giveUp;
        await sleep(Outages.backoffMs(attempt));
      }
    }
  }
}

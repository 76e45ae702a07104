/**
 * The memory transport's producers: routing records to partitions, plain sends, and
 * transactions.
 *
 * - keyed records go to the partition Kafka's default partitioner picks (./partition-for-key);
 *   records without key or partition go round-robin (per producer and topic, starting at
 *   partition 0);
 * - a producer with a transactional id fences older producers with the same id: their next
 *   transaction fails;
 * - transactions are buffered and applied at once when `work` resolves, so no reader ever sees an
 *   open or aborted transaction (see ./transport for what follows);
 * - record values are copied when sent.
 */
import { serial } from '../../core/serial';
import { checkOffset } from '../offset-check';
import type { OutRecord, Producer, TopicPartitionOffset, Transaction } from '../transport';
import { partitionForKey } from './partition-for-key';
import type { Routed } from './topic-log';
import type { TopicStore } from './topic-store';

/** The epoch of each transactional id: a new producer with the id fences the older ones. */
export class ProducerEpochs {
  private readonly epochs = new Map<string, number>();

  next(transactionalId: string): number {
    const epoch = (this.epochs.get(transactionalId) ?? 0) + 1;
    this.epochs.set(transactionalId, epoch);
    return epoch;
  }

  isCurrent(transactionalId: string, epoch: number): boolean {
    return this.epochs.get(transactionalId) === epoch;
  }
}

/** `record` with its partition chosen; `counters` are the producer's round-robin counters per topic. */
function route(store: TopicStore, record: OutRecord, counters: Map<string, number>): Routed {
  store.checkOpen();
  const log = store.topic(record.topic);
  if (!(record.value instanceof Uint8Array)) {
    throw new TypeError(`record value for ${record.topic} must be a Uint8Array`);
  }
  let partition: number;
  if (record.partition !== undefined) {
    log.checkPartition(record.partition);
    partition = record.partition;
  } else if (record.key !== null) {
    partition = partitionForKey(record.key, log.partitions.length);
  } else {
    const next = counters.get(log.name) ?? 0;
    counters.set(log.name, next + 1);
    partition = next % log.partitions.length;
  }
  return {
    log,
    partition,
    key: record.key,
    value: new Uint8Array(record.value),
    headers: Object.freeze({ ...(record.headers ?? {}) }),
  };
}

export class MemoryProducer implements Producer {
  /** Round-robin counters per topic, for records with neither partition nor key. */
  private readonly counters = new Map<string, number>();
  /** Transactions, one at a time. */
  private readonly transactions = serial();
  private closed = false;

  constructor(
    private readonly store: TopicStore,
    private readonly epochs: ProducerEpochs,
    private readonly transactional: { readonly id: string; readonly epoch: number } | null,
  ) {}

  async send(records: readonly OutRecord[]): Promise<void> {
    if (this.closed) throw new Error('producer is closed');
    const routed = records.map((record) => route(this.store, record, this.counters));
    this.store.apply(routed, []);
  }

  transaction(work: (tx: Transaction) => Promise<void>): Promise<void> {
    return this.transactions.run(() => this.runTransaction(work));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.transactions.idle();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('producer is closed');
    if (this.transactional && !this.epochs.isCurrent(this.transactional.id, this.transactional.epoch)) {
      throw new Error(
        `producer fenced: a newer producer with transactional id "${this.transactional.id}" was created`,
      );
    }
  }

  private async runTransaction(work: (tx: Transaction) => Promise<void>): Promise<void> {
    if (this.transactional === null) {
      throw new Error('transaction() needs a producer created with a transactionalId');
    }
    this.checkOpen();
    const sends: Routed[] = [];
    const offsets: Array<{ group: string; offsets: TopicPartitionOffset[] }> = [];
    let open = true;
    const ended = (): Error => new Error('the transaction has ended');
    const tx: Transaction = {
      send: async (records) => {
        if (!open) throw ended();
        for (const record of records) sends.push(route(this.store, record, this.counters));
      },
      sendOffsets: async (group, list) => {
        if (!open) throw ended();
        for (const entry of list) {
          this.store.topic(entry.topic).checkPartition(entry.partition);
          checkOffset(entry.offset, 'committed offset');
        }
        offsets.push({ group, offsets: list.map((entry) => ({ ...entry })) });
      },
    };
    try {
      await work(tx);
    } finally {
      open = false;
    }
    this.checkOpen();
    this.store.apply(sends, offsets);
  }
}

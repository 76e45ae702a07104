/**
 * Topics as in-memory partitioned logs, for the embedded runner: every stage in one process,
 * talking through the same Transport interface as on Kafka (ARCHITECTURE.md, "Layers"). One job a file:
 *
 * - ./topic-store: the topics' logs and the groups' committed offsets (the broker's data);
 * - ./producer: routing by key as Kafka does (./partition-for-key), sends, transactions, fencing;
 * - ./consumer-group: subscriptions, consumer groups and their rebalances.
 *
 * What it mirrors from Kafka, so that stage code behaves the same on both, is told in those
 * files: contiguous offsets from 0, Kafka's key → partition mapping, groups that share
 * partitions and redeliver uncommitted progress after a rebalance, fencing by transactional id.
 *
 * Differences to keep in mind:
 * - transactions are buffered and applied at once when `work` resolves, so no reader ever sees an
 *   open or aborted transaction: `readCommitted: false` reads exactly what `true` reads. No
 *   transaction marker takes an offset either, so offsets have no gaps (on Kafka each committed
 *   or aborted transaction leaves a marker offset in every partition it wrote);
 * - record values are copied when sent but handed to every reader as the same Uint8Array: treat
 *   them as read-only;
 * - `seek` beyond the end offset waits there for records (Kafka would reset the position).
 */
import type { Producer, SubscribeOptions, Subscription, TopicSpec, Transport } from '../transport';
import { ConsumerGroups } from './consumer-group';
import { MemoryProducer, ProducerEpochs } from './producer';
import { TopicStore } from './topic-store';

/** The in-memory transport of the embedded runner; see the file comments of this folder for its semantics. */
export class MemoryTransport implements Transport {
  private readonly store = new TopicStore();
  private readonly epochs = new ProducerEpochs();
  private readonly groups = new ConsumerGroups(this.store);

  ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    return this.store.ensureTopics(specs);
  }

  endOffsets(topic: string): Promise<number[]> {
    return this.store.endOffsets(topic);
  }

  startOffsets(topic: string): Promise<number[]> {
    return this.store.startOffsets(topic);
  }

  committedOffsets(group: string, topic: string): Promise<number[]> {
    return this.store.committedOffsets(group, topic);
  }

  groupMembers(group: string): Promise<number> {
    return this.groups.groupMembers(group);
  }

  async producer(options: { readonly transactionalId?: string } = {}): Promise<Producer> {
    this.store.checkOpen();
    const id = options.transactionalId;
    if (id === undefined) return new MemoryProducer(this.store, this.epochs, null);
    return new MemoryProducer(this.store, this.epochs, { id, epoch: this.epochs.next(id) });
  }

  subscribe(options: SubscribeOptions): Promise<Subscription> {
    // Not async itself: an extra await here would let members that joined earlier run a few more
    // steps before this one joins (the contract tests' timings assume none).
    return this.groups.subscribe(options);
  }

  async close(): Promise<void> {
    this.store.close();
    await this.groups.stopAll();
  }
}

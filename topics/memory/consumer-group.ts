/**
 * The memory transport's subscriptions and consumer groups: the members of a group reading a
 * topic share its partitions, round-robin in the order they joined (partition p goes to member
 * p mod n); every join, stop or failure rebalances, and like Kafka's eager protocol a rebalance
 * first waits for the running eachBatch of every member, then restarts every assigned partition
 * at the group's committed offset (or at the earliest or latest offset where the group has none),
 * so uncommitted progress is redelivered, and calls onAssign on every member before it reads its
 * partitions. A broadcast subscription (no group) reads every partition from the start.
 *
 * Subscriptions never poll: each waits on a notification that appends, seeks, rebalances and
 * stop() send.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { serial } from '../../core/serial';
import { checkOffset } from '../offset-check';
import type { RecordBatch, SubscribeOptions, Subscription, TopicPartitionOffset } from '../transport';
import type { TopicLog, TopicReader } from './topic-log';
import type { TopicStore } from './topic-store';
import { Deferred, Signal } from './wake-ups';

/** At most this many records per eachBatch call. */
export const MAX_BATCH_RECORDS = 500;

/** The members of one group reading one topic. */
class Membership {
  readonly members: MemorySubscription[] = [];
  /** Rebalances run one after the other. */
  private readonly rebalances = serial();

  constructor(
    readonly group: string,
    readonly log: TopicLog,
  ) {}

  /**
   * Waits until no member runs a callback, then deals the partitions out round-robin in join
   * order. Resolves when every member has its new assignment (not when their onAssign ran).
   */
  rebalance(): Promise<void> {
    return this.rebalances.run(async () => {
      await Promise.all(this.members.map((member) => member.quiesce()));
      const members = [...this.members];
      const count = this.log.partitions.length;
      members.forEach((member, index) => {
        const owned: number[] = [];
        for (let p = index; p < count; p += members.length) owned.push(p);
        member.assign(owned);
      });
    });
  }
}

/** Which subscription's callback (eachBatch or onAssign) the current async context runs in. */
const inCallback = new AsyncLocalStorage<MemorySubscription>();

type SubscriptionState = 'running' | 'stopping' | 'stopped';

export class MemorySubscription implements Subscription, TopicReader {
  private readonly doneDeferred = new Deferred<void>();
  readonly done = this.doneDeferred.promise;
  private state: SubscriptionState = 'running';
  private failure: { error: unknown } | null = null;
  private readonly signal = new Signal();
  private readonly loop: Promise<void>;

  /** Next offset to read per assigned partition. */
  private positions = new Map<number, number>();
  private pendingAssignment: number[] | null = null;
  private readonly pendingSeeks = new Map<number, number>();
  private quiesceRequest: Deferred<void> | null = null;
  /** Where the search for a partition with records starts, so that partitions take turns. */
  private cursor = 0;

  constructor(
    private readonly store: TopicStore,
    readonly log: TopicLog,
    readonly membership: Membership | null,
    private readonly options: SubscribeOptions,
    private readonly onEnd: (subscription: MemorySubscription) => void,
  ) {
    log.readers.add(this);
    // The loop is not part of whatever callback created this subscription.
    this.loop = inCallback.exit(() => this.run());
  }

  wake(): void {
    this.signal.notify();
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const group = this.options.group;
    if (group === null) {
      throw new Error(`a broadcast subscription (of ${this.log.name}) has no group to commit offsets for`);
    }
    this.store.commitOffsets(group, offsets);
  }

  seek(partition: number, offset: number): void {
    this.log.checkPartition(partition);
    checkOffset(offset, 'seek offset');
    this.pendingSeeks.set(partition, offset);
    this.signal.notify();
  }

  async stop(): Promise<void> {
    if (this.state === 'running') {
      this.state = 'stopping';
      this.signal.notify();
    }
    // From inside our own eachBatch or onAssign, waiting for it to finish would never end.
    if (inCallback.getStore() === this) return;
    await this.loop;
  }

  /** Called by a rebalance: resolves when the loop is between callbacks and will wait. */
  quiesce(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve();
    if (this.quiesceRequest === null) this.quiesceRequest = new Deferred<void>();
    this.signal.notify();
    return this.quiesceRequest.promise;
  }

  /** Called by a rebalance with this member's partitions. */
  assign(partitions: number[]): void {
    this.pendingAssignment = partitions;
    this.quiesceRequest?.resolve();
    this.quiesceRequest = null;
    this.signal.notify();
  }

  private initialPosition(partition: number): number {
    const group = this.options.group;
    if (group !== null) {
      const committed = this.store.committedOffset(group, this.log.name, partition);
      if (committed >= 0) return committed;
      if (this.options.fromBeginning === false) return this.log.end(partition);
    }
    return 0;
  }

  private applySeeks(): void {
    for (const [partition, offset] of this.pendingSeeks) {
      if (this.positions.has(partition)) {
        this.positions.set(partition, offset);
        this.pendingSeeks.delete(partition);
      }
    }
  }

  /** The next partition (taking turns) with records at its position, and those records. */
  private nextBatch(): RecordBatch | null {
    const partitions = [...this.positions.keys()];
    for (let i = 0; i < partitions.length; i += 1) {
      const partition = partitions[(this.cursor + i) % partitions.length];
      const position = this.positions.get(partition) ?? 0;
      const records = this.log.partitions[partition];
      if (position < records.length) {
        this.cursor = (this.cursor + i + 1) % partitions.length;
        return {
          topic: this.log.name,
          partition,
          records: records.slice(position, position + MAX_BATCH_RECORDS),
        };
      }
    }
    return null;
  }

  private async callback(fn: () => void | Promise<void>): Promise<void> {
    await inCallback.run(this, async () => {
      await fn();
    });
  }

  private async run(): Promise<void> {
    // Let the constructor return (and subscribe register the member) before the first step.
    await Promise.resolve();
    try {
      while (this.state === 'running') {
        if (this.pendingAssignment !== null) {
          const partitions = this.pendingAssignment;
          this.pendingAssignment = null;
          const onAssign = this.options.onAssign;
          if (onAssign) await this.callback(() => onAssign([...partitions]));
          if (this.state !== 'running') break;
          this.positions = new Map(partitions.map((p) => [p, this.initialPosition(p)]));
          this.cursor = 0;
          continue;
        }
        if (this.quiesceRequest !== null) {
          this.quiesceRequest.resolve();
          await this.signal.wait();
          continue;
        }
        this.applySeeks();
        const batch = this.nextBatch();
        if (batch === null) {
          await this.signal.wait();
          continue;
        }
        await this.callback(() => this.options.eachBatch(batch));
        const last = batch.records[batch.records.length - 1];
        if (this.positions.has(batch.partition)) {
          this.positions.set(batch.partition, last.offset + 1);
          this.options.onPosition?.(batch.partition, last.offset + 1);
        }
      }
    } catch (error) {
      this.failure = { error };
    } finally {
      this.state = 'stopped';
      this.log.readers.delete(this);
      this.quiesceRequest?.resolve();
      this.quiesceRequest = null;
      this.onEnd(this);
      if (this.failure) this.doneDeferred.reject(this.failure.error);
      else this.doneDeferred.resolve();
    }
  }
}

/** Every subscription of one transport, and the groups they are members of. */
export class ConsumerGroups {
  private readonly memberships = new Map<string, Membership>();
  private readonly subscriptions = new Set<MemorySubscription>();

  constructor(private readonly store: TopicStore) {}

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.store.checkOpen();
    const log = this.store.topic(options.topic);
    let membership: Membership | null = null;
    if (options.group !== null) {
      const key = `${options.group}\u0000${options.topic}`;
      membership = this.memberships.get(key) ?? new Membership(options.group, log);
      this.memberships.set(key, membership);
    }
    const subscription = new MemorySubscription(this.store, log, membership, options, (s) => this.left(s));
    this.subscriptions.add(subscription);
    if (membership === null) {
      subscription.assign(log.partitions.map((_, p) => p));
      return subscription;
    }
    // Like a Kafka join: resolves once the member has its partitions; its onAssign follows.
    membership.members.push(subscription);
    const rebalanced = membership.rebalance();
    // A member of the same group subscribing from inside a callback would wait for itself.
    if (inCallback.getStore()?.membership !== membership) await rebalanced;
    return subscription;
  }

  async groupMembers(group: string): Promise<number> {
    let n = 0;
    for (const membership of this.memberships.values()) if (membership.group === group) n += membership.members.length;
    return n;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
  }

  /** A subscription ended (stopped or failed): the rest of its group takes over its partitions. */
  private left(subscription: MemorySubscription): void {
    this.subscriptions.delete(subscription);
    const membership = subscription.membership;
    if (membership === null) return;
    const index = membership.members.indexOf(subscription);
    if (index < 0) return;
    membership.members.splice(index, 1);
    void membership.rebalance();
  }
}

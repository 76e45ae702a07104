/**
 * Topics as in-memory partitioned logs, for the embedded runner: every stage in one process,
 * talking through the same Transport interface as on Kafka (DESIGN §4).
 *
 * What it mirrors from Kafka, so that stage code behaves the same on both:
 * - offsets start at 0 and are contiguous per partition (nothing is ever deleted, so the start
 *   offset of every partition stays 0);
 * - keyed records go to the partition Kafka's default partitioner picks (murmur2 of the key's
 *   UTF-8 bytes), so a key lands in the same partition here as on Kafka; records without key
 *   or partition go round-robin (per producer and topic, starting at partition 0);
 * - consumer groups: the members of a group reading a topic share its partitions, round-robin
 *   in the order they joined (partition p goes to member p mod n); every join, stop or failure
 *   rebalances, and like Kafka's eager protocol a rebalance first waits for the running eachBatch
 *   of every member, then restarts every assigned partition at the group's committed offset
 *   (or at the earliest or latest offset where the group has none), so uncommitted progress is
 *   redelivered, and calls onAssign on every member before it reads its partitions;
 * - a producer with a transactional id fences older producers with the same id: their next
 *   transaction fails.
 *
 * Differences to keep in mind:
 * - transactions are buffered and applied at once when `work` resolves, so no reader ever sees an
 *   open or aborted transaction: `readCommitted: false` reads exactly what `true` reads. No
 *   transaction marker takes an offset either, so offsets have no gaps (on Kafka each committed
 *   or aborted transaction leaves a marker offset in every partition it wrote);
 * - record values are copied when sent but handed to every reader as the same Uint8Array: treat
 *   them as read-only;
 * - `seek` beyond the end offset waits there for records (Kafka would reset the position).
 *
 * Subscriptions never poll: each waits on a notification that appends, seeks, rebalances and
 * stop() send.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type {
  InRecord,
  OutRecord,
  Producer,
  RecordBatch,
  SubscribeOptions,
  Subscription,
  TopicPartitionOffset,
  TopicSpec,
  Transaction,
  Transport,
} from './transport';

/** At most this many records per eachBatch call. */
export const MAX_BATCH_RECORDS = 500;

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Kafka's murmur2 (org.apache.kafka.common.utils.Utils#murmur2), as 32-bit signed int. The same
 * function kafkajs's DefaultPartitioner (the "Java compatible" one) uses.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length - (length % 4);
  for (let i = 0; i < whole; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length % 4;
  if (rest === 3) h ^= data[whole + 2] << 16;
  if (rest >= 2) h ^= data[whole + 1] << 8;
  if (rest >= 1) {
    h ^= data[whole];
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const utf8 = new TextEncoder();

/** The partition Kafka's default partitioner (and kafkajs's DefaultPartitioner) gives a key. */
export function partitionForKey(key: string, partitions: number): number {
  return (murmur2(utf8.encode(key)) & 0x7fffffff) % partitions;
}

/** A promise with its settle functions; never counts as an unhandled rejection. */
class Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;
  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.promise.catch(() => undefined);
  }
}

/** A wake-up call that is not lost when it comes before the wait. */
class Signal {
  private pending = false;
  private waiter: (() => void) | null = null;

  notify(): void {
    this.pending = true;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }

  async wait(): Promise<void> {
    if (!this.pending) {
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
    this.pending = false;
  }
}

function checkOffset(offset: number, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`${what} must be a non-negative integer (got ${offset})`);
  }
}

class TopicLog {
  readonly partitions: InRecord[][];
  /** Subscriptions reading this topic, notified on every append. */
  readonly readers = new Set<MemorySubscription>();

  constructor(readonly spec: TopicSpec) {
    this.partitions = Array.from({ length: spec.partitions }, () => []);
  }

  get name(): string {
    return this.spec.name;
  }

  checkPartition(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions.length) {
      throw new RangeError(`topic ${this.name} has no partition ${partition} (it has ${this.partitions.length})`);
    }
  }

  end(partition: number): number {
    return this.partitions[partition].length;
  }
}

/** A record routed to its partition, not yet appended. */
interface Routed {
  readonly log: TopicLog;
  readonly partition: number;
  readonly key: string | null;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

/** The members of one group reading one topic. */
class Membership {
  readonly members: MemorySubscription[] = [];
  /** Rebalances run one after the other. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly group: string,
    readonly log: TopicLog,
  ) {}

  /**
   * Waits until no member runs a callback, then deals the partitions out round-robin in join
   * order. Resolves when every member has its new assignment (not when their onAssign ran).
   */
  rebalance(): Promise<void> {
    const run = this.chain.then(async () => {
      await Promise.all(this.members.map((member) => member.quiesce()));
      const members = [...this.members];
      const count = this.log.partitions.length;
      members.forEach((member, index) => {
        const owned: number[] = [];
        for (let p = index; p < count; p += members.length) owned.push(p);
        member.assign(owned);
      });
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** Which subscription's callback (eachBatch or onAssign) the current async context runs in. */
const inCallback = new AsyncLocalStorage<MemorySubscription>();

type SubscriptionState = 'running' | 'stopping' | 'stopped';

class MemorySubscription implements Subscription {
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
    private readonly transport: MemoryTransport,
    readonly log: TopicLog,
    readonly membership: Membership | null,
    private readonly options: SubscribeOptions,
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
    this.transport.commitOffsets(group, offsets);
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
      const committed = this.transport.committedOffset(group, this.log.name, partition);
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
      this.transport.left(this);
      if (this.failure) this.doneDeferred.reject(this.failure.error);
      else this.doneDeferred.resolve();
    }
  }
}

class MemoryProducer implements Producer {
  /** Round-robin counters per topic, for records with neither partition nor key. */
  private readonly counters = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly transport: MemoryTransport,
    private readonly transactional: { readonly id: string; readonly epoch: number } | null,
  ) {}

  async send(records: readonly OutRecord[]): Promise<void> {
    if (this.closed) throw new Error('producer is closed');
    const routed = records.map((record) => this.transport.route(record, this.counters));
    this.transport.apply(routed, []);
  }

  transaction(work: (tx: Transaction) => Promise<void>): Promise<void> {
    const run = this.chain.then(() => this.runTransaction(work));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('producer is closed');
    if (this.transactional && !this.transport.isCurrentEpoch(this.transactional.id, this.transactional.epoch)) {
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
        for (const record of records) sends.push(this.transport.route(record, this.counters));
      },
      sendOffsets: async (group, list) => {
        if (!open) throw ended();
        for (const entry of list) {
          this.transport.topic(entry.topic).checkPartition(entry.partition);
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
    this.transport.apply(sends, offsets);
  }
}

/** The in-memory transport of the embedded runner; see the file comment for its semantics. */
export class MemoryTransport implements Transport {
  private readonly topics = new Map<string, TopicLog>();
  /** group → topic → partition → committed offset */
  private readonly committed = new Map<string, Map<string, Map<number, number>>>();
  private readonly memberships = new Map<string, Membership>();
  private readonly subscriptions = new Set<MemorySubscription>();
  private readonly epochs = new Map<string, number>();
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

  async groupMembers(group: string): Promise<number> {
    let n = 0;
    for (const membership of this.memberships.values()) if (membership.group === group) n += membership.members.length;
    return n;
  }

  async producer(options: { readonly transactionalId?: string } = {}): Promise<Producer> {
    this.checkOpen();
    const id = options.transactionalId;
    if (id === undefined) return new MemoryProducer(this, null);
    const epoch = (this.epochs.get(id) ?? 0) + 1;
    this.epochs.set(id, epoch);
    return new MemoryProducer(this, { id, epoch });
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.checkOpen();
    const log = this.topic(options.topic);
    let membership: Membership | null = null;
    if (options.group !== null) {
      const key = `${options.group}\u0000${options.topic}`;
      membership = this.memberships.get(key) ?? new Membership(options.group, log);
      this.memberships.set(key, membership);
    }
    const subscription = new MemorySubscription(this, log, membership, options);
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

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
  }

  // ---- used by producers and subscriptions ----

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

  isCurrentEpoch(transactionalId: string, epoch: number): boolean {
    return this.epochs.get(transactionalId) === epoch;
  }

  route(record: OutRecord, counters: Map<string, number>): Routed {
    this.checkOpen();
    const log = this.topic(record.topic);
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

  /** Appends records and stores offsets in one step: readers see all of it or none. */
  apply(records: readonly Routed[], offsets: ReadonlyArray<{ group: string; offsets: readonly TopicPartitionOffset[] }>): void {
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

  /** A subscription ended (stopped or failed): the rest of its group takes over its partitions. */
  left(subscription: MemorySubscription): void {
    this.subscriptions.delete(subscription);
    const membership = subscription.membership;
    if (membership === null) return;
    const index = membership.members.indexOf(subscription);
    if (index < 0) return;
    membership.members.splice(index, 1);
    void membership.rebalance();
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

  private checkOpen(): void {
    if (this.closed) throw new Error('the transport is closed');
  }
}

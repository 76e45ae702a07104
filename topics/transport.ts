/**
 * How stages talk to topics, whatever holds them: Kafka (kafka/) or
 * memory (memory/, the embedded runner). Stages see only this interface,
 * so the same stage code runs on both (ARCHITECTURE.md, "Layers").
 *
 * Offsets are plain numbers: Kafka's int64 offsets stay below 2^53 in practice, and
 * the Kafka transport checks it.
 */

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** Kafka topic configs, e.g. { 'cleanup.policy': 'compact' }. */
  readonly config: Readonly<Record<string, string>>;
}

export interface OutRecord {
  readonly topic: string;
  /** Explicit partition; omitted: chosen from the key (or round-robin without one). */
  readonly partition?: number;
  readonly key: string | null;
  readonly value: Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface InRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read (Kafka's committed-offset convention). */
  readonly offset: number;
}

/**
 * The brokers stayed away (or kept failing with errors that usually pass, such as a coordinator
 * that is not ready) for longer than the transport's outage bound. Not worth retrying: the
 * process cannot go on, and the message says why in one line.
 */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
}

/**
 * A transaction failed for a reason that passes (a broker restart, a coordinator move) and is
 * over: it either committed entirely or not at all, and the consumer offsets it was to commit
 * say which. Redo the work from the group's committed offsets; the next transaction on the same
 * producer may go ahead.
 */
export class TransactionInterruptedError extends Error {
  override readonly name = 'TransactionInterruptedError';
}

export interface Transaction {
  send(records: readonly OutRecord[]): Promise<void>;
  /** Commits these consumer offsets for `group` as part of the transaction. */
  sendOffsets(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
}

export interface Producer {
  /**
   * Sends, retrying through a passing outage for up to the transport's outage bound (then
   * BrokerUnavailableError). At least once: a record the broker took just before its answer
   * was lost may be written twice. Use a transaction for exactly once.
   */
  send(records: readonly OutRecord[]): Promise<void>;
  /**
   * Runs `work` in a transaction: everything it sends and the offsets it commits
   * become visible together, or not at all if it throws (the error is rethrown).
   * Needs a producer created with a transactional id. Rejects with
   * TransactionInterruptedError when the transaction failed for a passing reason (and is over,
   * one way or the other), with BrokerUnavailableError once such failures outlast the outage
   * bound.
   */
  transaction(work: (tx: Transaction) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export interface RecordBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly InRecord[];
}

export interface SubscribeOptions {
  readonly topic: string;
  /**
   * A consumer group shares the topic's partitions among its members and resumes from
   * committed offsets. null: a broadcast reader that gets every partition from the start.
   */
  readonly group: string | null;
  /** Where a group without committed offsets starts. Default: the earliest offset. */
  readonly fromBeginning?: boolean;
  /** Skip records of aborted or open transactions (Kafka's read_committed). Default true. */
  readonly readCommitted?: boolean;
  /**
   * Called with the partitions this member now owns, after every (re)assignment and
   * before records of new partitions arrive.
   */
  readonly onAssign?: (partitions: readonly number[]) => void | Promise<void>;
  /**
   * Called for each batch of one partition, in offset order. A group member's offsets
   * are committed only through a transaction's sendOffsets or `commit` below.
   * Throwing stops the subscription (and is reported by `done`).
   */
  readonly eachBatch: (batch: RecordBatch) => Promise<void>;
  /**
   * Called when this member's read position on a partition moves: after `eachBatch` returned
   * for its records, and past records that are never handed over (Kafka's transaction
   * markers, records of aborted transactions). `nextOffset` is the next offset to read, so a
   * position at the partition's end offset means the member has read everything in it; unlike
   * committed offsets, it also counts the trailing commit markers of a transactional topic.
   */
  readonly onPosition?: (partition: number, nextOffset: number) => void;
}

export interface Subscription {
  /** Commits offsets for the group outside a transaction. */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Re-reads a partition from `offset` (e.g. from the start, to rebuild state). */
  seek(partition: number, offset: number): void;
  /** Resolves when stopped; rejects if `eachBatch` threw. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export interface Transport {
  /** Creates the topics that are missing, with their partition counts and configs. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  /** Per partition, the offset after the last readable record (high watermark). */
  endOffsets(topic: string): Promise<number[]>;
  /** Per partition, the first offset still held (low watermark). */
  startOffsets(topic: string): Promise<number[]>;
  /** Per partition, the group's committed offset, or -1 where it has none. */
  committedOffsets(group: string, topic: string): Promise<number[]>;
  /** How many consumers are members of the group now (0 when it is empty or unknown). */
  groupMembers(group: string): Promise<number>;
  producer(options?: { readonly transactionalId?: string }): Promise<Producer>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  close(): Promise<void>;
}

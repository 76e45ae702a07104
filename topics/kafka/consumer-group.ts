/**
 * The Transport's subscriptions over kafkajs consumers: group membership, batches, positions,
 * seeks and commits.
 *
 * - A subscription is one kafkajs consumer with its own connections. A broadcast subscription is a
 *   consumer group of its own (`<clientId>-broadcast-<random>`) that reads from the beginning and
 *   never commits. Offsets are never auto-committed: only `commit` and transactions' sendOffsets.
 * - After every rebalance, kafkajs restarts each assigned partition at the group's committed
 *   offset (uncommitted progress is redelivered), and onAssign runs before any batch is handed
 *   over (eachBatch waits for it).
 * - `commit` during a rebalance (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID) is
 *   logged and dropped instead of failing: the records since the last commit are redelivered to
 *   the partition's next owner, as after any rebalance. Transactions' sendOffsets are not tied to
 *   the group generation (see ./producer) and do not fail this way.
 * - eachBatch gets at most `maxBatchRecords` records at a time (a kafkajs fetch can hold more); its
 *   errors are not retried by kafkajs: the subscription stops and `done` rejects. A consumer crash
 *   that kafkajs does not restart by itself rejects `done` too; a retriable one (the broker went
 *   away) is logged and kafkajs restarts the consumer, which rejoins its group.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { serial } from '../../core/serial';
import { checkOffset } from '../offset-check';
import type { InRecord, SubscribeOptions, Subscription, TopicPartitionOffset } from '../transport';
import { LOST_GENERATION, protocolErrorType } from './errors';
import type { ConsumerTuning } from './options';
import { toInRecord } from './records';

/** Which subscription's callback (eachBatch or onAssign) the current async context runs in. */
const inCallback = new AsyncLocalStorage<KafkaSubscription>();

export class KafkaSubscription implements Subscription {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (error: unknown) => void;
  private failure: { error: unknown } | null = null;
  private stopping: Promise<void> | null = null;
  /** onAssign calls, in the order of the group joins; batches wait for it. */
  private readonly assignments = serial();

  constructor(
    private readonly consumer: Consumer,
    private readonly options: SubscribeOptions,
    private readonly maxBatchRecords: number,
    private readonly log: (line: string) => void,
    private readonly onEnd: (subscription: KafkaSubscription) => void,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
  }

  async start(): Promise<void> {
    const { topic } = this.options;
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      const partitions = [...(event.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
      const onAssign = this.options.onAssign;
      if (onAssign === undefined) return;
      void this.assignments.run(async () => {
        await this.callback(() => onAssign(partitions));
      });
    });
    // A fetch of nothing but transaction markers or aborted records never reaches handleBatch;
    // kafkajs still moves past it and says so here (batchSize counts the records handed over).
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, (event) => {
      const onPosition = this.options.onPosition;
      const { partition, batchSize, lastOffset } = event.payload;
      if (onPosition === undefined || batchSize !== 0) return;
      const next = Number(lastOffset) + 1;
      void this.callback(() => onPosition(partition, next));
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      if (restart) {
        this.log(`[vgmflow] consumer of ${topic} (group ${event.payload.groupId}) crashed and restarts: ${error.message}`);
      } else {
        this.fail(error);
      }
    });
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({ topic, fromBeginning: this.options.group === null || this.options.fromBeginning !== false });
      // Resolves once the consumer has joined its group (GROUP_JOIN has been emitted, so onAssign
      // has been scheduled).
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: Math.max(1, this.options.partitionsAtOnce ?? 1),
        eachBatch: (payload) => this.handleBatch(payload),
      });
    } catch (error) {
      await this.consumer.disconnect().catch(() => undefined);
      this.onEnd(this);
      throw error;
    }
    // onAssign runs on its own (it may use this subscription); batches wait for it.
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (this.options.group === null) {
      throw new Error(`a broadcast subscription (of ${this.options.topic}) has no group to commit offsets for`);
    }
    for (const { offset } of offsets) checkOffset(offset, 'committed offset');
    try {
      await this.consumer.commitOffsets(
        offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) })),
      );
    } catch (error) {
      // The group moved on (a rebalance): the partitions restart from the last commit that got
      // through, at whichever member owns them now. Only redelivery follows, as after any
      // rebalance, so this is not worth stopping the subscription for.
      const type = protocolErrorType(error);
      if (type === undefined || !LOST_GENERATION.has(type)) throw error;
      this.log(`[vgmflow] offsets of ${this.options.topic} not committed for group ${this.options.group} (${type}); they will be redelivered`);
    }
  }

  seek(partition: number, offset: number): void {
    if (!Number.isInteger(partition) || partition < 0) throw new RangeError(`no partition ${partition}`);
    checkOffset(offset, 'seek offset');
    this.consumer.seek({ topic: this.options.topic, partition, offset: String(offset) });
  }

  async stop(): Promise<void> {
    const stopping = this.shutdown();
    // kafkajs waits for the running eachBatch to return: from inside it, that would never happen.
    if (inCallback.getStore() === this) return;
    await stopping;
  }

  private shutdown(): Promise<void> {
    if (this.stopping === null) {
      this.stopping = (async () => {
        try {
          await this.consumer.disconnect();
        } catch (error) {
          this.failure ??= { error };
        } finally {
          this.onEnd(this);
          if (this.failure) this.rejectDone(this.failure.error);
          else this.resolveDone();
        }
      })();
    }
    return this.stopping;
  }

  private fail(error: unknown): void {
    if (this.failure !== null || this.stopping !== null) return;
    this.failure = { error };
    void this.shutdown();
  }

  private get active(): boolean {
    return this.failure === null && this.stopping === null;
  }

  /** Runs a user callback; its error stops the subscription. Resolves whether or not it threw. */
  private async callback(fn: () => void | Promise<void>): Promise<boolean> {
    if (!this.active) return false;
    try {
      await inCallback.run(this, async () => {
        await fn();
      });
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    await this.assignments.idle();
    const { topic, partition, messages } = batch;
    for (let start = 0; start < messages.length; start += this.maxBatchRecords) {
      // A seek of this partition (maybe by onAssign) makes the rest of the fetch stale.
      if (!this.active || !isRunning() || isStale()) return;
      const chunk = messages.slice(start, start + this.maxBatchRecords);
      let records: InRecord[];
      try {
        records = chunk.map((message) => toInRecord(topic, partition, message));
      } catch (error) {
        // Not for kafkajs to retry (it would restart the consumer over and over).
        this.fail(error);
        return;
      }
      const ok = await this.callback(() => this.options.eachBatch({ topic, partition, records }));
      if (!ok) return;
      // For the last message of the fetch, kafkajs resolves past trailing transaction markers.
      if (!isStale()) resolveOffset(chunk[chunk.length - 1].offset);
      await heartbeat();
    }
    // The whole fetch is handled: the position is past it, trailing transaction markers included.
    const onPosition = this.options.onPosition;
    if (onPosition !== undefined && this.active && isRunning() && !isStale()) {
      const next = Number(batch.lastOffset()) + 1;
      await this.callback(() => onPosition(partition, next));
    }
  }
}

/** What every subscription of one transport shares. */
export interface ConsumerSettings {
  readonly kafka: Kafka;
  readonly clientId: string;
  readonly tuning: ConsumerTuning;
  readonly maxBatchRecords: number;
  readonly log: (line: string) => void;
}

/**
 * A kafkajs consumer for `options`, started: resolves once it has joined its group. `onEnd` is
 * told when the subscription ends (stopped, failed, or failed to start).
 */
export async function subscribeConsumer(
  settings: ConsumerSettings,
  options: SubscribeOptions,
  onStart: (subscription: KafkaSubscription) => void,
  onEnd: (subscription: KafkaSubscription) => void,
): Promise<KafkaSubscription> {
  const { tuning } = settings;
  const broadcast = options.group === null;
  const groupId = options.group ?? `${settings.clientId}-broadcast-${randomBytes(6).toString('hex')}`;
  const consumer = settings.kafka.consumer({
    groupId,
    sessionTimeout: tuning.sessionTimeout,
    heartbeatInterval: tuning.heartbeatInterval,
    rebalanceTimeout: tuning.rebalanceTimeout,
    maxWaitTimeInMs: tuning.maxWaitTimeInMs,
    ...(tuning.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: tuning.maxBytesPerPartition }),
    ...(tuning.maxBytes === undefined ? {} : { maxBytes: tuning.maxBytes }),
    readUncommitted: options.readCommitted === false,
    allowAutoTopicCreation: false,
  });
  const subscription = new KafkaSubscription(
    consumer,
    broadcast ? { ...options, fromBeginning: true } : options,
    settings.maxBatchRecords,
    settings.log,
    onEnd,
  );
  onStart(subscription);
  await subscription.start();
  return subscription;
}

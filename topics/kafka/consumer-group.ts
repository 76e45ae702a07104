/**
 * The Transport's subscriptions over kafkajs consumers: group membership, batches, positions,
 * seeks and commits, and riding out a broker that goes away.
 *
 * - A subscription is one kafkajs consumer at a time, with its own connections. A broadcast
 *   subscription is a consumer group of its own (`<clientId>-broadcast-<random>`) that reads from
 *   the beginning and never commits. Offsets are never auto-committed: only `commit` and
 *   transactions' sendOffsets.
 * - After every rebalance, kafkajs restarts each assigned partition of a group subscription at the
 *   group's committed offset (uncommitted progress is redelivered), and onAssign runs before any
 *   batch is handed over (eachBatch waits for it). A broadcast subscription instead resumes where
 *   it was: it has no committed offsets, and would otherwise read everything again after the
 *   rejoin a coordinator move forces.
 * - `commit` during a rebalance (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID) or an
 *   outage is logged and dropped instead of failing: the records since the last commit are
 *   redelivered to the partition's next owner, as after any rebalance. Transactions' sendOffsets
 *   are not tied to the group generation (see ./producer) and do not fail this way.
 * - eachBatch gets at most `maxBatchRecords` records at a time (a kafkajs fetch can hold more); its
 *   errors are not retried: the subscription stops and `done` rejects.
 * - A consumer crash (kafkajs gave up on a request) with an error that passes (./errors: the broker
 *   went away, a coordinator moved) is ridden out here, not by kafkajs: after a backoff a fresh
 *   consumer rejoins the group, as after a rebalance. When such crashes go on for longer than the
 *   outage bound without a join in between, or the crash is of another kind, `done` rejects
 *   (BrokerUnavailableError for the former). kafkajs's own restarts are off because a consumer it
 *   restarts cannot be stopped reliably: its runner ignores a stop while it is connecting or
 *   joining, then fetches for ever — a stopped stage that kept its process alive.
 * - For the same reason, stop waits for a consumer that is still connecting or joining to settle
 *   (joined, or crashed) before it disconnects it.
 * - Nothing waits for ever: a consumer that has neither joined nor crashed after the outage bound,
 *   or a stop that has not settled after it, fails the subscription with BrokerUnavailableError.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { serial } from '../../core/serial';
import { checkOffset } from '../offset-check';
import { BrokerUnavailableError, type InRecord, type SubscribeOptions, type Subscription, type TopicPartitionOffset } from '../transport';
import { errorMessage, isPassing, LOST_GENERATION, Outages, protocolErrorType } from './errors';
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
  /** The kafkajs consumer in use; a passing crash replaces it with a fresh one. */
  private consumer: Consumer | null = null;
  /** Whether the consumer in use has joined its group (and not crashed since). */
  private joined = false;
  /** The current consumer's connect, subscribe and run (which joins), until it settles. */
  private starting: Promise<void> | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  /** Fails the subscription when the consumer in use neither joins nor crashes in time. */
  private joinTimer: NodeJS.Timeout | null = null;
  /** When the current run of passing crashes began (null: the consumer is fine). */
  private crashedSince: number | null = null;
  private restarts = 0;
  private firstJoin!: () => void;
  private readonly joinedOnce: Promise<void>;
  /** Broadcast only: seeks asked for that no batch has shown in effect yet; a rejoin redoes them. */
  private readonly seeks = new Map<number, number>();
  /** Broadcast only: per partition, the next offset to read; a rejoin resumes there. */
  private readonly positions = new Map<number, number>();

  constructor(
    private readonly makeConsumer: () => Consumer,
    readonly groupId: string,
    private readonly options: SubscribeOptions,
    private readonly maxBatchRecords: number,
    private readonly log: (line: string) => void,
    private readonly outages: Outages,
    private readonly onEnd: (subscription: KafkaSubscription) => void,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
    this.joinedOnce = new Promise<void>((resolve) => (this.firstJoin = resolve));
  }

  private get broadcast(): boolean {
    return this.options.group === null;
  }

  /** Resolves once the consumer has joined its group (onAssign is then scheduled). */
  async start(): Promise<void> {
    this.launch();
    const failedFirst = this.done.then(
      () => Promise.reject(new Error(`the subscription to ${this.options.topic} stopped before it joined its group`)),
      (error: unknown) => Promise.reject(error),
    );
    failedFirst.catch(() => undefined);
    await Promise.race([this.joinedOnce, failedFirst]);
    // onAssign runs on its own (it may use this subscription); batches wait for it.
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (this.broadcast) {
      throw new Error(`a broadcast subscription (of ${this.options.topic}) has no group to commit offsets for`);
    }
    for (const { offset } of offsets) checkOffset(offset, 'committed offset');
    const consumer = this.consumer;
    try {
      if (consumer === null || !this.joined) throw new Error('the consumer is rejoining its group');
      await consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) })));
    } catch (error) {
      // The group moved on (a rebalance), or the broker went away: the partitions restart from the
      // last commit that got through, at whichever member owns them now. Only redelivery follows,
      // as after any rebalance, so this is not worth stopping the subscription for.
      const type = protocolErrorType(error);
      const rejoining = consumer === null || consumer !== this.consumer || !this.joined;
      if (!rejoining && !isPassing(error) && (type === undefined || !LOST_GENERATION.has(type))) throw error;
      this.log(
        `[vgmflow] offsets of ${this.options.topic} not committed for group ${this.options.group} (${type ?? errorMessage(error)}); they will be redelivered`,
      );
    }
  }

  seek(partition: number, offset: number): void {
    if (!Number.isInteger(partition) || partition < 0) throw new RangeError(`no partition ${partition}`);
    checkOffset(offset, 'seek offset');
    if (this.broadcast) this.seeks.set(partition, offset);
    const consumer = this.consumer;
    if (consumer === null || !this.joined) return; // the next join starts the partition anew
    try {
      consumer.seek({ topic: this.options.topic, partition, offset: String(offset) });
    } catch (error) {
      // Only a consumer that has just crashed refuses (its group is gone); the rejoin restarts
      // the partition (a broadcast at this seek).
      if (consumer === this.consumer && this.joined) throw error;
    }
  }

  async stop(): Promise<void> {
    const stopping = this.shutdown();
    // kafkajs waits for the running eachBatch to return: from inside it, that would never happen.
    if (inCallback.getStore() === this) return;
    await stopping;
  }

  /** Starts a fresh kafkajs consumer; its crashes and joins are handled by the listeners. */
  private launch(): void {
    const consumer = this.makeConsumer();
    this.consumer = consumer;
    this.joined = false;
    this.listen(consumer);
    this.armJoinTimer(consumer);
    const { topic } = this.options;
    const run = (async () => {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: this.broadcast || this.options.fromBeginning !== false });
      // Resolves once the consumer has joined its group, or after a failed join has crashed it.
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: Math.max(1, this.options.partitionsAtOnce ?? 1),
        eachBatch: (payload) => this.handleBatch(payload),
      });
    })();
    this.starting = run.then(
      () => undefined,
      async (error: unknown) => {
        // Connecting failed (a failed join crashes the consumer instead: see the CRASH listener).
        await consumer.disconnect().catch(() => undefined);
        if (consumer === this.consumer) this.crashed(error);
      },
    );
  }

  private listen(consumer: Consumer): void {
    const { topic } = this.options;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      if (consumer !== this.consumer || !this.active) return;
      const partitions = [...(event.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
      this.joined = true;
      this.clearJoinTimer();
      if (this.crashedSince !== null) {
        this.log(`[vgmflow] consumer of ${topic} (group ${this.groupId}) rejoined after ${((Date.now() - this.crashedSince) / 1000).toFixed(1)} s`);
        this.crashedSince = null;
        this.restarts = 0;
      }
      this.outages.answered();
      this.resume(consumer, partitions);
      this.firstJoin();
      const onAssign = this.options.onAssign;
      if (onAssign === undefined) return;
      void this.assignments.run(async () => {
        await this.callback(() => onAssign(partitions));
      });
    });
    // A fetch of nothing but transaction markers or aborted records never reaches handleBatch;
    // kafkajs still moves past it and says so here (batchSize counts the records handed over).
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      if (consumer !== this.consumer) return;
      const { partition, batchSize, lastOffset } = event.payload;
      if (batchSize !== 0) return;
      const next = Number(lastOffset) + 1;
      this.moved(partition, next);
      const onPosition = this.options.onPosition;
      if (onPosition !== undefined) void this.callback(() => onPosition(partition, next));
    });
    // kafkajs has disconnected the consumer when it says so.
    consumer.on(consumer.events.CRASH, (event) => {
      if (consumer === this.consumer) this.crashed(event.payload.error);
    });
  }

  /** A broadcast's rejoin starts where it was (kafkajs would start from the beginning again). */
  private resume(consumer: Consumer, partitions: readonly number[]): void {
    if (!this.broadcast) {
      this.seeks.clear();
      return;
    }
    for (const partition of partitions) {
      const offset = this.seeks.get(partition) ?? this.positions.get(partition);
      if (offset !== undefined) consumer.seek({ topic: this.options.topic, partition, offset: String(offset) });
    }
  }

  private moved(partition: number, next: number): void {
    if (this.broadcast && next > (this.positions.get(partition) ?? -1)) this.positions.set(partition, next);
  }

  private crashed(error: unknown): void {
    this.joined = false;
    this.clearJoinTimer();
    if (!this.active) return;
    if (!isPassing(error)) {
      this.fail(error);
      return;
    }
    if (this.crashedSince === null) {
      this.crashedSince = Date.now();
      this.log(`[vgmflow] consumer of ${this.options.topic} (group ${this.groupId}) lost its broker (${errorMessage(error)}); it rejoins when Kafka answers`);
    }
    const giveUp = this.outages.failed(this.crashedSince, error);
    if (giveUp !== null) {
      this.fail(giveUp);
      return;
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.active) this.launch();
    }, Outages.backoffMs(this.restarts++));
  }

  private shutdown(): Promise<void> {
    if (this.stopping === null) {
      this.stopping = (async () => {
        if (this.restartTimer !== null) clearTimeout(this.restartTimer);
        this.restartTimer = null;
        this.clearJoinTimer();
        try {
          await this.withinBound(
            (async () => {
              // kafkajs's runner ignores a stop while it connects or joins, and then runs on.
              await this.starting;
              await this.consumer?.disconnect();
            })(),
            'did not stop',
          );
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

  /**
   * A join is bounded by the outage bound: kafkajs retries a join that fails, and crashes the
   * consumer when it gives up (then the crash rules apply), but a join that neither completes
   * nor fails (seen under load on the local broker, rarely) would leave start() waiting for ever.
   */
  private armJoinTimer(consumer: Consumer): void {
    this.clearJoinTimer();
    const boundMs = this.outages.boundMs;
    this.joinTimer = setTimeout(() => {
      this.joinTimer = null;
      if (consumer !== this.consumer || this.joined || !this.active) return;
      const message = `the consumer of ${this.options.topic} (group ${this.groupId}) did not join its group within ${Math.round(boundMs / 1000)} s`;
      this.log(`[vgmflow] ${message}`);
      this.fail(new BrokerUnavailableError(message));
    }, boundMs);
    this.joinTimer.unref();
  }

  private clearJoinTimer(): void {
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    this.joinTimer = null;
  }

  /**
   * kafkajs's disconnect waits for the running eachBatch call and for the fetch in flight; a stop
   * that has not settled after the outage bound is reported as a failure (the consumer is left to
   * the process's exit) rather than waited on for ever.
   */
  private async withinBound(work: Promise<void>, what: string): Promise<void> {
    const boundMs = this.outages.boundMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const message = `the consumer of ${this.options.topic} (group ${this.groupId}) ${what} within ${Math.round(boundMs / 1000)} s`;
        this.log(`[vgmflow] ${message}`);
        reject(new BrokerUnavailableError(message));
      }, boundMs);
      timer.unref();
    });
    try {
      await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
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
      // Not stale: any seek asked for has taken effect.
      this.seeks.delete(partition);
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
      if (!isStale()) {
        resolveOffset(chunk[chunk.length - 1].offset);
        this.moved(partition, Number(chunk[chunk.length - 1].offset) + 1);
      }
      await heartbeat();
    }
    // The whole fetch is handled: the position is past it, trailing transaction markers included.
    if (this.active && isRunning() && !isStale()) {
      const next = Number(batch.lastOffset()) + 1;
      this.moved(partition, next);
      const onPosition = this.options.onPosition;
      if (onPosition !== undefined) await this.callback(() => onPosition(partition, next));
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
  readonly outages: Outages;
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
  const makeConsumer = (): Consumer =>
    settings.kafka.consumer({
      groupId,
      sessionTimeout: tuning.sessionTimeout,
      heartbeatInterval: tuning.heartbeatInterval,
      rebalanceTimeout: tuning.rebalanceTimeout,
      maxWaitTimeInMs: tuning.maxWaitTimeInMs,
      ...(tuning.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: tuning.maxBytesPerPartition }),
      ...(tuning.maxBytes === undefined ? {} : { maxBytes: tuning.maxBytes }),
      readUncommitted: options.readCommitted === false,
      allowAutoTopicCreation: false,
      // The subscription restarts a crashed consumer itself (see the file comment).
      retry: { restartOnFailure: async () => false },
    });
  const subscription = new KafkaSubscription(
    makeConsumer,
    groupId,
    broadcast ? { ...options, fromBeginning: true } : options,
    settings.maxBatchRecords,
    settings.log,
    settings.outages,
    onEnd,
  );
  onStart(subscription);
  await subscription.start();
  return subscription;
}

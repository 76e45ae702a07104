/**
 * The Transport over a Kafka cluster, through kafkajs (2.2.x). Stages see only the interface in
 * ./transport; this file keeps kafkajs's particulars away from them:
 *
 * - Offsets are numbers; a partition offset of 2^53 or more is reported as an error.
 * - Values arrive as plain Uint8Array views (not Buffers) and a null (tombstone) value as an
 *   empty array; of a header sent several times, the last value wins.
 * - endOffsets are what a read_committed reader can reach: kafkajs's admin asks ListOffsets with
 *   read_committed isolation, so it returns the last stable offset (the high watermark when no
 *   transaction is open). Each ended transaction leaves a marker offset behind in every partition
 *   it wrote (and an aborted one its invisible records too), so with transactional producers
 *   offsets have gaps and the end offset can lie beyond the last readable record's offset + 1:
 *   a reader cannot tell from the records alone that it has read everything below an end offset.
 *   Also, a transaction's commit returns once the coordinator has decided, and the broker writes
 *   the markers just after: for a moment the end offset (and read_committed readers) may not
 *   include the transaction yet.
 * - A subscription is one kafkajs consumer with its own connections. A broadcast subscription is a
 *   consumer group of its own (`<clientId>-broadcast-<random>`) that reads from the beginning and
 *   never commits. Offsets are never auto-committed: only `commit` and transactions' sendOffsets.
 * - After every rebalance, kafkajs restarts each assigned partition at the group's committed
 *   offset (uncommitted progress is redelivered), and onAssign runs before any batch is handed
 *   over (eachBatch waits for it).
 * - `commit` during a rebalance (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID) is
 *   logged and dropped instead of failing: the records since the last commit are redelivered to
 *   the partition's next owner, as after any rebalance. Transactions' sendOffsets are not tied to
 *   the group generation (see below) and do not fail this way.
 * - eachBatch gets at most `maxBatchRecords` records at a time (a kafkajs fetch can hold more); its
 *   errors are not retried by kafkajs: the subscription stops and `done` rejects. A consumer crash
 *   that kafkajs does not restart by itself rejects `done` too; a retriable one (the broker went
 *   away) is logged and kafkajs restarts the consumer, which rejoins its group.
 * - A transactional producer initialises its transactional id when created, fencing older
 *   producers with the same id and aborting their open transaction. Transactions of one producer
 *   run one after another. If a commit or abort fails half-way, the next transaction starts on a
 *   fresh kafkajs producer with the same id (kafkajs's own state machine would refuse it).
 * - Transactions commit offsets with TxnOffsetCommit without the consumer's generation (kafkajs
 *   has no KIP-447 group metadata): a zombie member is fenced by its transactional id, not by the
 *   group generation, so give each stage instance a stable transactional id.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import {
  Kafka,
  KafkaJSError,
  KafkaJSProtocolError,
  Partitioners,
  logLevel,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  type KafkaConfig,
  type KafkaMessage,
  type LogEntry,
  type Message,
  type Producer as KafkaJsProducer,
  type TopicMessages,
  type Transaction as KafkaJsTransaction,
} from 'kafkajs';
import type {
  InRecord,
  OutRecord,
  Producer,
  SubscribeOptions,
  Subscription,
  TopicPartitionOffset,
  TopicSpec,
  Transaction,
  Transport,
} from './transport';

export interface KafkaConsumerTuning {
  /**
   * A member that sends no heartbeat for this long is removed from its group. Default 10000 (the
   * broker's group.min.session.timeout.ms is 6000 by default). kafkajs heartbeats between batches
   * only: an eachBatch call that runs longer than this gets its member evicted.
   */
  readonly sessionTimeout?: number;
  /** Default 1000: a rebalance is noticed within about heartbeatInterval + maxWaitTimeInMs. */
  readonly heartbeatInterval?: number;
  /** How long a rebalance waits for members to rejoin. Default 20000. */
  readonly rebalanceTimeout?: number;
  /** How long an idle fetch waits on the broker. Default 1000. */
  readonly maxWaitTimeInMs?: number;
  /** kafkajs default 1 MiB. */
  readonly maxBytesPerPartition?: number;
}

export interface KafkaTransportOptions {
  readonly brokers: readonly string[];
  /** Default `vgmflow`. */
  readonly clientId?: string;
  /**
   * kafkajs log level (default WARN). Even at WARN and ERROR, the transport drops kafkajs's
   * routine entries: every protocol error response it logs before retrying (e.g. "The group is
   * rebalancing"), retried sends, and rebalance notices. Errors that matter reach the caller as
   * rejections (or `done`).
   */
  readonly logLevel?: logLevel;
  /** Where kafkajs log lines go (default: stderr). */
  readonly log?: (line: string) => void;
  /** For new topics. Default: min(3, number of brokers). */
  readonly replicationFactor?: number;
  readonly consumer?: KafkaConsumerTuning;
  /** Upper bound on the records of one eachBatch call. Default 500. */
  readonly maxBatchRecords?: number;
  /** Further kafkajs client settings (ssl, sasl, timeouts, retry). */
  readonly kafka?: Omit<KafkaConfig, 'brokers' | 'clientId' | 'logLevel' | 'logCreator'>;
}

const DEFAULT_TUNING: Required<Omit<KafkaConsumerTuning, 'maxBytesPerPartition'>> = {
  sessionTimeout: 10_000,
  heartbeatInterval: 1_000,
  rebalanceTimeout: 20_000,
  maxWaitTimeInMs: 1_000,
};

const LEVEL_NAMES: Record<number, string> = {
  [logLevel.ERROR]: 'ERROR',
  [logLevel.WARN]: 'WARN',
  [logLevel.INFO]: 'INFO',
  [logLevel.DEBUG]: 'DEBUG',
};

/** Routine kafkajs entries that say nothing the caller does not learn otherwise. */
function isRoutine(entry: LogEntry): boolean {
  const { namespace, log } = entry;
  // Connection logs each error response before the request is retried or the error thrown.
  if (namespace === 'Connection' && log.message.startsWith('Response ')) return entry.level <= logLevel.ERROR;
  if (namespace === 'Runner' && log.message.startsWith('The group is rebalancing')) return true;
  // Retried sends (e.g. CONCURRENT_TRANSACTIONS right after a commit); a final failure is thrown.
  if (namespace === 'Producer' && log.message.startsWith('Failed to send messages: ')) return true;
  // A transaction aborts when a send fails, so limited retries cannot break exactly-once here.
  if (namespace === 'Producer' && log.message.startsWith('Limiting retries for the idempotent producer')) return true;
  return false;
}

function logCreator(sink: (line: string) => void) {
  return () =>
    (entry: LogEntry): void => {
      if (isRoutine(entry)) return;
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = entry.log;
      const details = Object.keys(extra).length > 0 ? ` ${safeJson(extra)}` : '';
      sink(`[kafkajs] ${LEVEL_NAMES[entry.level] ?? entry.level} ${entry.namespace}: ${message}${details}`);
    };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Retries an admin request on retriable Kafka errors. kafkajs's admin does not retry some of them
 * itself, e.g. fetchOffsets on NOT_COORDINATOR while a fresh broker is still loading
 * __consumer_offsets.
 */
async function retrying<T>(request: () => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await request();
    } catch (error) {
      if (attempt >= attempts || !(error instanceof KafkaJSError) || !error.retriable) throw error;
      await sleep(Math.min(2_000, 100 * 2 ** (attempt - 1)));
    }
  }
}

/** The Kafka error type (e.g. REBALANCE_IN_PROGRESS) behind a kafkajs error and its causes. */
function protocolErrorType(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 10; depth += 1) {
    if (e instanceof KafkaJSProtocolError) return e.type;
    e = e.cause;
  }
  return undefined;
}

/** Commit failures that only mean "the group is rebalancing: this member's generation is over". */
const LOST_GENERATION = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

function toOffset(value: string, what: string): number {
  const offset = Number(value);
  if (!Number.isSafeInteger(offset)) {
    throw new RangeError(`${what}: offset ${value} is not below 2^53`);
  }
  return offset;
}

function checkOffset(offset: number, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`${what} must be a non-negative integer (got ${offset})`);
  }
}

function toBuffer(value: Uint8Array): Buffer {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function toBytes(value: Buffer | null): Uint8Array {
  return value === null ? new Uint8Array(0) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function headersIn(headers: IHeaders | undefined): Readonly<Record<string, string>> {
  if (headers === undefined) return {};
  const entries: Array<[string, string]> = [];
  for (const [name, raw] of Object.entries(headers)) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined) continue;
    entries.push([name, typeof value === 'string' ? value : value.toString('utf8')]);
  }
  return Object.fromEntries(entries);
}

function toInRecord(topic: string, partition: number, message: KafkaMessage): InRecord {
  return {
    topic,
    partition,
    offset: toOffset(message.offset, `${topic}[${partition}]`),
    key: message.key === null ? null : message.key.toString('utf8'),
    value: toBytes(message.value),
    headers: headersIn(message.headers),
  };
}

/** Records grouped by topic (in order), as kafkajs sends them. */
function topicMessages(records: readonly OutRecord[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const record of records) {
    if (!(record.value instanceof Uint8Array)) {
      throw new TypeError(`record value for ${record.topic} must be a Uint8Array`);
    }
    let messages = byTopic.get(record.topic);
    if (messages === undefined) {
      messages = [];
      byTopic.set(record.topic, messages);
    }
    const message: Message = { key: record.key, value: toBuffer(record.value) };
    if (record.partition !== undefined) message.partition = record.partition;
    if (record.headers !== undefined) message.headers = { ...record.headers };
    messages.push(message);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * Bytes of keys, values and headers per produce request. kafkajs puts all of a request's
 * messages for one partition into one record batch, and the broker refuses a batch over the
 * topic's max.message.bytes (1 MiB by default): a transform of 8 000 rows into one partition
 * would be refused whole. Half the default leaves room for batch and record overheads.
 */
export const MAX_REQUEST_PAYLOAD_BYTES = 512 * 1024;

function payloadBytes(record: OutRecord): number {
  let n = record.value.byteLength + (record.key === null ? 0 : Buffer.byteLength(record.key));
  for (const [k, v] of Object.entries(record.headers ?? {})) n += Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

/**
 * Splits records, in order, into runs of at most `maxBytes` payload each (a record larger
 * than that goes alone, for the broker to judge against the topic's limit).
 */
export function chunkRecords(records: readonly OutRecord[], maxBytes = MAX_REQUEST_PAYLOAD_BYTES): OutRecord[][] {
  const chunks: OutRecord[][] = [];
  let current: OutRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = payloadBytes(record);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function offsetsByTopic(offsets: readonly TopicPartitionOffset[]): Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> {
  const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const { topic, partition, offset } of offsets) {
    checkOffset(offset, 'committed offset');
    let partitions = byTopic.get(topic);
    if (partitions === undefined) {
      partitions = [];
      byTopic.set(topic, partitions);
    }
    partitions.push({ partition, offset: String(offset) });
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

class KafkaProducer implements Producer {
  private chain: Promise<void> = Promise.resolve();
  /** Set when a transaction ended in a state kafkajs cannot start the next one from. */
  private broken = false;
  private closed = false;

  private constructor(
    private readonly kafka: Kafka,
    private readonly transactionalId: string | undefined,
    private inner: KafkaJsProducer,
    private readonly onClose: (producer: KafkaProducer) => void,
  ) {}

  static async create(kafka: Kafka, transactionalId: string | undefined, onClose: (producer: KafkaProducer) => void): Promise<KafkaProducer> {
    const inner = await KafkaProducer.connect(kafka, transactionalId);
    return new KafkaProducer(kafka, transactionalId, inner, onClose);
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
    if (records.length === 0) return;
    // In order, one request at a time: a partition's records keep their order.
    for (const chunk of chunkRecords(records)) await this.inner.sendBatch({ topicMessages: topicMessages(chunk), acks: -1 });
  }

  transaction(work: (tx: Transaction) => Promise<void>): Promise<void> {
    const run = this.chain.then(() => this.runTransaction(work));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
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
        send: async (records) => {
          if (records.length === 0) return;
          for (const chunk of chunkRecords(records)) await tx.sendBatch({ topicMessages: topicMessages(chunk), acks: -1 });
        },
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

/** Which subscription's callback (eachBatch or onAssign) the current async context runs in. */
const inCallback = new AsyncLocalStorage<KafkaSubscription>();

class KafkaSubscription implements Subscription {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (error: unknown) => void;
  private failure: { error: unknown } | null = null;
  private stopping: Promise<void> | null = null;
  /** onAssign calls, in the order of the group joins; batches wait for it. */
  private assigned: Promise<void> = Promise.resolve();

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
      this.assigned = this.assigned.then(async () => {
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
        partitionsConsumedConcurrently: 1,
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
    await this.assigned;
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

/** The Transport over Kafka; see the file comment for how kafkajs maps onto the interface. */
export class KafkaTransport implements Transport {
  private readonly kafka: Kafka;
  private readonly clientId: string;
  private readonly tuning: Required<Omit<KafkaConsumerTuning, 'maxBytesPerPartition'>> & KafkaConsumerTuning;
  private readonly maxBatchRecords: number;
  private readonly log: (line: string) => void;
  private adminClient: Promise<Admin> | null = null;
  private readonly producers = new Set<KafkaProducer>();
  private readonly subscriptions = new Set<KafkaSubscription>();
  private closed = false;

  constructor(private readonly options: KafkaTransportOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaTransport needs at least one broker');
    this.clientId = options.clientId ?? 'vgmflow';
    this.tuning = { ...DEFAULT_TUNING, ...(options.consumer ?? {}) };
    this.maxBatchRecords = Math.max(1, options.maxBatchRecords ?? 500);
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.kafka = new Kafka({
      ...(options.kafka ?? {}),
      brokers: [...options.brokers],
      clientId: this.clientId,
      logLevel: options.logLevel ?? logLevel.WARN,
      logCreator: logCreator(this.log),
    });
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    const admin = await this.admin();
    const wanted = new Map(specs.map((spec) => [spec.name, spec]));
    const existing = new Set(await admin.listTopics());
    const missing = [...wanted.values()].filter((spec) => !existing.has(spec.name));
    if (missing.length === 0) return;
    const replicationFactor =
      this.options.replicationFactor ?? Math.min(3, (await admin.describeCluster()).brokers.length);
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions,
          replicationFactor,
          configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (error) {
      // Somebody else may have created some of them meanwhile (kafkajs only tolerates "already
      // exists" when it is the answer for every topic).
      const now = new Set(await admin.listTopics());
      if (!missing.every((spec) => now.has(spec.name))) throw error;
    }
  }

  async endOffsets(topic: string): Promise<number[]> {
    const admin = await this.admin();
    const offsets = await retrying(() => admin.fetchTopicOffsets(topic));
    return offsets
      .sort((a, b) => a.partition - b.partition)
      .map((entry) => toOffset(entry.high, `${topic}[${entry.partition}] end`));
  }

  async startOffsets(topic: string): Promise<number[]> {
    const admin = await this.admin();
    const offsets = await retrying(() => admin.fetchTopicOffsets(topic));
    return offsets
      .sort((a, b) => a.partition - b.partition)
      .map((entry) => toOffset(entry.low, `${topic}[${entry.partition}] start`));
  }

  async committedOffsets(group: string, topic: string): Promise<number[]> {
    const admin = await this.admin();
    const result = await retrying(() => admin.fetchOffsets({ groupId: group, topics: [topic] }));
    const partitions = result.find((entry) => entry.topic === topic)?.partitions ?? [];
    return [...partitions]
      .sort((a, b) => a.partition - b.partition)
      .map((entry) => {
        const offset = toOffset(entry.offset, `${group} ${topic}[${entry.partition}] committed`);
        return offset < 0 ? -1 : offset;
      });
  }

  async groupMembers(group: string): Promise<number> {
    const admin = await this.admin();
    const { groups } = await retrying(() => admin.describeGroups([group]));
    return groups.find((g) => g.groupId === group)?.members.length ?? 0;
  }

  async producer(options: { readonly transactionalId?: string } = {}): Promise<Producer> {
    this.checkOpen();
    const producer = await KafkaProducer.create(this.kafka, options.transactionalId, (p) => this.producers.delete(p));
    this.producers.add(producer);
    return producer;
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.checkOpen();
    const broadcast = options.group === null;
    const groupId = options.group ?? `${this.clientId}-broadcast-${randomBytes(6).toString('hex')}`;
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: this.tuning.sessionTimeout,
      heartbeatInterval: this.tuning.heartbeatInterval,
      rebalanceTimeout: this.tuning.rebalanceTimeout,
      maxWaitTimeInMs: this.tuning.maxWaitTimeInMs,
      ...(this.tuning.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: this.tuning.maxBytesPerPartition }),
      readUncommitted: options.readCommitted === false,
      allowAutoTopicCreation: false,
    });
    const subscription = new KafkaSubscription(
      consumer,
      broadcast ? { ...options, fromBeginning: true } : options,
      this.maxBatchRecords,
      this.log,
      (s) => this.subscriptions.delete(s),
    );
    this.subscriptions.add(subscription);
    await subscription.start();
    return subscription;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.subscriptions].map((subscription) => subscription.stop()));
    await Promise.allSettled([...this.producers].map((producer) => producer.close()));
    if (this.adminClient !== null) {
      const admin = await this.adminClient.catch(() => null);
      this.adminClient = null;
      await admin?.disconnect();
    }
  }

  private admin(): Promise<Admin> {
    this.checkOpen();
    if (this.adminClient === null) {
      const admin = this.kafka.admin();
      this.adminClient = admin.connect().then(() => admin);
      this.adminClient.catch(() => {
        this.adminClient = null;
      });
    }
    return this.adminClient;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('the transport is closed');
  }
}

/**
 * The exactly-once loop every row stage shares (ARCHITECTURE.md, "Exactly once"):
 *
 *   consume a batch of one input partition (consumer group, read_committed)
 *   → the stage's pure `process` turns it into transaction units
 *   → per transaction: idempotent side work (S3 objects), then ONE transaction that sends the
 *     units' records and commits the group's offsets past the input they came from
 *   → progress.
 *
 * Group commit: units are queued as they are computed, and one transaction at a time takes
 * every unit queued meanwhile (up to `maxGroupRows` rows), from this batch and from batches of
 * other partitions handled at the same time (`partitionsAtOnce`), with each partition's offset
 * past its last unit. So the next unit is computed while the previous transaction is on the
 * wire, and a transaction's round trips are shared by several units. A unit's records and its
 * offset still become visible together or not at all; units of one partition are committed in
 * offset order.
 *
 * A crash anywhere before a commit leaves nothing visible to read_committed readers; the input
 * is consumed again by whichever member next owns the partition and gives the same records,
 * because a stage's output is a function of its input records (and row ids), never of the
 * worker or the batching. Exclusive work (`between`, e.g. a model swap) waits until no batch
 * is being handled and holds new batches back while it runs; there is one transaction at a
 * time on the producer.
 *
 * A transaction interrupted by a broker restart (TransactionInterruptedError: it is over, and the
 * group's committed offset says whether it got through) does not stop the stage: every batch
 * with a unit in it drops its units still queued, and its partition is read again from the
 * committed offset, so the batch is redone from where the last commit left it — the same
 * records, nothing twice. The transport gives up (BrokerUnavailableError, which stops the stage)
 * once the broker stays away past its outage bound.
 */
import { TransactionInterruptedError, type OutRecord, type RecordBatch, type Subscription, type TopicPartitionOffset, type Transport } from '../../topics/transport';
import type { StageHandle } from './stage-handle';
import { NO_STAGE_METRICS, partitionLag, type StageMetrics } from './stage-metrics';

/** One transaction's worth of a stage's output, for one input partition. */
export interface TransactionUnit {
  readonly records: readonly OutRecord[];
  /** The input offset committed with the records: the next one to read. */
  readonly nextOffset: number;
  /** Output rows and dead letters in `records`, for the counters. */
  readonly rows: number;
  readonly deadLettered: number;
  /** Idempotent work that must be done before the commit (objects named by their input). */
  readonly beforeCommit?: () => Promise<void>;
}

export interface ExactlyOnceCounters {
  readonly rows: number;
  readonly deadLettered: number;
  readonly transactions: number;
  /** When the first input batch arrived (ms since the epoch), null before: where the stage's own work starts. */
  readonly firstInputAt: number | null;
}

export interface ExactlyOnceStageOptions {
  readonly transport: Transport;
  readonly input: string;
  readonly group: string;
  readonly transactionalId: string;
  /**
   * Turns one non-empty batch of one input partition into transaction units, in offset order.
   * `position()` is where the partition's uncommitted input starts (the group's committed
   * offset, or the partition's first offset when the group has none; undefined when unknown).
   */
  process(batch: RecordBatch, position: () => Promise<number | undefined>): AsyncIterable<TransactionUnit> | Iterable<TransactionUnit>;
  readonly onPosition?: (partition: number, nextOffset: number) => void;
  /** Called after each committed transaction with the running totals. */
  readonly onProgress?: (counters: ExactlyOnceCounters) => void;
  /** Batches of up to this many partitions handled at once (their units share transactions). Default 1. */
  readonly partitionsAtOnce?: number;
  /** Rows (plus dead letters) after which a transaction takes no further queued unit. Default 1 000 000. */
  readonly maxGroupRows?: number;
  /** Counted per batch and per transaction; ready once the input subscription has joined its group. */
  readonly metrics?: StageMetrics;
}

export interface ExactlyOnceStage extends StageHandle {
  /** Runs `work` between two batches, never during one (e.g. putting a new model in use). */
  between(work: () => Promise<void>): Promise<void>;
  counters(): ExactlyOnceCounters;
}

/** A unit waiting for its transaction. */
interface Queued {
  readonly batch: RecordBatch;
  readonly unit: TransactionUnit;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** Batches share the stage; exclusive work waits for none to be in flight and holds new ones back. */
class BatchGate {
  private inFlight = 0;
  private exclusive: Promise<void> | null = null;
  private waiters: Array<() => void> = [];

  async enter(): Promise<void> {
    while (this.exclusive !== null) await this.exclusive.catch(() => undefined);
    this.inFlight++;
  }

  leave(): void {
    this.inFlight--;
    if (this.inFlight > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Runs `work` with no batch in flight; batches arriving meanwhile wait. One at a time. */
  async alone(work: () => Promise<void>): Promise<void> {
    while (this.exclusive !== null) await this.exclusive.catch(() => undefined);
    const run = (async () => {
      await this.drained();
      await work();
    })();
    this.exclusive = run;
    try {
      await run;
    } finally {
      if (this.exclusive === run) this.exclusive = null;
    }
  }

  /** Resolves once no batch and no exclusive work is running. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.exclusive !== null) await this.exclusive.catch(() => undefined);
      else if (this.inFlight > 0) await this.drained();
      else return;
    }
  }

  private drained(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

export async function runExactlyOnceStage(o: ExactlyOnceStageOptions): Promise<ExactlyOnceStage> {
  const { transport, input, group } = o;
  const maxGroupRows = Math.max(1, o.maxGroupRows ?? 1_000_000);
  const metrics = o.metrics ?? NO_STAGE_METRICS;
  let rows = 0;
  let deadLettered = 0;
  let transactions = 0;
  let firstInputAt: number | null = null;
  const counters = (): ExactlyOnceCounters => ({ rows, deadLettered, transactions, firstInputAt });

  // Per owned partition: the group's position, where the next batch's input starts. Forgotten
  // on every reassignment (another member may have moved it), then read again.
  const positions = new Map<number, number>();
  const positionOf = async (partition: number): Promise<number | undefined> => {
    const known = positions.get(partition);
    if (known !== undefined) return known;
    const committed = (await transport.committedOffsets(group, input))[partition] ?? -1;
    if (committed >= 0) return committed;
    return (await transport.startOffsets(input))[partition];
  };

  const producer = await transport.producer({ transactionalId: o.transactionalId });
  const gate = new BatchGate();

  // Group commit: one transaction at a time, taking every unit queued by then.
  const queue: Queued[] = [];
  let committing: Promise<void> | null = null;
  // Batches with a unit whose transaction failed: none of their later units may be committed
  // (their offsets would pass the lost unit's rows), queued or still to come.
  const failedBatches = new WeakMap<RecordBatch, unknown>();
  const failBatches = (units: readonly Queued[], err: unknown): void => {
    for (const q of units) failedBatches.set(q.batch, err);
    for (let i = queue.length - 1; i >= 0; i--) {
      const q = queue[i] as Queued;
      if (!failedBatches.has(q.batch)) continue;
      queue.splice(i, 1);
      q.reject(failedBatches.get(q.batch));
    }
  };
  const commitGroup = async (units: readonly Queued[]): Promise<void> => {
    // The side work first: a crash after it but before the commit redoes the same objects.
    for (const q of units) await q.unit.beforeCommit?.();
    const offsets = new Map<number, TopicPartitionOffset>();
    for (const q of units) offsets.set(q.batch.partition, { topic: q.batch.topic, partition: q.batch.partition, offset: q.unit.nextOffset });
    try {
      await producer.transaction(async (tx) => {
        const records = units.length === 1 ? (units[0] as Queued).unit.records : units.flatMap((q) => q.unit.records);
        if (records.length > 0) await tx.send(records);
        await tx.sendOffsets(group, [...offsets.values()]);
      });
    } catch (err) {
      metrics.aborted();
      throw err;
    }
    for (const { partition, offset } of offsets.values()) positions.set(partition, offset);
    let groupRows = 0;
    let groupDeadLettered = 0;
    for (const q of units) {
      groupRows += q.unit.rows;
      groupDeadLettered += q.unit.deadLettered;
    }
    rows += groupRows;
    deadLettered += groupDeadLettered;
    transactions++;
    metrics.committed(groupRows, groupDeadLettered);
    o.onProgress?.(counters());
  };
  const kick = (): void => {
    if (committing !== null || queue.length === 0) return;
    const units: Queued[] = [];
    let size = 0;
    while (queue.length > 0 && (units.length === 0 || size < maxGroupRows)) {
      const q = queue.shift() as Queued;
      units.push(q);
      size += q.unit.rows + q.unit.deadLettered;
    }
    committing = commitGroup(units).then(
      () => units.forEach((q) => q.resolve()),
      (err: unknown) => {
        units.forEach((q) => q.reject(err));
        failBatches(units, err);
      },
    );
    void committing.finally(() => {
      committing = null;
      kick();
    });
  };
  const enqueue = (batch: RecordBatch, unit: TransactionUnit): Promise<void> => {
    if (failedBatches.has(batch)) return Promise.reject(failedBatches.get(batch));
    const done = new Promise<void>((resolve, reject) => queue.push({ batch, unit, resolve, reject }));
    kick();
    return done;
  };

  const handleBatch = async (batch: RecordBatch): Promise<void> => {
    if (batch.records.length === 0) return;
    firstInputAt ??= Date.now();
    metrics.batch(batch.records.length);
    await gate.enter();
    const commits: Promise<void>[] = [];
    try {
      for await (const unit of o.process(batch, () => positionOf(batch.partition))) {
        const committed = enqueue(batch, unit);
        committed.catch(() => undefined);
        commits.push(committed);
        // At most one unit of this batch computed ahead of the one being committed.
        if (commits.length >= 2) await commits[commits.length - 2];
      }
      await Promise.all(commits);
    } catch (err) {
      // Nothing of this batch may still be on its way when its failure is reported.
      await Promise.allSettled(commits);
      if (!(err instanceof TransactionInterruptedError)) throw err;
      await redoFromCommitted(batch.partition);
    } finally {
      gate.leave();
    }
  };

  /** After an interrupted transaction: read the partition again from the group's committed offset. */
  const redoFromCommitted = async (partition: number): Promise<void> => {
    positions.delete(partition);
    const committed = (await transport.committedOffsets(group, input))[partition] ?? -1;
    const from = committed >= 0 ? committed : (await transport.startOffsets(input))[partition];
    // The rest of this fetch is stale from here on; a consumer that lost its group meanwhile
    // restarts at the committed offsets anyway.
    if (from !== undefined) subscription.seek(partition, from);
  };

  // For the consumer lag: the partitions this member owns, and how far it has read each (past
  // transaction markers too, which committed offsets never pass).
  let owned: readonly number[] = [];
  const reached = new Map<number, number>();
  metrics.lag(input, async () => {
    const [ends, committed] = await Promise.all([transport.endOffsets(input), transport.committedOffsets(group, input)]);
    const position = (p: number): number => Math.max(reached.get(p) ?? -1, committed[p] ?? -1);
    // A partition the group has never committed starts where the topic still holds records.
    const starts = owned.some((p) => position(p) < 0) ? await transport.startOffsets(input) : [];
    return partitionLag(ends, owned, (p) => (position(p) >= 0 ? position(p) : (starts[p] ?? 0)));
  });

  let subscription: Subscription;
  try {
    subscription = await transport.subscribe({
      topic: input,
      group,
      fromBeginning: true,
      readCommitted: true,
      onAssign: (partitions) => {
        positions.clear();
        reached.clear();
        owned = partitions;
      },
      eachBatch: (batch) => handleBatch(batch),
      onPosition: (partition, nextOffset) => {
        reached.set(partition, nextOffset);
        o.onPosition?.(partition, nextOffset);
      },
      partitionsAtOnce: Math.max(1, o.partitionsAtOnce ?? 1),
    });
  } catch (err) {
    await producer.close().catch(() => undefined);
    throw err;
  }
  metrics.ready();

  let closing: Promise<void> | null = null;
  const closeProducer = (): Promise<void> => {
    closing ??= gate.idle().then(() => producer.close());
    return closing;
  };
  const done = subscription.done.finally(() => metrics.notReady('stopped')).then(
    () => closeProducer(),
    async (err: unknown) => {
      await closeProducer().catch(() => undefined);
      throw err;
    },
  );
  // The caller may look at `done` only later (or only call stop): an early failure must not
  // count as unhandled in the meantime.
  done.catch(() => undefined);

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await subscription.stop();
      await done.catch(() => undefined);
      await closeProducer();
    })();
    return stopping;
  };

  return { between: (w) => gate.alone(w), stop, done, counters };
}

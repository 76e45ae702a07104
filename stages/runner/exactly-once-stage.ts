/**
 * The exactly-once loop every row stage shares (ARCHITECTURE.md, "Exactly once"):
 *
 *   consume a batch of one input partition (consumer group, read_committed)
 *   → the stage's pure `process` turns it into transaction units
 *   → per unit: idempotent side work (S3 objects), then ONE transaction that sends the unit's
 *     records and commits the group's offset past the input they came from
 *   → progress.
 *
 * A crash anywhere before a commit leaves nothing visible to read_committed readers; the input
 * is consumed again by whichever member next owns the partition and gives the same records,
 * because a stage's output is a function of its input records (and row ids), never of the
 * worker or the batching. Batches and other exclusive work (`between`, e.g. a model swap) run
 * one at a time, so there is one transaction at a time on the producer.
 *
 * A transaction interrupted by a broker restart (TransactionInterruptedError: it is over, and the
 * group's committed offset says whether it got through) does not stop the stage: the partition
 * is read again from its committed offset, so the batch is redone from where the last commit
 * left it — the same records, nothing twice. The transport gives up (BrokerUnavailableError,
 * which stops the stage) once the broker stays away past its outage bound.
 */
import { serial } from '../../core/serial';
import { TransactionInterruptedError, type OutRecord, type RecordBatch, type Subscription, type Transport } from '../../topics/transport';
import type { StageHandle } from './stage-handle';

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
}

export interface ExactlyOnceStage extends StageHandle {
  /** Runs `work` between two batches, never during one (e.g. putting a new model in use). */
  between(work: () => Promise<void>): Promise<void>;
  counters(): ExactlyOnceCounters;
}

export async function runExactlyOnceStage(o: ExactlyOnceStageOptions): Promise<ExactlyOnceStage> {
  const { transport, input, group } = o;
  let rows = 0;
  let deadLettered = 0;
  let transactions = 0;
  const counters = (): ExactlyOnceCounters => ({ rows, deadLettered, transactions });

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
  const work = serial();

  const commit = async (batch: RecordBatch, unit: TransactionUnit): Promise<void> => {
    // The side work first: a crash after it but before the commit redoes the same objects.
    await unit.beforeCommit?.();
    await producer.transaction(async (tx) => {
      if (unit.records.length > 0) await tx.send(unit.records);
      await tx.sendOffsets(group, [{ topic: batch.topic, partition: batch.partition, offset: unit.nextOffset }]);
    });
    positions.set(batch.partition, unit.nextOffset);
    rows += unit.rows;
    deadLettered += unit.deadLettered;
    transactions++;
    o.onProgress?.(counters());
  };

  const handleBatch = async (batch: RecordBatch): Promise<void> => {
    if (batch.records.length === 0) return;
    try {
      for await (const unit of o.process(batch, () => positionOf(batch.partition))) await commit(batch, unit);
    } catch (err) {
      if (!(err instanceof TransactionInterruptedError)) throw err;
      await redoFromCommitted(batch.partition);
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

  let subscription: Subscription;
  try {
    subscription = await transport.subscribe({
      topic: input,
      group,
      fromBeginning: true,
      readCommitted: true,
      onAssign: () => positions.clear(),
      eachBatch: (batch) => work.run(() => handleBatch(batch)),
      onPosition: o.onPosition,
    });
  } catch (err) {
    await producer.close().catch(() => undefined);
    throw err;
  }

  let closing: Promise<void> | null = null;
  const closeProducer = (): Promise<void> => {
    closing ??= work.idle().then(() => producer.close());
    return closing;
  };
  const done = subscription.done.then(
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

  return { between: (w) => work.run(w), stop, done, counters };
}

/**
 * The ingest stage (DESIGN §3): `vgm.rows` (CSV text) → `vgm.batches` (Arrow row batches)
 * + `vgm.dlq` (rejected rows), exactly once.
 *
 * For each batch of records of one input partition, the rows are parsed and validated by the
 * pure ingestMessages, then in one transaction the row batch(es) go to the batches partition
 * equal to the source partition, the dead letters to the dead-letter partition equal to the
 * source partition, and the group's offset moves past the last input record. The row batches
 * cover the source offsets from the group's previous position to that new one (an empty batch
 * is sent when every row was rejected), so the batches of a partition cover its offsets
 * without gaps or overlaps. A crash anywhere
 * before the commit leaves nothing visible to read_committed readers, and the records are
 * consumed again by whichever member next owns the partition.
 */
import { randomBytes } from 'node:crypto';
import { deadLetterOutRecord } from '../../topics/dead-letter';
import { checkRowBatchColumns, rowBatchKey } from '../../topics/row-batch';
import { encodeRowBatch, ROW_BATCH_CONTENT_TYPE } from '../../topics/row-batch-codec';
import { stageGroup, type TopicNames } from '../../topics/topology';
import type { OutRecord, Producer, RecordBatch, Subscription, Transport } from '../../topics/transport';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import { serial } from '../../core/serial';
import { ingestMessages, type IngestBatchOptions } from './ingest-batch';

export interface IngestProgress {
  /** Rows published in batches so far by this handle. */
  readonly rows: number;
  /** Rows (or lines) published as dead letters so far by this handle. */
  readonly deadLettered: number;
}

export interface IngestOptions {
  readonly transport: Transport;
  readonly topics: TopicNames;
  readonly columns: readonly ColumnSpec[];
  /**
   * Each message may start with a header line equal to the column names: skip it. A header
   * that does not match is dead-lettered (see IngestBatchOptions.header).
   */
  readonly header?: boolean;
  /** Consumer group. Default stageGroup(topics, 'ingest'), e.g. vgmflow-vgm-ingest. */
  readonly group?: string;
  /** Default `${group}-${random}`; one per process. */
  readonly transactionalId?: string;
  /** Largest CSV record in UTF-8 bytes. Default 1 MiB. */
  readonly maxRecordBytes?: number;
  /** Row batch limits and dead-letter raw cap; see IngestBatchOptions. */
  readonly maxBatchRows?: number;
  readonly maxBatchBytes?: number;
  readonly maxDeadLetterRawBytes?: number;
  /** Called after each committed transaction with the running totals. */
  readonly onProgress?: (p: IngestProgress) => void;
}

export interface IngestHandle {
  /** Stops consuming (after the batch in flight) and closes the producer. Idempotent. */
  stop(): Promise<void>;
  /** Resolves once stopped; rejects if processing failed (e.g. a transaction could not commit). */
  readonly done: Promise<void>;
  stats(): IngestProgress;
}


/** Checks that every source partition has a partition of the same number in `topic`. */
async function checkPartitions(transport: Transport, rows: string, topic: string): Promise<void> {
  const [source, target] = await Promise.all([transport.endOffsets(rows), transport.endOffsets(topic)]);
  if (target.length < source.length) {
    throw new Error(
      `ingest: topic ${topic} has ${target.length} partitions but ${rows} has ${source.length}; ` +
        'rows are published to the partition of their source, so it needs at least as many',
    );
  }
}

export async function runIngest(o: IngestOptions): Promise<IngestHandle> {
  checkRowBatchColumns(o.columns);
  const { transport, topics, columns } = o;
  const group = o.group ?? stageGroup(o.topics, 'ingest');
  const transactionalId = o.transactionalId ?? `${group}-${randomBytes(6).toString('hex')}`;
  const batchOptions: IngestBatchOptions = {
    header: o.header,
    maxRecordBytes: o.maxRecordBytes,
    maxBatchRows: o.maxBatchRows,
    maxBatchBytes: o.maxBatchBytes,
    maxDeadLetterRawBytes: o.maxDeadLetterRawBytes,
  };
  // Fail fast on bad options rather than on the first message.
  ingestMessages([], columns, batchOptions);
  await checkPartitions(transport, topics.rows, topics.batches);
  await checkPartitions(transport, topics.rows, topics.deadLetters);

  let rows = 0;
  let deadLettered = 0;
  // Per owned partition: the group's position, i.e. where the next batch's coverage starts.
  // Forgotten on every reassignment (another member may have moved it), then read again.
  const positions = new Map<number, number>();
  const positionOf = async (partition: number): Promise<number | undefined> => {
    const known = positions.get(partition);
    if (known !== undefined) return known;
    const committed = (await transport.committedOffsets(group, topics.rows))[partition] ?? -1;
    if (committed >= 0) return committed;
    // No commit yet: the group starts from the earliest offset still held.
    return (await transport.startOffsets(topics.rows))[partition];
  };
  const stats = (): IngestProgress => ({ rows, deadLettered });

  const producer: Producer = await transport.producer({ transactionalId });
  // One transaction at a time on the producer, even if the transport hands out batches of
  // several partitions concurrently.
  const transactions = serial();

  const ingestBatch = async (batch: RecordBatch): Promise<void> => {
    if (batch.records.length === 0) return;
    const start = await positionOf(batch.partition);
    const startOffsets = new Map<number, number>(start === undefined ? [] : [[batch.partition, start]]);
    const result = ingestMessages(batch.records, columns, { ...batchOptions, startOffsets });
    const out: OutRecord[] = [];
    for (const b of result.batches) {
      out.push({
        topic: topics.batches,
        partition: b.sourcePartition,
        key: rowBatchKey(b),
        value: encodeRowBatch(b),
        headers: { 'content-type': ROW_BATCH_CONTENT_TYPE },
      });
    }
    for (const d of result.deadLetters) out.push(deadLetterOutRecord(topics.deadLetters, d));
    const last = batch.records[batch.records.length - 1];
    const next = (last ? last.offset : 0) + 1;
    await producer.transaction(async (tx) => {
      if (out.length > 0) await tx.send(out);
      await tx.sendOffsets(group, [{ topic: batch.topic, partition: batch.partition, offset: next }]);
    });
    positions.set(batch.partition, next);
    rows += result.rows;
    deadLettered += result.deadLetters.length;
    o.onProgress?.(stats());
  };

  let subscription: Subscription;
  try {
    subscription = await transport.subscribe({
      topic: topics.rows,
      group,
      fromBeginning: true,
      readCommitted: true,
      onAssign: () => {
        positions.clear();
      },
      eachBatch: (batch) => transactions.run(() => ingestBatch(batch)),
    });
  } catch (err) {
    await producer.close().catch(() => undefined);
    throw err;
  }

  let closing: Promise<void> | null = null;
  const closeProducer = (): Promise<void> => {
    closing ??= transactions.idle().then(() => producer.close());
    return closing;
  };
  const done = subscription.done.then(
    () => closeProducer(),
    async (err: unknown) => {
      await closeProducer().catch(() => undefined);
      throw err;
    },
  );
  // The caller may only look at `done` later (or only call stop); do not let an early failure
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

  return { stop, done, stats };
}

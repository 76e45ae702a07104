/**
 * The ingest stage: `<prefix>.rows` (CSV text) → `<prefix>.batches` (Arrow row batches) +
 * `<prefix>.dlq` (rejected rows), exactly once (stages/runner/exactly-once-stage.ts).
 *
 * For each batch of records of one input partition, the rows are parsed and validated by the
 * pure ingestMessages (./ingest-batch.ts), in this thread or on parse threads (./ingest-pool.ts);
 * one transaction sends the row batch(es) to the
 * batches partition equal to the source partition and the dead letters to the dead-letter
 * partition equal to the source partition, and moves the group's offset past the last input
 * record. The row batches cover the source offsets from the group's previous position to that
 * new one (an empty batch is sent when every row was rejected), so the batches of a partition
 * cover its offsets without gaps or overlaps.
 */
import { randomBytes } from 'node:crypto';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import { deadLetterOutRecord } from '../../topics/dead-letter';
import { checkRowBatchColumns } from '../../topics/row-batch';
import { stageGroup, type TopicNames } from '../../topics/topology';
import type { OutRecord, RecordBatch, Transport } from '../../topics/transport';
import { runExactlyOnceStage, type ExactlyOnceStage, type TransactionUnit } from '../runner/exactly-once-stage';
import type { RowStageHandle, StageProgress } from '../runner/stage-handle';
import type { StageMetrics } from '../runner/stage-metrics';
import { ingestMessages, type IngestBatchOptions } from './ingest-batch';
import { messageParsers, type MessageParsers } from './ingest-pool';

export type IngestProgress = Pick<StageProgress, 'rows' | 'deadLettered'>;

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
  /** Counters, lag and readiness for monitoring (default: none). */
  readonly metrics?: StageMetrics;
  /**
   * Worker threads that parse the messages (a fetch of one partition each, every partition at
   * once); 0 (the default) parses in the stage's thread. The output does not depend on it.
   */
  readonly threads?: number;
}

export type IngestHandle = RowStageHandle<IngestProgress>;

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

/** One input batch → one transaction: its row batches, its dead letters, the offset past it. */
async function* ingestUnits(
  topics: TopicNames,
  parsers: MessageParsers,
  batch: RecordBatch,
  position: () => Promise<number | undefined>,
): AsyncGenerator<TransactionUnit> {
  const start = await position();
  const startOffsets = new Map<number, number>(start === undefined ? [] : [[batch.partition, start]]);
  const result = await parsers.ingest(batch.records, startOffsets);
  const records: OutRecord[] = [...result.batches];
  for (const d of result.deadLetters) records.push(deadLetterOutRecord(topics.deadLetters, d));
  const last = batch.records[batch.records.length - 1];
  yield { records, nextOffset: (last ? last.offset : 0) + 1, rows: result.rows, deadLettered: result.deadLetters.length };
}

export async function runIngest(o: IngestOptions): Promise<IngestHandle> {
  checkRowBatchColumns(o.columns);
  const { transport, topics, columns } = o;
  const group = o.group ?? stageGroup(o.topics, 'ingest');
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
  const partitions = (await transport.endOffsets(topics.rows)).length;

  const threads = o.threads ?? 0;
  const parsers = messageParsers({ columns, options: batchOptions, batchesTopic: topics.batches }, threads);
  const progress = (c: IngestProgress): IngestProgress => ({ rows: c.rows, deadLettered: c.deadLettered });
  let stage: ExactlyOnceStage;
  try {
    stage = await runExactlyOnceStage({
      transport,
      input: topics.rows,
      group,
      transactionalId: o.transactionalId ?? `${group}-${randomBytes(6).toString('hex')}`,
      process: (batch, position) => ingestUnits(topics, parsers, batch, position),
      onProgress: (c) => o.onProgress?.(progress(c)),
      metrics: o.metrics,
      // With parse threads, every partition's fetch at once (their units share transactions),
      // so that the threads have work while this thread waits on Kafka.
      partitionsAtOnce: threads > 0 ? partitions : 1,
    });
  } catch (err) {
    await parsers.close();
    throw err;
  }
  // The parse threads end with the stage, however it ends.
  const done = stage.done.then(
    () => parsers.close(),
    async (err: unknown) => {
      await parsers.close();
      throw err;
    },
  );
  done.catch(() => undefined);
  const stop = async (): Promise<void> => {
    await stage.stop();
    await parsers.close();
  };
  return { stop, done, started: Promise.resolve(), stats: () => progress(stage.counters()) };
}

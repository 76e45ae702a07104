/**
 * The transform stage: `<prefix>.batches` (Arrow row batches) → `<prefix>.transformed` +
 * `vgm.dlq` (rows the model cannot encode), exactly once; optionally also Arrow IPC files on S3.
 * The transformed topic holds, per `outputFormat`:
 *   - 'block' (the default): one message per input row batch, its encoded rows column by column
 *     as an Arrow IPC stream (topics/transformed-block.ts; content type
 *     application/vnd.apache.arrow.stream, key: the row id of its first row). A row batch whose
 *     block would exceed `maxBlockBytes` is cut into several blocks, in row order;
 *   - 'avro': one Avro record per row, Confluent wire format via the Schema Registry (key: the
 *     row id), as registry-first consumers read it.
 *
 * The model is a side input: the stage reads the models topic from the start (broadcast),
 * keeps the latest record of its model name, and replaces it whenever a newer one arrives,
 * without a restart. The batches subscription (consumer group `vgmflow-<prefix>-transform`) starts only
 * once a model is known and the models topic has been read up to its end at start (or has been
 * quiet for `modelIdleMs`), so no batch is consumed before there is a model to encode it with.
 *
 * For each RecordBatch of one batches partition (one holding more than `maxTransactionRows`
 * rows is split between row batches into several transactions): every row batch in it is
 * encoded once (./transform-batch), its Arrow file is written to S3 from the same column data
 * when a bucket is configured — `<prefix>/<model version>/part-<source partition>-<first
 * covered source offset>.arrow`, a name fixed by the row batch so that a retry overwrites the
 * same object — and then ONE transaction sends the blocks or Avro records (to the transformed
 * partition equal to the batches partition), the dead letters (to the dead-letter partition of
 * their source), and commits the group's offset past the RecordBatch. A crash before the commit
 * leaves nothing visible to read_committed readers; the batches are consumed again and give the
 * same records and the same S3 objects (the encoding is keyed by row id, not by worker or
 * batch), unless the model changed meanwhile, in which case the new version's folder gets the files.
 */
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@confluentinc/schemaregistry';
import { registerAvroWriter, type AvroWireWriter } from '../../topics/avro-wire';
import { recordPlace } from '../../topics/codec';
import { deadLetterOutRecord } from '../../topics/dead-letter';
import type { RowBatch } from '../../topics/row-batch';
import { rowBatchCodec, RowBatchDecodeError } from '../../topics/row-batch-codec';
import { ensureBucket, putObject } from '../../topics/s3/model-sink';
import { DEFAULT_MODEL_NAME, stageGroup, type TopicNames } from '../../topics/topology';
import { ARROW_FILE_CONTENT_TYPE, ARROW_STREAM_CONTENT_TYPE, transformedArrowFile } from '../../topics/transformed-block';
import { transformedSchema, transformedSubject } from '../../topics/transformed-schema';
import type { InRecord, OutRecord, RecordBatch, Transport } from '../../topics/transport';
import type { TransactionUnit } from '../runner/exactly-once-stage';
import type { RowStageHandle, StageProgress } from '../runner/stage-handle';
import type { StageMetrics } from '../runner/stage-metrics';
import { ensureOutputsLikeInput, runModelDrivenStage } from '../side-input/model-driven-stage';
import { blockRowBytes, undecodableBatch, type BlockRecordOptions, type EncodedRecordBlocks } from './block-record';
import { blockEncoders, type BlockEncoders } from './encode-pool';
import { transformContext, transformedAvroValues, transformedObjectKey, transformRowBatch, type TransformContext } from './transform-batch';

/** Rows (and dead letters) per transaction in the Avro format, whose records are per row. */
export const DEFAULT_MAX_TRANSACTION_ROWS = 50_000;
/** Rows per transaction in the block format: a block costs about as much to send as one Avro record. */
export const DEFAULT_MAX_BLOCK_TRANSACTION_ROWS = 2_000_000;
/** Largest block, in bytes of its column data: a larger row batch is cut into several blocks (Kafka's message limit). */
export const DEFAULT_MAX_BLOCK_BYTES = 8 * 1024 * 1024;

/** How the transformed topic holds the encoded rows: a block per row batch, or an Avro record per row. */
export type TransformedFormat = 'block' | 'avro';
export const TRANSFORMED_FORMATS: readonly TransformedFormat[] = ['block', 'avro'];
/** Content type of a transformed value (Confluent wire format over Avro). */
export const TRANSFORMED_CONTENT_TYPE = 'application/vnd.confluent.avro';

export interface TransformS3 {
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix of the Arrow files, e.g. `vgmflow/transformed`. */
  readonly prefix: string;
}

export type TransformProgress = StageProgress;

export interface TransformOptions {
  readonly transport: Transport;
  readonly topics: TopicNames;
  /** The output topic, normally topicNames(prefix).transformed. */
  readonly transformedTopic: string;
  /** Which model of the models topic to use. Default DEFAULT_MODEL_NAME. */
  readonly modelName?: string;
  /** 'block' (default) or 'avro'. */
  readonly outputFormat?: TransformedFormat;
  /** Blocks carry each row's research-layout vector too (format 'block'; Avro records always do). Default false. */
  readonly vector?: boolean;
  /** A Confluent-compatible Schema Registry client (e.g. SchemaRegistryClient); needed for the Avro format. */
  readonly registry?: Client;
  /** Also write Arrow files to S3. */
  readonly s3?: TransformS3;
  /** Consumer group. Default stageGroup(topics, 'transform'), e.g. vgmflow-vgm-transform. */
  readonly group?: string;
  /** Default `${group}-${random}`. */
  readonly transactionalId?: string;
  /**
   * Rows (plus dead letters) after which a transaction is committed before the end of the
   * RecordBatch, between two row batches. Default 50 000 in the Avro format, 2 000 000 in the
   * block format.
   */
  readonly maxTransactionRows?: number;
  /** Largest block in bytes of column data (format 'block'). Default 8 MiB. */
  readonly maxBlockBytes?: number;
  /**
   * Worker threads that encode the row batches (format 'block'); 0 (the default) encodes in
   * the stage's thread. The output is the same bits either way.
   */
  readonly threads?: number;
  /** How long the models topic may be quiet before the latest model seen counts as current. Default 2000. */
  readonly modelIdleMs?: number;
  readonly log?: (line: string) => void;
  /**
   * Called when the read position on an input partition moves past records whose output is
   * committed (and past transaction markers): how a one-shot run knows it has caught up.
   */
  readonly onInputPosition?: (partition: number, nextOffset: number) => void;
  /** Called after each committed transaction. */
  readonly onProgress?: (p: TransformProgress) => void;
  /** Counters, lag and readiness for monitoring (default: none). */
  readonly metrics?: StageMetrics;
}

export type TransformHandle = RowStageHandle;

interface ActiveModel {
  readonly ctx: TransformContext;
  /** The Avro writer of the model's schema (format 'avro'). */
  readonly writer: AvroWireWriter | null;
}

/** What one row batch (or an undecodable record) adds to the transaction being built. */
interface EncodedPart {
  readonly records: OutRecord[];
  readonly file: { readonly key: string; readonly body: Uint8Array } | null;
  readonly rows: number;
  readonly deadLettered: number;
}

/** A record's blocks, dead letters and file as what the transaction sends. */
function blockPart(o: TransformOptions, ctx: TransformContext, record: InRecord, encoded: EncodedRecordBlocks): EncodedPart {
  const headers = { 'content-type': ARROW_STREAM_CONTENT_TYPE, 'model-version': ctx.modelVersion, 'model-name': ctx.layout.modelName };
  const records: OutRecord[] = encoded.blocks.map((b) => ({ topic: o.transformedTopic, partition: record.partition, key: b.key, value: b.value, headers }));
  for (const d of encoded.deadLetters) records.push(deadLetterOutRecord(o.topics.deadLetters, d));
  return { records, file: encoded.file, rows: encoded.rows, deadLettered: encoded.deadLetters.length };
}

/** One record of the batches topic → its Avro records (one per row), dead letters and Arrow file. */
function avroPart(o: TransformOptions, ctx: TransformContext, writer: AvroWireWriter, record: InRecord): EncodedPart {
  let rowBatch: RowBatch;
  try {
    rowBatch = rowBatchCodec.decode(record.value);
  } catch (err) {
    if (!(err instanceof RowBatchDecodeError)) throw err;
    return { records: [deadLetterOutRecord(o.topics.deadLetters, undecodableBatch(record, err))], file: null, rows: 0, deadLettered: 1 };
  }
  const { block, deadLetters } = transformRowBatch(ctx, rowBatch);
  const headers = { 'content-type': TRANSFORMED_CONTENT_TYPE, 'model-version': ctx.modelVersion, 'model-name': ctx.layout.modelName };
  const records: OutRecord[] = transformedAvroValues(ctx, block).map((r) => ({ topic: o.transformedTopic, partition: record.partition, key: r.key, value: writer.write(r.value), headers }));
  for (const d of deadLetters) records.push(deadLetterOutRecord(o.topics.deadLetters, d));
  const file = o.s3 !== undefined && block.rows.length > 0 ? { key: transformedObjectKey(o.s3.prefix, ctx.modelVersion, rowBatch), body: transformedArrowFile(block) } : null;
  return { records, file, rows: block.rows.length, deadLettered: deadLetters.length };
}

/** Resolves after the I/O callbacks that are due have run. */
function nextTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Puts the Arrow files; a retry of the same input overwrites the same keys. */
function putFiles(s3: TransformS3 | undefined, files: ReadonlyArray<{ readonly key: string; readonly body: Uint8Array }>): (() => Promise<void>) | undefined {
  if (s3 === undefined || files.length === 0) return undefined;
  return async () => {
    await Promise.all(files.map((f) => putObject(s3.client, s3.bucket, f.key, f.body, ARROW_FILE_CONTENT_TYPE)));
  };
}

/**
 * One RecordBatch of the batches topic → transaction units: normally one for the whole batch;
 * a very large one is cut between row batches so that a transaction stays of bounded size.
 */
async function* transformUnits(o: TransformOptions, model: ActiveModel, encoders: BlockEncoders, batch: RecordBatch, maxRows: number): AsyncGenerator<TransactionUnit> {
  const { ctx, writer } = model;
  // Blocks: every record of the batch handed to the encoders at once (they may be threads),
  // their results taken in input order.
  const blocks = writer === null ? batch.records.map((r) => encoders.encode(r, r.value)) : [];
  blocks.forEach((p) => p.catch(() => undefined));
  let records: OutRecord[] = [];
  let files: Array<{ key: string; body: Uint8Array }> = [];
  let rows = 0;
  let deadLettered = 0;
  for (let i = 0; i < batch.records.length; i++) {
    const record = batch.records[i] as InRecord;
    // Between row batches, let the transaction on the wire (group commit) and other I/O move on.
    if (i > 0) await nextTick();
    const part = writer === null ? blockPart(o, ctx, record, await (blocks[i] as Promise<EncodedRecordBlocks>)) : avroPart(o, ctx, writer, record);
    // One push per record: a spread of an Avro part's records (one per row, up to a row batch's
    // 50 000) overflowed the call stack.
    for (const r of part.records) records.push(r);
    if (part.file !== null) files.push(part.file);
    rows += part.rows;
    deadLettered += part.deadLettered;
    if (i === batch.records.length - 1 || rows + deadLettered >= maxRows) {
      yield { records, nextOffset: record.offset + 1, rows, deadLettered, beforeCommit: putFiles(o.s3, files) };
      records = [];
      files = [];
      rows = 0;
      deadLettered = 0;
    }
  }
}

export async function runTransform(o: TransformOptions): Promise<TransformHandle> {
  const { transport, topics, transformedTopic } = o;
  const format = o.outputFormat ?? 'block';
  if (!TRANSFORMED_FORMATS.includes(format)) throw new Error(`transform: output format must be 'block' or 'avro', not ${JSON.stringify(format)}`);
  // Checked before any topic is touched: without a registry no Avro record could be written.
  const registry: Client | null = format === 'avro' ? (o.registry ?? null) : null;
  if (format === 'avro' && registry === null) throw new Error('transform: the Avro format needs a Schema Registry client (registry)');
  const modelName = o.modelName ?? DEFAULT_MODEL_NAME;
  const group = o.group ?? stageGroup(o.topics, 'transform');
  const log = (line: string): void => o.log?.(`[transform] ${line}`);
  const maxRows = Math.max(1, o.maxTransactionRows ?? (format === 'block' ? DEFAULT_MAX_BLOCK_TRANSACTION_ROWS : DEFAULT_MAX_TRANSACTION_ROWS));
  const maxBlockBytes = Math.max(1, o.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES);

  const partitions = await ensureOutputsLikeInput(transport, 'transform', topics.batches, transformedTopic, topics.deadLetters);
  if (o.s3 !== undefined) await ensureBucket(o.s3.client, o.s3.bucket);

  let active: ActiveModel | null = null;
  // Blocks are encoded here or on threads; Avro records in this thread, with the writer.
  const encoders = blockEncoders(format === 'block' ? Math.max(0, o.threads ?? 0) : 0);
  const install = async (job: string, model: TransformContext['model']): Promise<void> => {
    if (active !== null && active.ctx.modelVersion === job) return;
    const ctx = transformContext(model, job, { modelName, vector: o.vector === true });
    const writer = registry === null ? null : await registerAvroWriter(registry, transformedSubject(transformedTopic), transformedSchema(model));
    const blockOptions: BlockRecordOptions = { maxBlockRows: Math.max(1, Math.floor(maxBlockBytes / blockRowBytes(ctx))), s3Prefix: o.s3?.prefix ?? null };
    encoders.use({ model, modelVersion: job, modelName, vector: o.vector === true }, blockOptions);
    active = { ctx, writer };
    const form = writer === null ? `blocks${ctx.layout.vector ? ' with vectors' : ''}` : `Avro, schema id ${writer.schemaId}`;
    log(`model ${modelName} version ${job} in use (${form}, ${ctx.encoder.width} encoded values per row)`);
  };
  const progress = (c: Omit<StageProgress, 'modelVersion'>): TransformProgress => ({ ...c, modelVersion: active?.ctx.modelVersion ?? null });

  const stage = await runModelDrivenStage({
    transport,
    modelsTopic: topics.models,
    modelName,
    modelIdleMs: o.modelIdleMs ?? 2000,
    inputTopic: topics.batches,
    group,
    transactionalId: o.transactionalId ?? `${group}-${randomBytes(6).toString('hex')}`,
    onInputPosition: o.onInputPosition,
    onProgress: (c) => o.onProgress?.(progress(c)),
    // Blocks: every partition's batches at once, their units sharing transactions (group
    // commit). Per-row Avro keeps one batch at a time: each holds a record object per row.
    partitionsAtOnce: format === 'block' ? partitions : 1,
    maxGroupRows: maxRows,
    log,
    metrics: o.metrics,
    install,
    process: (batch) => {
      if (active === null) throw new Error(`transform: a batch of ${recordPlace(batch.records[0] as InRecord)} arrived before a model was known`);
      return transformUnits(o, active, encoders, batch, maxRows);
    },
  });
  // The encoding threads end with the stage, however it ends.
  const closeEncoders = (): Promise<void> => encoders.close();
  const done = stage.done.then(closeEncoders, async (err: unknown) => {
    await closeEncoders();
    throw err;
  });
  done.catch(() => undefined);
  const stop = async (): Promise<void> => {
    await stage.stop();
    await closeEncoders();
  };
  return { stop, done, started: stage.started, stats: () => progress(stage.counters()) };
}

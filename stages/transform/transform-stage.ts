/**
 * The transform stage: `<prefix>.batches` (Arrow row batches) → `<prefix>.transformed`
 * (one Avro record per row, Confluent wire format via the Schema Registry) + `vgm.dlq` (rows
 * the model cannot encode), exactly once; optionally also Arrow IPC files on S3.
 *
 * The model is a side input: the stage reads the models topic from the start (broadcast),
 * keeps the latest record of its model name, and replaces it whenever a newer one arrives,
 * without a restart. The batches subscription (consumer group `vgmflow-<prefix>-transform`) starts only
 * once a model is known and the models topic has been read up to its end at start (or has been
 * quiet for `modelIdleMs`), so no batch is consumed before there is a model to encode it with.
 *
 * For each RecordBatch of one batches partition (the transport hands out up to a few hundred
 * records at once; one holding more than `maxTransactionRows` rows is split between row
 * batches into several transactions): every row batch in it is encoded (./transform-batch), its Arrow file is
 * written to S3 when a bucket is configured — `<prefix>/<model version>/part-<source
 * partition>-<first covered source offset>.arrow`, a name fixed by the row batch so that a
 * retry overwrites the same object — and then ONE transaction sends the Avro records (to the
 * transformed partition equal to the batches partition, key `${partition}:${offset}:${row}`),
 * the dead letters (to the dead-letter partition of their source), and commits the group's
 * offset past the RecordBatch. A crash before the commit leaves nothing visible to
 * read_committed readers; the batches are consumed again and give the same records and the
 * same S3 objects (the encoding is keyed by row id, not by worker or batch), unless the model
 * changed meanwhile, in which case the new version's folder gets the files.
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
import { transformedSchema, transformedSubject } from '../../topics/transformed-schema';
import type { InRecord, OutRecord, RecordBatch, Transport } from '../../topics/transport';
import type { TransactionUnit } from '../runner/exactly-once-stage';
import type { RowStageHandle, StageProgress } from '../runner/stage-handle';
import { ensureOutputsLikeInput, runModelDrivenStage } from '../side-input/model-driven-stage';
import {
  encodeTransformedArrow,
  transformContext,
  transformedObjectKey,
  transformRowBatch,
  type TransformContext,
} from './transform-batch';

export const DEFAULT_MAX_TRANSACTION_ROWS = 50_000;
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
  /** A Confluent-compatible Schema Registry client (e.g. SchemaRegistryClient). */
  readonly registry: Client;
  /** Also write Arrow files to S3. */
  readonly s3?: TransformS3;
  /** Consumer group. Default stageGroup(topics, 'transform'), e.g. vgmflow-vgm-transform. */
  readonly group?: string;
  /** Default `${group}-${random}`. */
  readonly transactionalId?: string;
  /**
   * Rows (plus dead letters) after which a transaction is committed before the end of the
   * RecordBatch, between two row batches. Default 50 000.
   */
  readonly maxTransactionRows?: number;
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
}

export type TransformHandle = RowStageHandle;

interface ActiveModel {
  readonly ctx: TransformContext;
  readonly writer: AvroWireWriter;
}

/** What one row batch (or an undecodable record) adds to the transaction being built. */
interface EncodedPart {
  readonly records: OutRecord[];
  readonly file: { readonly key: string; readonly body: Uint8Array } | null;
  readonly rows: number;
  readonly deadLettered: number;
}

/** One record of the batches topic → its Avro records, dead letters and Arrow file. */
function encodeRecord(o: TransformOptions, model: ActiveModel, record: InRecord): EncodedPart {
  const { ctx, writer } = model;
  let rowBatch: RowBatch;
  try {
    rowBatch = rowBatchCodec.decode(record.value);
  } catch (err) {
    if (!(err instanceof RowBatchDecodeError)) throw err;
    const d = { raw: '', reason: `transform: ${err.message}`, topic: record.topic, partition: record.partition, offset: record.offset, line: 0 };
    return { records: [deadLetterOutRecord(o.topics.deadLetters, d)], file: null, rows: 0, deadLettered: 1 };
  }
  const result = transformRowBatch(ctx, rowBatch);
  const headers = { 'content-type': TRANSFORMED_CONTENT_TYPE, 'model-version': ctx.modelVersion };
  const records: OutRecord[] = result.rows.map((r) => ({ topic: o.transformedTopic, partition: record.partition, key: r.key, value: writer.write(r.value), headers }));
  for (const d of result.deadLetters) records.push(deadLetterOutRecord(o.topics.deadLetters, d));
  const file =
    o.s3 !== undefined && result.rows.length > 0
      ? { key: transformedObjectKey(o.s3.prefix, ctx.modelVersion, rowBatch), body: encodeTransformedArrow(ctx, result.rows) }
      : null;
  return { records, file, rows: result.rows.length, deadLettered: result.deadLetters.length };
}

/** Puts the Arrow files; a retry of the same input overwrites the same keys. */
function putFiles(s3: TransformS3 | undefined, files: ReadonlyArray<{ readonly key: string; readonly body: Uint8Array }>): (() => Promise<void>) | undefined {
  if (s3 === undefined || files.length === 0) return undefined;
  return async () => {
    await Promise.all(files.map((f) => putObject(s3.client, s3.bucket, f.key, f.body, 'application/vnd.apache.arrow.file')));
  };
}

/**
 * One RecordBatch of the batches topic → transaction units: normally one for the whole batch;
 * a very large one is cut between row batches so that a transaction stays of bounded size.
 */
function* transformUnits(o: TransformOptions, model: ActiveModel, batch: RecordBatch, maxRows: number): Generator<TransactionUnit> {
  let records: OutRecord[] = [];
  let files: Array<{ key: string; body: Uint8Array }> = [];
  let rows = 0;
  let deadLettered = 0;
  for (let i = 0; i < batch.records.length; i++) {
    const record = batch.records[i] as InRecord;
    const part = encodeRecord(o, model, record);
    records.push(...part.records);
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
  const { transport, topics, transformedTopic, registry } = o;
  const modelName = o.modelName ?? DEFAULT_MODEL_NAME;
  const group = o.group ?? stageGroup(o.topics, 'transform');
  const log = (line: string): void => o.log?.(`[transform] ${line}`);
  const maxRows = Math.max(1, o.maxTransactionRows ?? DEFAULT_MAX_TRANSACTION_ROWS);

  await ensureOutputsLikeInput(transport, 'transform', topics.batches, transformedTopic, topics.deadLetters);
  if (o.s3 !== undefined) await ensureBucket(o.s3.client, o.s3.bucket);

  let active: ActiveModel | null = null;
  const install = async (job: string, model: TransformContext['model']): Promise<void> => {
    if (active !== null && active.ctx.modelVersion === job) return;
    const ctx = transformContext(model, job);
    const writer = await registerAvroWriter(registry, transformedSubject(transformedTopic), transformedSchema(model));
    active = { ctx, writer };
    log(`model ${modelName} version ${job} in use (schema id ${writer.schemaId}, ${ctx.encoder.width} encoded values per row)`);
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
    log,
    install,
    process: (batch) => {
      if (active === null) throw new Error(`transform: a batch of ${recordPlace(batch.records[0] as InRecord)} arrived before a model was known`);
      return transformUnits(o, active, batch, maxRows);
    },
  });
  return { stop: stage.stop, done: stage.done, started: stage.started, stats: () => progress(stage.counters()) };
}

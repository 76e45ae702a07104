/**
 * The transform stage (DESIGN §3): `vgm.batches` (Arrow row batches) → `<prefix>.transformed`
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
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@confluentinc/schemaregistry';
import { registerAvroWriter, type AvroWireWriter } from '../../topics/avro-wire';
import { deadLetterOutRecord } from '../../topics/dead-letter';
import { ensureOutputsLikeInput, runModelDrivenStage } from '../side-input/model-driven-stage';
import type { RowBatch } from '../../topics/row-batch';
import { decodeRowBatch, RowBatchDecodeError } from '../../topics/row-batch-codec';
import { stageGroup, type TopicNames } from '../../topics/topology';
import { transformedSchema, transformedSubject } from '../../topics/transformed-schema';
import type { InRecord, OutRecord, Producer, RecordBatch, Transport } from '../../topics/transport';
import { ensureBucket } from '../../topics/s3/model-sink';
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

/** The transformed topic of a pipeline prefix: `<prefix>.transformed`. */
export function transformedTopicName(prefix = 'vgm'): string {
  return `${prefix}.transformed`;
}

export interface TransformS3 {
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix of the Arrow files, e.g. `vgmflow/transformed`. */
  readonly prefix: string;
}

export interface TransformProgress {
  readonly rows: number;
  readonly deadLettered: number;
  readonly transactions: number;
  /** The model version (job id) in use, null before one is known. */
  readonly modelVersion: string | null;
}

export interface TransformOptions {
  readonly transport: Transport;
  readonly topics: TopicNames;
  /** Default `vgm.transformed` style: pass transformedTopicName(prefix). */
  readonly transformedTopic: string;
  /** Which model of the models topic to use. Default 'default'. */
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

export interface TransformHandle {
  stop(): Promise<void>;
  /** Rejects if processing failed. */
  readonly done: Promise<void>;
  /** Resolves once a model is in use and the batches subscription has started. */
  readonly started: Promise<void>;
  stats(): TransformProgress;
}

interface ActiveModel {
  readonly ctx: TransformContext;
  readonly writer: AvroWireWriter;
}

export async function runTransform(o: TransformOptions): Promise<TransformHandle> {
  const { transport, topics, transformedTopic, registry } = o;
  const modelName = o.modelName ?? 'default';
  const group = o.group ?? stageGroup(o.topics, 'transform');
  const transactionalId = o.transactionalId ?? `${group}-${randomBytes(6).toString('hex')}`;
  const idleMs = o.modelIdleMs ?? 2000;
  const log = (line: string): void => o.log?.(`[transform] ${line}`);

  await ensureOutputsLikeInput(transport, 'transform', topics.batches, transformedTopic, topics.deadLetters);
  if (o.s3 !== undefined) await ensureBucket(o.s3.client, o.s3.bucket);

  let rows = 0;
  let deadLettered = 0;
  let transactions = 0;
  let active: ActiveModel | null = null;
  const stats = (): TransformProgress => ({ rows, deadLettered, transactions, modelVersion: active?.ctx.modelVersion ?? null });

  const producer: Producer = await transport.producer({ transactionalId });
  const install = async (job: string, ctxModel: TransformContext['model']): Promise<void> => {
    if (active !== null && active.ctx.modelVersion === job) return;
    const ctx = transformContext(ctxModel, job);
    const writer = await registerAvroWriter(registry, transformedSubject(transformedTopic), transformedSchema(ctxModel));
    active = { ctx, writer };
    log(`model ${modelName} version ${job} in use (schema id ${writer.schemaId}, ${ctx.encoder.width} encoded values per row)`);
  };

  const maxRows = Math.max(1, o.maxTransactionRows ?? DEFAULT_MAX_TRANSACTION_ROWS);

  const processBatch = async (batch: RecordBatch): Promise<void> => {
    if (batch.records.length === 0) return;
    const current = active;
    if (current === null) throw new Error('transform: a batch arrived before a model was known');
    const { ctx, writer } = current;
    let out: OutRecord[] = [];
    let files: Array<{ key: string; body: Uint8Array }> = [];
    let pendingRows = 0;
    let pendingDead = 0;

    /** S3 objects, then one transaction: the records so far and the offset past `next - 1`. */
    const flush = async (next: number): Promise<void> => {
      // The objects first: a crash after them but before the commit re-writes the same keys.
      const s3 = o.s3;
      if (s3 !== undefined) {
        await Promise.all(
          files.map((f) =>
            s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: f.key, Body: f.body, ContentType: 'application/vnd.apache.arrow.file' })),
          ),
        );
      }
      const records = out;
      await producer.transaction(async (tx) => {
        if (records.length > 0) await tx.send(records);
        await tx.sendOffsets(group, [{ topic: batch.topic, partition: batch.partition, offset: next }]);
      });
      rows += pendingRows;
      deadLettered += pendingDead;
      transactions++;
      out = [];
      files = [];
      pendingRows = 0;
      pendingDead = 0;
      o.onProgress?.(stats());
    };

    for (let i = 0; i < batch.records.length; i++) {
      const record = batch.records[i] as InRecord;
      let rowBatch: RowBatch | null = null;
      try {
        rowBatch = decodeRowBatch(record.value);
      } catch (err) {
        if (!(err instanceof RowBatchDecodeError)) throw err;
        out.push(
          deadLetterOutRecord(topics.deadLetters, {
            raw: '',
            reason: `transform: ${err.message}`,
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
            line: 0,
          }),
        );
        pendingDead++;
      }
      if (rowBatch !== null) {
        const result = transformRowBatch(ctx, rowBatch);
        for (const r of result.rows) {
          out.push({
            topic: transformedTopic,
            partition: batch.partition,
            key: r.key,
            value: writer.write(r.value),
            headers: { 'content-type': TRANSFORMED_CONTENT_TYPE, 'model-version': ctx.modelVersion },
          });
        }
        for (const d of result.deadLetters) out.push(deadLetterOutRecord(topics.deadLetters, d));
        if (o.s3 !== undefined && result.rows.length > 0) {
          files.push({ key: transformedObjectKey(o.s3.prefix, ctx.modelVersion, rowBatch), body: encodeTransformedArrow(ctx, result.rows) });
        }
        pendingRows += result.rows.length;
        pendingDead += result.deadLetters.length;
      }
      // Normally one transaction for the whole RecordBatch; very large ones are split between
      // row batches so that a transaction stays of bounded size.
      if (i === batch.records.length - 1 || pendingRows + pendingDead >= maxRows) await flush(record.offset + 1);
    }
  };

  // ---- the side input: the latest model on the models topic.
  const stage = await runModelDrivenStage({
    transport,
    modelsTopic: topics.models,
    modelName,
    modelIdleMs: idleMs,
    inputTopic: topics.batches,
    group,
    onInputPosition: o.onInputPosition,
    log,
    install,
    processBatch,
    close: () => producer.close(),
  });
  return { stop: stage.stop, done: stage.done, started: stage.started, stats };
}

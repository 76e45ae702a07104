/**
 * The inverse stage: an encoded topic (default `<prefix>.encoded`: generated rows; or
 * `<prefix>.transformed`) → `<prefix>.decoded` + `<prefix>.dlq` (rows that cannot be decoded,
 * with reasons), exactly once. The decoded topic holds, per `output`:
 *   - 'block' (the default): one message per input message, its decoded rows column by column
 *     as an Arrow IPC stream (topics/decoded-block.ts; key: the input key, else
 *     `<partition>:<offset>` of the input);
 *   - 'csv': one CSV line per row; 'avro': one Avro vgmflow.Decoded record per row
 *     (topics/decoded-schema.ts), keys as inverse-batch.ts says.
 *
 * Input values, told apart per message by their content-type header and first bytes
 * (./inverse-batch.ts `encodedFormat`): blocks of the transformed topic (Arrow IPC streams),
 * Avro in vgmflow.Transformed (Confluent wire format, magic byte 0; decoded with the Schema
 * Registry, only `vector` is used) or CSV text in the research layout (one or more rows per
 * message, numbers only, no header). `format` forces one reading for every message instead.
 *
 * The model is a side input, as in the transform stage (stages/transform/transform-stage.ts):
 * the models topic is read from the start (broadcast), the latest record of the model name is
 * kept and replaced whenever a newer one arrives; the encoded subscription (consumer group
 * `vgmflow-<prefix>-inverse`) starts only once a model is known and the models topic has been read to
 * its end at start (or has been quiet for `modelIdleMs`). With Avro output each model's
 * vgmflow.Decoded schema is registered under `<decoded topic>-value` when the model is
 * installed, as the transform stage does: a model with other columns registers a new version
 * of the subject and its rows carry the new schema id; a refit of the same columns reuses the id.
 *
 * For each RecordBatch of one encoded partition ONE transaction sends the decoded output (to
 * the decoded partition equal to the encoded partition), the dead letters (to the dead-letter
 * partition of their source) and commits the group's offset past the RecordBatch. The registry
 * is called when a model is put in use, never per row (topics/avro-wire.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@confluentinc/schemaregistry';
import { avroWireReader, AvroWireFormatError, registerAvroWriter, type AvroWireReader, type AvroWireWriter } from '../../topics/avro-wire';
import { encodedRecord, recordPlace } from '../../topics/codec';
import { decodedBlockCodec } from '../../topics/decoded-block';
import { transformedBlockCodec, TransformedBlockError, type TransformedBlock } from '../../topics/transformed-block';
import { isUnknownSchemaError } from '../../topics/registry';
import { deadLetterOutRecord } from '../../topics/dead-letter';
import { DECODED_AVRO_CONTENT_TYPE, decodedColumnFields, decodedSchema, decodedSubject, decodedValue, type DecodedColumnField } from '../../topics/decoded-schema';
import { DEFAULT_MODEL_NAME, DEFAULT_PARTITIONS, OUTPUT_TOPIC_CONFIG, stageGroup, type TopicNames } from '../../topics/topology';
import type { InRecord, OutRecord, RecordBatch, Transport } from '../../topics/transport';
import type { TransactionUnit } from '../runner/exactly-once-stage';
import type { RowStageHandle, StageProgress } from '../runner/stage-handle';
import type { StageMetrics } from '../runner/stage-metrics';
import { ensureOutputsLikeInput, runModelDrivenStage } from '../side-input/model-driven-stage';
import {
  decodedBlockOf,
  decodedBlockOfRows,
  decodedRowsOf,
  ENCODED_FORMATS,
  encodedFormat,
  inverseBlock,
  inverseContext,
  inverseMessage,
  type DecodedRow,
  type EncodedFormat,
  type EncodedMessage,
  type InverseContext,
} from './inverse-batch';

/** Content type of a decoded CSV value (the default output). */
export const DECODED_CONTENT_TYPE = 'text/csv';

/** How decoded rows are written: blocks (default), CSV text, or Avro vgmflow.Decoded in Confluent wire format. */
export type DecodedOutput = 'block' | 'csv' | 'avro';
export const DECODED_OUTPUTS: readonly DecodedOutput[] = ['block', 'csv', 'avro'];

export type InverseProgress = StageProgress;

export interface InverseOptions {
  readonly transport: Transport;
  readonly topics: TopicNames;
  /** The input topic: pass topicNames(prefix).encoded or e.g. topicNames(prefix).transformed. */
  readonly encodedTopic: string;
  /** The output topic: pass topicNames(prefix).decoded. */
  readonly decodedTopic: string;
  /** Which model of the models topic to use. Default DEFAULT_MODEL_NAME. */
  readonly modelName?: string;
  /** Schema Registry client, needed to read Avro values (not for block or CSV input) and for Avro output. */
  readonly registry?: Client | (() => Client);
  /** The decoded values: 'block' (default), 'csv' or 'avro' (needs `registry`). */
  readonly output?: DecodedOutput;
  /** Read every message as this format instead of by its first byte. */
  readonly format?: EncodedFormat;
  /** Consumer group. Default stageGroup(topics, 'inverse'), e.g. vgmflow-vgm-inverse. */
  readonly group?: string;
  /** Default `${group}-${random}`. */
  readonly transactionalId?: string;
  /** Partitions of the encoded topic if it has to be created. Default DEFAULT_PARTITIONS. */
  readonly partitions?: number;
  /** Default 2000. */
  readonly modelIdleMs?: number;
  readonly log?: (line: string) => void;
  /**
   * Called when the read position on an input partition moves past records whose output is
   * committed (and past transaction markers): how a one-shot run knows it has caught up.
   */
  readonly onInputPosition?: (partition: number, nextOffset: number) => void;
  /** Called after each committed transaction. */
  readonly onProgress?: (p: InverseProgress) => void;
  /** Counters, lag and readiness for monitoring (default: none). */
  readonly metrics?: StageMetrics;
}

export type InverseHandle = RowStageHandle;

/** An Avro read failure caused by the record (→ dead letter), not by the registry being unreachable (→ rethrown). */
function isRecordFault(err: unknown): boolean {
  if (err instanceof AvroWireFormatError) return true;
  // An unknown schema id; any other registry or network error stops the stage instead.
  return isUnknownSchemaError(err);
}

/** The model in use and, for Avro output, its writer (bound to the model's registered schema). */
interface ActiveModel {
  readonly ctx: InverseContext;
  readonly avro: { readonly writer: AvroWireWriter; readonly fields: readonly DecodedColumnField[] } | null;
}

export async function runInverse(o: InverseOptions): Promise<InverseHandle> {
  const { transport, topics, encodedTopic, decodedTopic } = o;
  const output = o.output ?? 'block';
  if (!DECODED_OUTPUTS.includes(output)) throw new Error(`inverse: output must be 'block', 'csv' or 'avro', not ${JSON.stringify(output)}`);
  if (o.format !== undefined && !ENCODED_FORMATS.includes(o.format)) throw new Error(`inverse: format must be 'block', 'avro' or 'csv', not ${JSON.stringify(o.format)}`);
  // Checked before any topic is touched: without a registry no row could be written.
  // A function is called on first use only (a stage that never meets Avro never loads the client).
  const registryOf = (): Client | null => (o.registry === undefined ? null : typeof o.registry === 'function' ? o.registry() : o.registry);
  const outputRegistry: Client | null = output === 'avro' ? registryOf() : null;
  if (output === 'avro' && outputRegistry === null) throw new Error('inverse: Avro output needs a Schema Registry client (registry)');
  const modelName = o.modelName ?? DEFAULT_MODEL_NAME;
  const group = o.group ?? stageGroup(o.topics, 'inverse');
  const log = (line: string): void => o.log?.(`[inverse] ${line}`);

  await transport.ensureTopics([{ name: encodedTopic, partitions: o.partitions ?? DEFAULT_PARTITIONS, config: OUTPUT_TOPIC_CONFIG }]);
  const partitions = await ensureOutputsLikeInput(transport, 'inverse', encodedTopic, decodedTopic, topics.deadLetters);
  let avroReader: AvroWireReader | null = null;
  const reader = (): AvroWireReader | null => {
    const registry = avroReader === null ? registryOf() : null;
    if (registry !== null) avroReader = avroWireReader(registry, `${encodedTopic}-value`);
    return avroReader;
  };

  let active: ActiveModel | null = null;
  const progress = (c: Omit<StageProgress, 'modelVersion'>): InverseProgress => ({ ...c, modelVersion: active?.ctx.modelVersion ?? null });

  const readMessage = async (record: InRecord): Promise<EncodedMessage | { readonly kind: 'block'; readonly block: TransformedBlock }> => {
    const format = o.format ?? encodedFormat(record.value, record.headers);
    if (format === 'block') {
      try {
        return { kind: 'block', block: transformedBlockCodec.decode(record.value) };
      } catch (err) {
        if (!(err instanceof TransformedBlockError)) throw err;
        return { kind: 'unreadable', reason: err.message };
      }
    }
    if (format === 'csv') return { kind: 'csv', text: Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength).toString('utf8') };
    const avro = reader();
    if (avro === null) return { kind: 'unreadable', reason: 'an Avro value, but no Schema Registry is configured' };
    try {
      const value: unknown = await avro.read(record.value);
      const vector = typeof value === 'object' && value !== null ? (value as { vector?: unknown }).vector : undefined;
      return { kind: 'vector', vector };
    } catch (err) {
      if (!isRecordFault(err)) throw err;
      return { kind: 'unreadable', reason: `undecodable Avro value: ${err instanceof Error ? err.message : String(err)}` };
    }
  };

  /** The model's context and, for Avro output, its schema registered under the decoded subject (as transform does). */
  const activate = async (job: string, model: InverseContext['model']): Promise<ActiveModel> => {
    const ctx = inverseContext(model, job, modelName);
    if (outputRegistry === null) return { ctx, avro: null };
    // One writer per model: a newer model with other columns registers and writes its own schema.
    const writer = await registerAvroWriter(outputRegistry, decodedSubject(decodedTopic), decodedSchema(model));
    log(`decoded values: Avro vgmflow.Decoded, schema id ${writer.schemaId} under ${decodedSubject(decodedTopic)}`);
    return { ctx, avro: { writer, fields: decodedColumnFields(model) } };
  };

  /** One RecordBatch of the encoded topic → one transaction of decoded rows and dead letters. */
  async function* inverseUnits(model: ActiveModel, batch: RecordBatch): AsyncGenerator<TransactionUnit> {
    const { ctx, avro } = model;
    const blockHeaders = { 'model-version': ctx.modelVersion, 'model-name': modelName };
    const rowHeaders = { 'content-type': avro === null ? DECODED_CONTENT_TYPE : DECODED_AVRO_CONTENT_TYPE, ...blockHeaders };
    const records: OutRecord[] = [];
    let rows = 0;
    let deadLettered = 0;
    const perRow = (decoded: readonly DecodedRow[]): void => {
      for (const r of decoded) {
        const value = avro === null ? Buffer.from(r.csv, 'utf8') : avro.writer.write(decodedValue(ctx.model, ctx.modelVersion, r, avro.fields));
        records.push({ topic: decodedTopic, partition: batch.partition, key: r.key, value, headers: rowHeaders });
      }
    };
    for (const record of batch.records) {
      const blockKey = record.key ?? `${record.partition}:${record.offset}`;
      const message = await readMessage(record);
      if (message.kind === 'block') {
        const result = inverseBlock(ctx, record, message.block);
        const kept = result.decoded.length - result.decoded.rejections.length;
        if (output === 'block') {
          if (kept > 0) records.push(encodedRecord(decodedBlockCodec, decodedTopic, blockKey, decodedBlockOf(ctx, result.decoded, result.rowIds), { partition: batch.partition, headers: blockHeaders }));
        } else {
          perRow(decodedRowsOf(ctx, result.decoded, result.rowIds));
        }
        for (const d of result.deadLetters) records.push(deadLetterOutRecord(topics.deadLetters, d));
        rows += kept;
        deadLettered += result.deadLetters.length;
        continue;
      }
      const result = inverseMessage(ctx, record, message);
      if (output === 'block') {
        if (result.rows.length > 0) records.push(encodedRecord(decodedBlockCodec, decodedTopic, blockKey, decodedBlockOfRows(ctx, record, result.rows), { partition: batch.partition, headers: blockHeaders }));
      } else {
        perRow(result.rows);
      }
      for (const d of result.deadLetters) records.push(deadLetterOutRecord(topics.deadLetters, d));
      rows += result.rows.length;
      deadLettered += result.deadLetters.length;
    }
    const last = batch.records[batch.records.length - 1] as InRecord;
    yield { records, nextOffset: last.offset + 1, rows, deadLettered };
  }

  const stage = await runModelDrivenStage({
    transport,
    modelsTopic: topics.models,
    modelName,
    modelIdleMs: o.modelIdleMs ?? 2000,
    inputTopic: encodedTopic,
    group,
    transactionalId: o.transactionalId ?? `${group}-${randomBytes(6).toString('hex')}`,
    onInputPosition: o.onInputPosition,
    onProgress: (c) => o.onProgress?.(progress(c)),
    // Block output: every partition's batches at once, their units sharing transactions
    // (group commit). Per-row output keeps one batch at a time, as the Avro transform does.
    partitionsAtOnce: output === 'block' ? partitions : 1,
    maxGroupRows: output === 'block' ? 2_000_000 : 50_000,
    log,
    metrics: o.metrics,
    install: async (job, model) => {
      const next = await activate(job, model);
      active = next;
      log(`model ${modelName} version ${job} in use (${next.ctx.decoder.width} encoded values per row)`);
    },
    process: (batch) => {
      if (active === null) throw new Error(`inverse: a batch of ${recordPlace(batch.records[0] as InRecord)} arrived before a model was known`);
      return inverseUnits(active, batch);
    },
  });
  return { stop: stage.stop, done: stage.done, started: stage.started, stats: () => progress(stage.counters()) };
}

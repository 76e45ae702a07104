/**
 * Every topic of the pipeline in one place: its name, partitions, configs, and the codec of its
 * values (ARCHITECTURE.md, "Topics"). Names take a prefix so that several pipelines (or tests)
 * can share a cluster.
 */
import { FILE_ROW_PARTITIONS } from '../core/normalization/row-id';
import { SUMMARY_SHARDS } from '../core/normalization/value-shard';
import type { Codec } from './codec';
import { deadLetterCodec } from './dead-letter';
import { broadcastCodec, partialCodec } from './fit-messages';
import { modelRecordCodec } from './model-record';
import { rowBatchCodec } from './row-batch-codec';
import { summaryChunkCodec } from './summary-chunk';
import type { TopicSpec } from './transport';

export interface TopicNames {
  /** The prefix the names were made from; it also names the stages' consumer groups. */
  readonly prefix: string;
  /** CSV text produced by users: one or more rows per message. */
  readonly rows: string;
  /** Arrow IPC record batches of parsed rows, with their source partition and offsets. */
  readonly batches: string;
  /** Each input partition's summary of each value shard, for the worker that owns the shard. */
  readonly summaries: string;
  /** Partial statistics from the stats workers, one per value shard and round. */
  readonly stats: string;
  /** The reducer's broadcast: the current request of each fit job (compacted, keyed by job). */
  readonly params: string;
  /** Fitted models (compacted, keyed by model name; versioned values). */
  readonly models: string;
  /** Rejected input: the raw row, the reason, the source topic, partition and offset. */
  readonly deadLetters: string;
  /** The transform stage's output: encoded rows. */
  readonly transformed: string;
  /** The inverse stage's default input: encoded rows from a generator. */
  readonly encoded: string;
  /** The inverse stage's output: decoded rows. */
  readonly decoded: string;
}

export const DEFAULT_TOPIC_PREFIX = 'vgm';

export function topicNames(prefix = DEFAULT_TOPIC_PREFIX): TopicNames {
  return {
    prefix,
    rows: `${prefix}.rows`,
    batches: `${prefix}.batches`,
    summaries: `${prefix}.summaries`,
    stats: `${prefix}.stats`,
    params: `${prefix}.params`,
    models: `${prefix}.models`,
    deadLetters: `${prefix}.dlq`,
    transformed: `${prefix}.transformed`,
    encoded: `${prefix}.encoded`,
    decoded: `${prefix}.decoded`,
  };
}

/**
 * Partitions of the topics a command creates. The same number lays out a file's rows in the
 * embedded runner (core/normalization/row-id.ts), which is why a file fitted or encoded
 * embedded equals the same file produced to Kafka with the defaults.
 */
export const DEFAULT_PARTITIONS = FILE_ROW_PARTITIONS;

/** The models topic key a fit publishes under and the transform and inverse stages follow. */
export const DEFAULT_MODEL_NAME = 'default';

export type GroupStage = 'ingest' | 'stats' | 'transform' | 'inverse';

/**
 * A stage's default consumer group, per topic prefix: kafkajs hands a group's members only
 * the topics its leader subscribed to, so two pipelines sharing one group would starve.
 */
export function stageGroup(names: TopicNames, stage: GroupStage): string {
  return `vgmflow-${names.prefix}-${stage}`;
}

/**
 * Messages up to 16 MiB: a CSV record over the parser's 1 MiB limit must reach ingest to be
 * dead-lettered with its reason, and one large message makes one large row batch.
 */
const LARGE = { 'max.message.bytes': String(16 * 1024 * 1024) };
/** Retain forever: a fit job's result must stay a function of the topic's rows. */
const KEEP = { 'retention.ms': '-1', ...LARGE };
const COMPACT = { 'cleanup.policy': 'compact', ...LARGE };
/**
 * Stage outputs: kept, messages up to 16 MiB: a block (one message per input row batch,
 * topics/transformed-block.ts) outgrows Kafka's 1 MiB default; per-row records are far smaller.
 */
export const OUTPUT_TOPIC_CONFIG: Readonly<Record<string, string>> = { 'retention.ms': '-1', ...LARGE };

/**
 * The contract of a topic every pipeline has: what its values are (the codec), how many
 * partitions it has (the pipeline's count; one per value shard for the summaries; one for the
 * fit's control topics, whose order matters), and its configs. The stage outputs (transformed,
 * decoded) are created by their stages like their input; their values are blocks (Arrow IPC
 * streams), Avro or CSV, chosen per stage.
 */
export interface TopicContract {
  readonly role: Exclude<keyof TopicNames, 'prefix' | 'transformed' | 'encoded' | 'decoded'>;
  readonly partitions: 'pipeline' | 'shards' | 1;
  readonly config: Readonly<Record<string, string>>;
  /** null: raw CSV text, read line by line by ingest (a bad line is dead-lettered, not the message). */
  readonly codec: Codec<unknown> | null;
}

export const PIPELINE_TOPICS: readonly TopicContract[] = [
  { role: 'rows', partitions: 'pipeline', config: KEEP, codec: null },
  // Batches keep the partitioning of the rows they came from.
  { role: 'batches', partitions: 'pipeline', config: KEEP, codec: rowBatchCodec },
  { role: 'summaries', partitions: 'shards', config: KEEP, codec: summaryChunkCodec },
  { role: 'stats', partitions: 1, config: KEEP, codec: partialCodec },
  { role: 'params', partitions: 1, config: COMPACT, codec: broadcastCodec },
  { role: 'models', partitions: 1, config: COMPACT, codec: modelRecordCodec },
  { role: 'deadLetters', partitions: 'pipeline', config: KEEP, codec: deadLetterCodec },
];

export function topicSpecs(names: TopicNames, partitions = DEFAULT_PARTITIONS): TopicSpec[] {
  const count = (t: TopicContract): number => (t.partitions === 'pipeline' ? partitions : t.partitions === 'shards' ? SUMMARY_SHARDS : 1);
  return PIPELINE_TOPICS.map((t) => ({ name: names[t.role], partitions: count(t), config: t.config }));
}

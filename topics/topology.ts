/**
 * Every topic of the pipeline in one place: its name, partitions, configs, and the codec of its
 * values (ARCHITECTURE.md, "Topics"). Names take a prefix so that several pipelines (or tests)
 * can share a cluster; they live in ./topic-names, which a command can load without the codecs.
 */
import { SUMMARY_SHARDS } from '../core/normalization/value-shard';
import type { Codec } from './codec';
import { deadLetterCodec } from './dead-letter';
import { broadcastCodec, partialCodec } from './fit-messages';
import { modelRecordCodec } from './model-record';
import { rowBatchCodec } from './row-batch-codec';
import { summaryChunkCodec } from './summary-chunk';
import { DEFAULT_PARTITIONS, type TopicNames } from './topic-names';
import type { TopicSpec } from './transport';

export { DEFAULT_MODEL_NAME, DEFAULT_PARTITIONS, DEFAULT_TOPIC_PREFIX, stageGroup, topicNames, type GroupStage, type TopicNames } from './topic-names';

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

/**
 * The pipeline's topic and consumer-group names, per prefix, and its default partition count:
 * what option parsing needs, apart from ./topology's codecs (which load Apache Arrow).
 */
import { FILE_ROW_PARTITIONS } from '../core/normalization/row-id';

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

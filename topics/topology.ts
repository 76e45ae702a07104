/**
 * Every topic of the pipeline in one place: names, partition counts and configs.
 * Names take a prefix so that several pipelines (or tests) can share a cluster.
 */
import type { TopicSpec } from './transport';

export interface TopicNames {
  /** The prefix the names were made from; it also names the stages' consumer groups. */
  readonly prefix: string;
  /** CSV text produced by users: one or more rows per message. */
  readonly rows: string;
  /** Arrow IPC record batches of parsed rows, with their source partition and offsets. */
  readonly batches: string;
  /** Partial statistics from the stats workers. */
  readonly stats: string;
  /** The reducer's broadcast: the current request of each fit job (compacted, keyed by job). */
  readonly params: string;
  /** Fitted models (compacted, keyed by model name; versioned values). */
  readonly models: string;
  /** Rejected input: the raw row, the reason, the source topic, partition and offset. */
  readonly deadLetters: string;
}

export function topicNames(prefix = 'vgm'): TopicNames {
  return {
    prefix,
    rows: `${prefix}.rows`,
    batches: `${prefix}.batches`,
    stats: `${prefix}.stats`,
    params: `${prefix}.params`,
    models: `${prefix}.models`,
    deadLetters: `${prefix}.dlq`,
  };
}

export const DEFAULT_PARTITIONS = 6;

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

export function topicSpecs(names: TopicNames, partitions = DEFAULT_PARTITIONS): TopicSpec[] {
  return [
    { name: names.rows, partitions, config: KEEP },
    // Batches keep the partitioning of the rows they came from.
    { name: names.batches, partitions, config: KEEP },
    { name: names.stats, partitions: 1, config: KEEP },
    { name: names.params, partitions: 1, config: COMPACT },
    { name: names.models, partitions: 1, config: COMPACT },
    { name: names.deadLetters, partitions, config: KEEP },
  ];
}

/**
 * A stats reader's work on one input partition, as a pure state machine: the partition's row
 * batches (encoded, as they come off the batches topic) into its summary (./partition-summary.ts)
 * and, once the summary is complete, the encoded chunks it sends each value shard. The same code
 * runs in the worker's thread or on a summary thread (./summary-pool.ts), so where a partition
 * is summarised cannot change a byte.
 */
import { rowBatchCodec } from '../../topics/row-batch-codec';
import { summaryChunkCodec, summaryChunkKey, summaryChunks } from '../../topics/summary-chunk';
import type { FitJobSpec } from '../../topics/fit-messages';
import { summaryOptionsOf } from '../../core/normalization/fit-transformer';
import { shardSummaries } from '../../core/normalization/value-shard';
import { PartitionSummary, type AddOutcome } from './partition-summary';

/** One encoded chunk for value shard `shard` (the partition of the summaries topic). */
export interface ChunkRecord {
  readonly shard: number;
  readonly key: string;
  readonly value: Uint8Array;
}

export interface BatchAdded {
  readonly outcome: AddOutcome;
  /** Rows of the job in the partition so far. */
  readonly rows: number;
  /** The chunks of the partition's summary, once the batch completed it; else null. */
  readonly chunks: ChunkRecord[] | null;
}

/** The spec fields a partition summary needs (sent to a thread once per partition start). */
export type PartitionJob = Pick<FitJobSpec, 'job' | 'columns' | 'options' | 'initialMeans' | 'sourceStartOffsets' | 'sourceEndOffsets'>;

export function partitionJob(spec: FitJobSpec): PartitionJob {
  const { job, columns, options, initialMeans, sourceStartOffsets, sourceEndOffsets } = spec;
  return { job, columns, options, initialMeans, sourceStartOffsets, sourceEndOffsets };
}

export class PartitionChunker {
  private readonly summary: PartitionSummary;
  private sent = false;

  constructor(
    private readonly job: PartitionJob,
    private readonly partition: number,
  ) {
    this.summary = new PartitionSummary(
      job.columns,
      job.sourceStartOffsets[partition] ?? 0,
      job.sourceEndOffsets[partition] ?? 0,
      summaryOptionsOf(job.options),
      job.initialMeans,
    );
  }

  /** The chunks when the partition has no rows in the job (complete from the start), else null. */
  chunksIfEmpty(): ChunkRecord[] | null {
    return this.summary.complete ? this.chunks() : null;
  }

  add(value: Uint8Array): BatchAdded {
    if (this.summary.complete) return { outcome: 'duplicate', rows: this.summary.rows, chunks: null };
    const outcome = this.summary.add(rowBatchCodec.decode(value));
    return { outcome, rows: this.summary.rows, chunks: outcome === 'added' && this.summary.complete ? this.chunks() : null };
  }

  /** The complete summary cut into value shards, each shard's part in chunks, encoded; once. */
  private chunks(): ChunkRecord[] {
    if (this.sent) return [];
    this.sent = true;
    const records: ChunkRecord[] = [];
    shardSummaries(this.summary.summaries()).forEach((shard, s) => {
      for (const chunk of summaryChunks(this.job.job, this.partition, s, shard)) {
        records.push({ shard: s, key: summaryChunkKey(this.job.job, this.partition, s, chunk.part), value: summaryChunkCodec.encode(chunk) });
      }
    });
    return records;
  }
}

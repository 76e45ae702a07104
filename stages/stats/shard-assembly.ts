/**
 * One value shard's summary for one fit job, assembled from the chunks every input partition's
 * reader publishes on the summaries topic. Complete when each input partition has sent all the
 * parts of its chunk; duplicates (a reader restarted and published again) are ignored, and
 * they are equal anyway, a chunk being a function of the partition's rows.
 */
import type { ColumnSummary } from '../../core/normalization/column-summary';
import { summaryOptionsOf } from '../../core/normalization/fit-transformer';
import { mergeSummaries } from '../../core/normalization/value-shard';
import type { FitJobSpec } from '../../topics/fit-messages';
import { chunkSummaries, type SummaryChunk } from '../../topics/summary-chunk';

export class ShardAssembly {
  private readonly chunks = new Map<number, (SummaryChunk | undefined)[]>();
  private partitionsDone = 0;

  constructor(
    readonly spec: FitJobSpec,
    readonly shard: number,
  ) {}

  get partitions(): number {
    return this.spec.sourceEndOffsets.length;
  }

  get complete(): boolean {
    return this.partitionsDone === this.partitions;
  }

  /** Takes a chunk of this job and shard; false when it is a duplicate or does not belong here. */
  add(chunk: SummaryChunk): boolean {
    if (chunk.job !== this.spec.job || chunk.shard !== this.shard || chunk.sourcePartition >= this.partitions) return false;
    let parts = this.chunks.get(chunk.sourcePartition);
    if (parts === undefined) {
      parts = new Array<SummaryChunk | undefined>(chunk.parts).fill(undefined);
      this.chunks.set(chunk.sourcePartition, parts);
    }
    if (parts.length !== chunk.parts || parts[chunk.part] !== undefined) return false;
    parts[chunk.part] = chunk;
    if (parts.every((p) => p !== undefined)) this.partitionsDone++;
    return true;
  }

  /** The shard's summary over every input partition, once complete. */
  summaries(): ColumnSummary[] {
    if (!this.complete) throw new Error(`shard ${this.shard} of job ${this.spec.job} is not complete`);
    const perPartition = Array.from({ length: this.partitions }, (_, p) => chunkSummaries(this.chunks.get(p) as SummaryChunk[], this.spec.columns));
    return mergeSummaries(perPartition, this.spec.columns, summaryOptionsOf(this.spec.options), this.spec.initialMeans);
  }
}

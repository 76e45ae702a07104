/**
 * The summaries topic's values: one input partition's summary of one value shard for one fit
 * job, cut into parts small enough for a Kafka message. A stats worker that has read a whole
 * input partition publishes its shards here (partition = shard); the worker that owns a shard
 * merges the chunks of every input partition into the shard's summary (ARCHITECTURE.md, "The
 * fit round protocol"). Key: `job/sourcePartition/shard/part`, so a republished chunk (after a
 * restart) is recognised as a duplicate.
 */
import { concatBins, sliceBins, SQUARE_LIMBS, SUM_LIMBS, type BinnedPoints, type WeightedPoints } from '../core/mixture';
import type { ColumnSpec } from '../core/normalization/column-spec';
import type { ColumnSummary } from '../core/normalization/column-summary';
import type { Codec } from './codec';
import { decodeJson, encodeJson } from './json-codec';

// 2: binned columns.
export const SUMMARY_CHUNK_PROTOCOL = 2 as const;

export type ChunkColumn =
  | { readonly name: string; readonly kind: 'points'; readonly points: WeightedPoints }
  /** A binned column: a slice of its bins; the modal values' exact points travel in part 0. */
  | { readonly name: string; readonly kind: 'bins'; readonly bins: BinnedPoints; readonly modal: WeightedPoints }
  | { readonly name: string; readonly kind: 'categories'; readonly counts: readonly (readonly [string, number])[] };

export interface SummaryChunk {
  readonly protocol: typeof SUMMARY_CHUNK_PROTOCOL;
  readonly job: string;
  readonly sourcePartition: number;
  readonly shard: number;
  /** This chunk is part `part` of `parts` (0-based); the parts of a column's points are consecutive slices. */
  readonly part: number;
  readonly parts: number;
  readonly columns: readonly ChunkColumn[];
}

export function summaryChunkKey(job: string, sourcePartition: number, shard: number, part: number): string {
  return `${job}/${sourcePartition}/${shard}/${part}`;
}

/** The job a chunk's key names, read without decoding the value (chunks of other jobs are skipped). */
export function summaryChunkJob(key: string | null): string | null {
  if (key === null) return null;
  const parts = key.split('/');
  return parts.length >= 4 ? parts.slice(0, -3).join('/') : null;
}

/** Points per part: 16 bytes each, base64 in JSON, so a part stays near 5 MiB, below the topic's 16 MiB limit. */
export const CHUNK_POINTS = 1 << 18;

/** Float64s a bin takes: key, region, count, low, high and its exact sums' limbs. */
const BIN_FLOATS = 5 + SUM_LIMBS + SQUARE_LIMBS;

/** How many exact points' worth of bytes a numeric column's summary takes. */
function pointsWorth(s: ColumnSummary): number {
  if ('points' in s) return s.points.values.length;
  if ('bins' in s) return Math.ceil((s.bins.keys.length * BIN_FLOATS) / 2);
  return 0;
}

/** A shard's summary of one input partition → its chunks (at least one, even when empty). */
export function summaryChunks(job: string, sourcePartition: number, shard: number, summaries: readonly ColumnSummary[]): SummaryChunk[] {
  const largest = Math.max(0, ...summaries.map(pointsWorth));
  const parts = Math.max(1, Math.ceil(largest / CHUNK_POINTS));
  return Array.from({ length: parts }, (_, part) => ({
    protocol: SUMMARY_CHUNK_PROTOCOL,
    job,
    sourcePartition,
    shard,
    part,
    parts,
    columns: summaries.map((s): ChunkColumn => {
      if ('categories' in s) return { name: s.spec.name, kind: 'categories', counts: part === 0 ? [...s.categories.entries()] : [] };
      if ('bins' in s) {
        const n = s.bins.keys.length;
        const modal = part === 0 ? s.modal : { values: new Float64Array(0), counts: new Float64Array(0) };
        return { name: s.spec.name, kind: 'bins', bins: sliceBins(s.bins, Math.floor((part * n) / parts), Math.floor(((part + 1) * n) / parts)), modal };
      }
      const n = s.points.values.length;
      const from = Math.floor((part * n) / parts);
      const to = Math.floor(((part + 1) * n) / parts);
      return { name: s.spec.name, kind: 'points', points: { values: s.points.values.slice(from, to), counts: s.points.counts.slice(from, to) } };
    }),
  }));
}

/**
 * The parts of one partition's shard, in part order, back into column summaries. Throws a
 * RangeError when they do not describe the job's columns.
 */
export function chunkSummaries(parts: readonly SummaryChunk[], specs: readonly ColumnSpec[]): ColumnSummary[] {
  return specs.map((spec, c) => {
    const columns = parts.map((p) => {
      const column = p.columns[c];
      if (column === undefined || column.name !== spec.name) throw new RangeError(`summary chunk of job ${p.job} lacks column ${spec.name}`);
      return column;
    });
    if (spec.type === 'categorical') {
      const categories = new Map<string, number>();
      for (const column of columns) {
        if (column.kind !== 'categories') throw new RangeError(`summary chunk: column ${spec.name} should hold categories`);
        for (const [category, count] of column.counts) categories.set(category, count);
      }
      return { spec, categories };
    }
    const numericSpec = spec as ColumnSpec & { type: 'continuous' | 'mixed' };
    if (columns[0]?.kind === 'bins') {
      const binned = columns.map((column) => {
        if (column.kind !== 'bins') throw new RangeError(`summary chunk: column ${spec.name} should hold bins in every part`);
        return column;
      });
      return { spec: numericSpec, bins: concatBins(binned.map((c) => c.bins), binned[0].bins.bits, binned[0].bins.centres), modal: binned[0].modal };
    }
    const slices = columns.map((column) => {
      if (column.kind !== 'points') throw new RangeError(`summary chunk: column ${spec.name} should hold points`);
      return column.points;
    });
    const values = new Float64Array(slices.reduce((n, s) => n + s.values.length, 0));
    const counts = new Float64Array(values.length);
    let at = 0;
    for (const s of slices) {
      values.set(s.values, at);
      counts.set(s.counts, at);
      at += s.values.length;
    }
    return { spec: numericSpec, points: { values, counts } };
  });
}

function decodeChunk(bytes: Uint8Array): SummaryChunk {
  const value = decodeJson(bytes) as Partial<SummaryChunk> | null;
  if (typeof value !== 'object' || value === null || value.protocol !== SUMMARY_CHUNK_PROTOCOL) {
    throw new RangeError(`not a vgmflow summary chunk of protocol ${SUMMARY_CHUNK_PROTOCOL}`);
  }
  const ok = (n: unknown, below: number): boolean => Number.isInteger(n) && (n as number) >= 0 && (n as number) < below;
  if (typeof value.job !== 'string' || !ok(value.sourcePartition, 2 ** 31) || !ok(value.shard, 2 ** 16) || !ok(value.parts, 2 ** 16) || !ok(value.part, value.parts ?? 0) || !Array.isArray(value.columns)) {
    throw new RangeError('a summary chunk lacks its job, partition, shard, part or columns');
  }
  return value as SummaryChunk;
}

/** Exact JSON (float64 arrays as their bytes), like the other fit messages. */
export const summaryChunkCodec: Codec<SummaryChunk> = { contentType: 'application/json', encode: (c) => encodeJson(c), decode: decodeChunk };

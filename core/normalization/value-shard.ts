/**
 * Value shards: every value of a column belongs to one of SUMMARY_SHARDS shards, chosen by a
 * hash of the value itself (a number's coarsest bin, so that every bin of a binned summary
 * lies in one shard; a category's text). The fit computes its
 * partial statistics per shard, over all the rows of that shard, and merges them in shard
 * order, so the model is a function of the rows alone: not of how a producer batched or
 * partitioned them, nor of how many workers read them (ARCHITECTURE.md, "The fit round
 * protocol"). A value present in many input partitions is visited once per EM iteration.
 */
import {
  binKey,
  BinnedPointsBuilder,
  binRegions,
  type BinRegions,
  MIN_BIN_BITS,
  mergeSortedPoints,
  splitBins,
  type BinnedPoints,
  type WeightedPoints,
} from '../mixture';
import type { ColumnSpec } from './column-spec';
import { binIfOverBound, mergeModal, numericParts, type ColumnSummary, type NumericColumnSpec } from './column-summary';
import { EXACT_SUMMARY_OPTIONS, type SummaryOptions } from './summary-options';

/**
 * How many shards every fit uses. Part of the model's definition: the floating-point sums of
 * the fit are merged per shard, so another count would round differently. It bounds the
 * parallelism of the E-step (shards are spread over threads and workers).
 */
export const SUMMARY_SHARDS = 16;

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
// The low word of a float64 is the first on a little-endian machine; every worker must agree.
const LOW = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 0 : 1;

/** murmur3's 32-bit finaliser: every input bit moves every output bit. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The shard of a numeric value: a hash of its bin at the coarsest resolution (MIN_BIN_BITS), so
 * a value and every bin it can fall into, at any resolution, share a shard. 0 and -0 share one.
 */
export function numericShard(value: number, shards = SUMMARY_SHARDS): number {
  bits[0] = binKey(value, MIN_BIN_BITS) + 0;
  return mix32(words[LOW] ^ mix32(words[1 - LOW] ^ 0x9e3779b9)) % shards;
}

/** The shard of a category: FNV-1a over its UTF-16 code units, then mixed. */
export function categoryShard(category: string, shards = SUMMARY_SHARDS): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < category.length; i++) h = Math.imul(h ^ category.charCodeAt(i), 0x01000193);
  return mix32(h) % shards;
}

/** Splits ascending points into their shards; each shard's points stay ascending. */
export function shardPoints(points: WeightedPoints, shards = SUMMARY_SHARDS): WeightedPoints[] {
  const n = points.values.length;
  const shardOf = new Uint16Array(n);
  const sizes = new Int32Array(shards);
  for (let i = 0; i < n; i++) sizes[(shardOf[i] = numericShard(points.values[i], shards))]++;
  const out = Array.from(sizes, (size) => ({ values: new Float64Array(size), counts: new Float64Array(size) }));
  const filled = new Int32Array(shards);
  for (let i = 0; i < n; i++) {
    const s = shardOf[i];
    const at = filled[s]++;
    out[s].values[at] = points.values[i];
    out[s].counts[at] = points.counts[i];
  }
  return out;
}

function shardCategories(categories: ReadonlyMap<string, number>, shards: number): Map<string, number>[] {
  const out = Array.from({ length: shards }, () => new Map<string, number>());
  for (const [category, count] of categories) out[categoryShard(category, shards)].set(category, count);
  return out;
}

/** Splits bins into their shards (a bin's key has its values' shard). */
export function shardBins(bins: BinnedPoints, shards = SUMMARY_SHARDS): BinnedPoints[] {
  return splitBins(bins, shards, (key) => numericShard(key, shards));
}

/** One partition's (or any set of rows') column summaries → the summaries of each shard, [shard][column]. */
export function shardSummaries(summaries: readonly ColumnSummary[], shards = SUMMARY_SHARDS): ColumnSummary[][] {
  const out: ColumnSummary[][] = Array.from({ length: shards }, () => []);
  for (const summary of summaries) {
    if ('categories' in summary) {
      shardCategories(summary.categories, shards).forEach((categories, s) => out[s].push({ spec: summary.spec, categories }));
    } else if ('points' in summary) {
      shardPoints(summary.points, shards).forEach((points, s) => out[s].push({ spec: summary.spec, points }));
    } else {
      const modal = shardPoints(summary.modal, shards);
      shardBins(summary.bins, shards).forEach((bins, s) => out[s].push({ spec: summary.spec, bins, modal: modal[s] }));
    }
  }
  return out;
}

/** A column's entry of a name-keyed record (never something inherited, such as `constructor`). */
export function ownEntry<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, name) ? record[name] : undefined;
}

function checkSameColumns(a: readonly ColumnSpec[], b: readonly ColumnSpec[]): void {
  if (a.length !== b.length || a.some((spec, i) => spec.name !== b[i].name || spec.type !== b[i].type)) {
    throw new RangeError('cannot merge summaries of different columns');
  }
}

/**
 * Merges numeric summaries of disjoint rows. Exact ones stay exact unless together they pass
 * the bound of `options` (auto); with any binned one, the result is binned at the coarsest of
 * their resolutions (or coarser, to keep within the bound). Counts and bin sums are whole
 * numbers, so the result is the same in any order.
 */
function mergeNumeric(spec: NumericColumnSpec, columns: readonly ColumnSummary[], options: SummaryOptions, regions: BinRegions): ColumnSummary {
  const numeric = columns.map((column) => {
    if ('categories' in column) throw new RangeError(`column ${spec.name}: expected numeric points`);
    return column;
  });
  const binned = numeric.filter((c) => 'bins' in c);
  const maxBins = options.mode === 'auto' ? options.maxBins : Infinity;
  if (binned.length === 0) {
    let points: WeightedPoints = { values: new Float64Array(0), counts: new Float64Array(0) };
    for (const column of numeric) if ('points' in column) points = mergeSortedPoints(points, column.points);
    return (options.mode === 'auto' ? binIfOverBound(spec, points, maxBins, regions) : null) ?? { spec, points };
  }
  const parts = numeric.map(numericParts);
  const bits = Math.min(...parts.map((p) => (p.rest.kind === 'bins' ? p.rest.bins.bits : Infinity)));
  const builder = new BinnedPointsBuilder(bits, maxBins, regions);
  for (const part of parts) {
    if (part.rest.kind === 'bins') builder.addBins(part.rest.bins);
    else builder.addExact(part.rest.points);
  }
  return { spec, bins: builder.build(), modal: mergeModal(parts.map((p) => p.modal)) };
}

/**
 * Merges column summaries of disjoint sets of rows (the partitions of one shard, say) into
 * the summary of all of them. Counts are whole numbers, so the result is the same in any order.
 * `options` bound the result's memory as a summary builder's are bounded; `initialMeans` (per
 * column name) split bins at their regions, as the builders did.
 */
export function mergeSummaries(
  parts: readonly (readonly ColumnSummary[])[],
  specs: readonly ColumnSpec[],
  options: SummaryOptions = EXACT_SUMMARY_OPTIONS,
  initialMeans: Readonly<Record<string, readonly number[]>> = {},
): ColumnSummary[] {
  return specs.map((spec, c) => {
    const columns = parts.map((part) => {
      checkSameColumns(part.map((s) => s.spec), specs);
      return part[c];
    });
    if (spec.type === 'categorical') {
      const categories = new Map<string, number>();
      for (const column of columns) {
        if (!('categories' in column)) throw new RangeError(`column ${spec.name}: expected category counts`);
        for (const [category, count] of column.categories) categories.set(category, (categories.get(category) ?? 0) + count);
      }
      return { spec, categories };
    }
    return mergeNumeric(spec as NumericColumnSpec, columns, options, binRegions(ownEntry(initialMeans, spec.name)));
  });
}

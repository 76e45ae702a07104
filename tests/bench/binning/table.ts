/**
 * `npm run bench:binning`: the accuracy and cost of binned summaries (README, "High-cardinality
 * columns"), measured on the core directly rather than through the CLI, because it compares
 * fits of the same summary at many resolutions and times the E-step alone.
 *
 * For each full-precision data set (tests/bench/generate.ts; 1M rows, every value distinct):
 * - the exact fit (k-means initialisation): its initial means are the reference start;
 * - binned fits from those initial means at each resolution (`--bits`) and each bound of the
 *   automatic choice (`--bounds`): the largest relative difference of any component's weight,
 *   mean and variance from the exact fit's, against the model's stated error scale;
 * - per fit: the points an EM iteration visits, the time of one E-step over all of them (one
 *   thread, median of 5), and the summary's memory (16 B per exact value, 80 B per bin);
 * - the summary's growth with rows (`--scale`): bins, resolution, memory and build speed of the
 *   bounded summary at the default bound, beside the exact one's distinct values (up to 10M
 *   rows); the rows are generated a chunk at a time, so with `--part scale` alone the process's
 *   peak RSS is the summaries' (and the runtime's) memory.
 *
 * `--part accuracy|scale` runs one part. Writes results.md and results.json to
 * out/bench-binning (or --out).
 */
import { mkdirSync, writeFileSync } from 'fs';
import { cpus, loadavg } from 'os';
import { join, resolve } from 'path';
import { parseArgs } from 'util';
import { binRegions, eStepStats, type WeightedPoints } from '../../../core/mixture';
import { ColumnSummaryBuilder, type ColumnSummary } from '../../../core/normalization/column-summary';
import { DEFAULT_TRANSFORMER_OPTIONS, fitTransformerPartitions, summaryOptionsOf } from '../../../core/normalization/fit-transformer';
import { mixtureParams, type NumericColumnModel, type TransformerOptions } from '../../../core/normalization/model';
import { SummaryData } from '../../../core/normalization/summary-data';
import { DEFAULT_SUMMARY_OPTIONS, type Resolution, type SummaryOptions } from '../../../core/normalization/summary-options';
import { mergeSummaries, shardSummaries } from '../../../core/normalization/value-shard';
import { FULL_PRECISION, fullPrecisionChunks, fullPrecisionValues, type FullPrecisionDataset } from '../generate';

const SEED = 7;
const SPEC = { name: 'Value', type: 'continuous' } as const;

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string' },
    data: { type: 'string' },
    bits: { type: 'string' },
    bounds: { type: 'string' },
    scale: { type: 'string' },
    part: { type: 'string' },
    out: { type: 'string' },
  },
});
const list = (text: string | undefined, fallback: string): number[] => (text ?? fallback).split(',').map(Number);
const ROWS = Number(args.rows ?? 1e6);
const DATA = (args.data ?? FULL_PRECISION.join(',')).split(',') as FullPrecisionDataset[];
const BITS = list(args.bits, '12,14,16,18,20');
const BOUNDS = list(args.bounds, '65536,131072,262144,524288');
const SCALE = list(args.scale, '100000,1000000,10000000');
const OUT = resolve(args.out ?? 'out/bench-binning');
const PARTS = args.part === undefined ? ['accuracy', 'scale'] : [args.part];

const seconds = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e9;
const log = (line: string): void => void process.stderr.write(`[binning] ${line}\n`);

function summaryOf(values: Float64Array | Iterable<Float64Array>, options: SummaryOptions, centres?: readonly number[]): { summary: ColumnSummary; seconds: number } {
  const started = process.hrtime.bigint();
  const builder = new ColumnSummaryBuilder(SPEC, options, binRegions(centres));
  if (values instanceof Float64Array) for (let i = 0; i < values.length; i += 65_536) builder.addNumbers(values.subarray(i, i + 65_536));
  else for (const chunk of values) builder.addNumbers(chunk);
  const summary = builder.build();
  return { summary, seconds: seconds(started) };
}

function summaryBytes(summary: ColumnSummary): number {
  if ('points' in summary) return summary.points.values.length * 16;
  if ('bins' in summary) return summary.bins.keys.length * 80;
  return 0;
}

interface Fit {
  readonly column: NumericColumnModel;
  readonly seconds: number;
  /** One E-step over every shard's points, in seconds (median of 5). */
  readonly eStep: number;
}

function fit(summary: ColumnSummary, summaryOptions: SummaryOptions, initialMeans?: readonly number[]): Fit {
  const options: TransformerOptions = { ...DEFAULT_TRANSFORMER_OPTIONS, summary: summaryOptions };
  const means: Record<string, readonly number[]> = initialMeans === undefined ? {} : { Value: initialMeans };
  const started = process.hrtime.bigint();
  const model = fitTransformerPartitions([[summary]], [SPEC], options, means);
  const took = seconds(started);
  const column = model.columns[0] as NumericColumnModel;
  const info = column.summary;
  const resolution: Resolution = info?.kind === 'binned' ? { bits: info.bits, centres: initialMeans ?? [] } : { bits: 52, centres: [] };
  const shards = shardSummaries(mergeSummaries([[summary]], [SPEC], summaryOptionsOf(options), means)).map((s) => new SummaryData(s));
  const points: WeightedPoints[] = shards.map((d) => d.points(0, 'all', resolution));
  const params = mixtureParams(column.mixture);
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const at = process.hrtime.bigint();
    for (const p of points) eStepStats(p, params);
    times.push(seconds(at));
  }
  times.sort((a, b) => a - b);
  return { column, seconds: took, eStep: times[2] };
}

function relative(a: number, b: number): number {
  return a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

/** The largest relative difference of any component's weight, mean or variance, and where. */
function worst(a: NumericColumnModel, b: NumericColumnModel): { error: number; where: string } {
  let error = 0;
  let where = '';
  for (const field of ['weights', 'means', 'variances'] as const) {
    a.mixture[field].forEach((x, k) => {
      const d = relative(x, b.mixture[field][k]);
      if (d > error) [error, where] = [d, `${field}[${k}]`];
    });
  }
  return { error, where };
}

interface Row {
  readonly data: string;
  readonly setting: string;
  readonly summary: string;
  readonly points: number;
  readonly memoryMB: number;
  readonly error: number | null;
  readonly where: string;
  readonly errorScale: number | null;
  readonly nIter: number;
  readonly eStepMs: number;
  readonly fitSeconds: number;
}

interface ScaleRow {
  readonly data: string;
  readonly rows: number;
  readonly distinct: number;
  readonly exactMB: number;
  readonly exactRowsPerSecond: number;
  readonly bins: number;
  readonly bits: number;
  readonly binnedMB: number;
  readonly binnedRowsPerSecond: number;
  /** This process's peak RSS so far, MB. */
  readonly peakRssMB: number;
}

const rows: Row[] = [];
const scaleRows: ScaleRow[] = [];

function record(data: string, setting: string, f: Fit, summaryMB: number, reference: Fit | null): void {
  const info = f.column.summary;
  const w = reference === null ? null : worst(f.column, reference.column);
  const row: Row = {
    data,
    setting,
    summary: info === undefined ? '?' : info.kind === 'exact' ? 'exact' : `binned, ${info.bits} bits`,
    points: info?.points ?? NaN,
    memoryMB: summaryMB,
    error: w?.error ?? null,
    where: w?.where ?? '',
    errorScale: info?.kind === 'binned' ? info.errorScale : null,
    nIter: f.column.mixture.nIter,
    eStepMs: f.eStep * 1000,
    fitSeconds: f.seconds,
  };
  rows.push(row);
  log(`${data} ${setting}: ${row.summary}, ${row.points} points, error ${row.error?.toExponential(1) ?? '—'} ${row.where} (stated ${row.errorScale?.toExponential(1) ?? '—'}), E-step ${row.eStepMs.toFixed(1)} ms, fit ${row.fitSeconds.toFixed(1)} s`);
}

for (const data of PARTS.includes('accuracy') ? DATA : []) {
  const values = fullPrecisionValues(data, ROWS, SEED);
  const exactOptions: SummaryOptions = { ...DEFAULT_SUMMARY_OPTIONS, mode: 'exact' };
  const exact = summaryOf(values, exactOptions);
  const reference = fit(exact.summary, exactOptions);
  record(data, 'exact (k-means)', reference, summaryBytes(exact.summary) / 1e6, null);
  const means = reference.column.mixture.initialMeans;
  for (const bits of BITS) {
    const options: SummaryOptions = { ...DEFAULT_SUMMARY_OPTIONS, mode: 'binned', binBits: bits };
    const binned = summaryOf(values, options, means);
    record(data, `--summary binned --bin-bits ${bits}`, fit(binned.summary, options, means), summaryBytes(binned.summary) / 1e6, reference);
  }
  for (const bound of BOUNDS) {
    const options: SummaryOptions = { ...DEFAULT_SUMMARY_OPTIONS, mode: 'auto', maxBins: bound };
    const auto = summaryOf(values, options, means);
    const setting = `auto, --max-bins ${bound}${bound === DEFAULT_SUMMARY_OPTIONS.maxBins ? ' (default)' : ''}`;
    record(data, setting, fit(auto.summary, options, means), summaryBytes(auto.summary) / 1e6, reference);
  }
}

for (const data of PARTS.includes('scale') ? DATA : []) {
  for (const n of SCALE) {
    const auto = summaryOf(fullPrecisionChunks(data, n, SEED), DEFAULT_SUMMARY_OPTIONS);
    const peakRssMB = (process.resourceUsage().maxRSS * 1024) / 1e6;
    const exact = n <= 10_000_000 ? summaryOf(fullPrecisionChunks(data, n, SEED), { ...DEFAULT_SUMMARY_OPTIONS, mode: 'exact' }) : null;
    const bins = 'bins' in auto.summary ? auto.summary.bins : null;
    const distinct = exact !== null && 'points' in exact.summary ? exact.summary.points.values.length : NaN;
    const row: ScaleRow = {
      data,
      rows: n,
      distinct,
      exactMB: exact === null ? NaN : summaryBytes(exact.summary) / 1e6,
      exactRowsPerSecond: exact === null ? NaN : n / exact.seconds,
      bins: bins?.keys.length ?? distinct,
      bits: bins?.bits ?? 52,
      binnedMB: summaryBytes(auto.summary) / 1e6,
      binnedRowsPerSecond: n / auto.seconds,
      peakRssMB,
    };
    scaleRows.push(row);
    log(`${data} ${n} rows: ${row.distinct} distinct; auto ${row.bins} points at ${row.bits} bits, ${(row.binnedRowsPerSecond / 1e6).toFixed(2)} M rows/s`);
  }
}

const fmt = (x: number | null, digits = 1): string => (x === null || Number.isNaN(x) ? '—' : x === 0 ? '0' : x.toExponential(digits));
const int = (x: number): string => (Number.isNaN(x) ? '—' : Math.round(x).toLocaleString('en-US'));
const md = [
  `binned summaries, ${new Date().toISOString()}: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(1)).join(' / ')}, node ${process.version}; ${int(ROWS)} rows per data set, seed ${SEED}`,
  '',
  '| data | summary setting | points | resolution | summary MB | max rel. error (weights, means, variances) | stated error scale | EM iterations | E-step ms (1 thread) | fit s |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.data} | ${r.setting} | ${int(r.points)} | ${r.summary} | ${r.memoryMB.toFixed(1)} | ${fmt(r.error)}${r.where ? ` (${r.where})` : ''} | ${fmt(r.errorScale)} | ${r.nIter} | ${r.eStepMs.toFixed(1)} | ${r.fitSeconds.toFixed(1)} |`),
  '',
  `| data | rows | distinct values | exact summary MB | exact build rows/s | auto points (--max-bins ${DEFAULT_SUMMARY_OPTIONS.maxBins}) | resolution bits | auto summary MB | auto build rows/s | peak RSS MB after the auto build |`,
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...scaleRows.map((r) => `| ${r.data} | ${int(r.rows)} | ${int(r.distinct)} | ${Number.isNaN(r.exactMB) ? '—' : r.exactMB.toFixed(1)} | ${int(r.exactRowsPerSecond)} | ${int(r.bins)} | ${r.bits} | ${r.binnedMB.toFixed(1)} | ${int(r.binnedRowsPerSecond)} | ${r.peakRssMB.toFixed(0)} |`),
  '',
].join('\n');
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'results.md'), md);
writeFileSync(join(OUT, 'results.json'), JSON.stringify({ rows, scaleRows }, null, 2) + '\n');
process.stdout.write(md);

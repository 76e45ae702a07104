/**
 * Seeded generators of the bench's three data sets, written as CSV text to stdout or a file,
 * a chunk at a time with backpressure, so `--rows 100000000` streams into `vgmflow produce -`
 * without the file ever existing and in constant memory.
 *
 * - amount:   the reference case, one `Amount` column of card-transaction amounts in dollars
 *             with cent precision: a lognormal body, point masses (0.00 for card checks, shelf
 *             prices such as 9.99 and 19.99) and a Pareto tail up to 50 000.00. Ideas from
 *             assets/generate-sample.ts (there amounts are integer cents), its own PRNG here.
 * - table:    `Amount,Tip,Network`: continuous, mixed with a point mass at 0, categorical.
 * - distinct: one `Value` column of full-precision floats (three normals, printed shortest
 *             round-trip), so nearly every value is distinct and the fit's summary of
 *             distinct values with counts compresses nothing.
 * - lognormal, outliers: one `Value` column of full-precision floats too: a heavy-tailed
 *             lognormal, exp(1 + 1.5·N(0,1)); N(-50,5) and N(120,10) with 0.1 % of the rows
 *             at ±1e6 (±1 %). With `distinct`, the three cases of the binned summaries'
 *             accuracy table (README, "High-cardinality columns").
 *
 * Usage: node generate.js <amount|table|distinct> <rows> [--seed S] [--out file] [--report]
 * (--report: at the end, one JSON line on stderr, {"generated": {rows, bytes}}, bytes of the
 * data lines without the header: the bench's MB/s count those.)
 */
import { createWriteStream } from 'fs';
import type { Writable } from 'stream';

export const DATASETS = ['amount', 'table', 'distinct', 'lognormal', 'outliers'] as const;
export type Dataset = (typeof DATASETS)[number];

/** The `--columns` each data set is fitted with. */
export const DATASET_COLUMNS: Record<Dataset, string> = {
  amount: 'Amount:continuous',
  table: 'Amount:continuous,Tip:mixed(0),Network:categorical',
  distinct: 'Value:continuous',
  lognormal: 'Value:continuous',
  outliers: 'Value:continuous',
};

/** The column the scikit-learn and research anchors work on. */
export const ANCHOR_COLUMN: Record<Dataset, string> = { amount: 'Amount', table: 'Amount', distinct: 'Value', lognormal: 'Value', outliers: 'Value' };

const HEADER: Record<Dataset, string> = { amount: 'Amount', table: 'Amount,Tip,Network', distinct: 'Value', lognormal: 'Value', outliers: 'Value' };

/** The data sets of one full-precision column: each value drawn by `fullPrecision`. */
export const FULL_PRECISION = ['distinct', 'lognormal', 'outliers'] as const;
export type FullPrecisionDataset = (typeof FULL_PRECISION)[number];

/**
 * sfc32 (Chris Doty-Humphrey's small fast counting generator): 128-bit state, passes
 * PractRand, and needs only 32-bit integer ops, so the stream is the same on every Node.
 */
class Sfc32 {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = seed | 0;
    // The first outputs of a fresh state are correlated with the seed; these are thrown away.
    for (let i = 0; i < 15; i++) this.next();
  }

  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform on (0, 1] with 53 bits: never 0, so logarithms are safe. */
  unit(): number {
    return ((this.next() >>> 5) * 67108864 + (this.next() >>> 6) + 1) / 9007199254740992;
  }

  normal(): number {
    return Math.sqrt(-2 * Math.log(this.unit())) * Math.cos(2 * Math.PI * this.unit());
  }
}

const SHELF_PRICES = [999, 1999, 499, 2000, 5000, 10000] as const;
const NETWORKS = ['visa', 'mastercard', 'amex', 'discover', 'unionpay'] as const;
const NETWORK_CUMULATIVE = [0.52, 0.8, 0.91, 0.97, 1] as const;

function amountCents(rng: Sfc32): number {
  const u = rng.unit();
  if (u <= 0.04) return 0; // card checks and zero-value authorisations
  if (u <= 0.16) return SHELF_PRICES[Math.min(SHELF_PRICES.length - 1, Math.floor(rng.unit() * SHELF_PRICES.length))];
  if (u <= 0.21) {
    // Pareto(alpha 1.16) from 200.00, truncated at 50 000.00 by inverse CDF.
    const tail = 1 - Math.pow(20000 / 5000000, 1.16);
    return Math.round(20000 / Math.pow(1 - rng.unit() * tail, 1 / 1.16));
  }
  return Math.max(1, Math.round(2800 * Math.exp(0.9 * rng.normal())));
}

function dollars(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

function fullPrecision(dataset: FullPrecisionDataset, rng: Sfc32): number {
  const u = rng.unit();
  switch (dataset) {
    case 'distinct':
      return u <= 0.5 ? 10 + 2 * rng.normal() : u <= 0.8 ? -5 + 0.5 * rng.normal() : 100 + 30 * rng.normal();
    case 'lognormal':
      return Math.exp(1 + 1.5 * rng.normal());
    case 'outliers':
      if (u <= 0.001) return (rng.unit() < 0.5 ? -1e6 : 1e6) * (1 + 0.01 * rng.normal());
      return u <= 0.4 ? -50 + 5 * rng.normal() : 120 + 10 * rng.normal();
  }
}

/** The values of a full-precision data set, as its CSV's `Value` column reads back (shortest round-trip text). */
export function fullPrecisionValues(dataset: FullPrecisionDataset, rows: number, seed: number): Float64Array {
  const rng = new Sfc32(seed);
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = fullPrecision(dataset, rng);
  return out;
}

/** The same values a chunk at a time (the last one shorter), for row counts that should not be in memory at once. */
export function* fullPrecisionChunks(dataset: FullPrecisionDataset, rows: number, seed: number, chunk = 1 << 16): Generator<Float64Array, void, undefined> {
  const rng = new Sfc32(seed);
  const buffer = new Float64Array(chunk);
  for (let done = 0; done < rows; done += chunk) {
    const n = Math.min(chunk, rows - done);
    for (let r = 0; r < n; r++) buffer[r] = fullPrecision(dataset, rng);
    yield n === chunk ? buffer : buffer.subarray(0, n);
  }
}

function row(dataset: Dataset, rng: Sfc32): string {
  switch (dataset) {
    case 'amount':
      return dollars(amountCents(rng));
    case 'table': {
      const cents = amountCents(rng);
      const tip = rng.unit() <= 0.6 ? 0 : Math.max(1, Math.round(cents * Math.min(1, 0.18 * Math.exp(0.35 * rng.normal()))));
      const u = rng.unit();
      const network = NETWORKS[NETWORK_CUMULATIVE.findIndex((c) => u <= c)];
      return `${dollars(cents)},${dollars(tip)},${network}`;
    }
    case 'distinct':
    case 'lognormal':
    case 'outliers':
      return String(fullPrecision(dataset, rng));
  }
}

/** The CSV text of (dataset, rows, seed), header first, in chunks of about 64 KiB. */
export function* csvChunks(dataset: Dataset, rows: number, seed: number): Generator<string, void, undefined> {
  const rng = new Sfc32(seed);
  let chunk = HEADER[dataset] + '\n';
  for (let r = 0; r < rows; r++) {
    chunk += row(dataset, rng) + '\n';
    if (chunk.length >= 65536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Writes the data set to `out`, waiting on backpressure; resolves with the bytes written. */
export async function writeDataset(dataset: Dataset, rows: number, seed: number, out: Writable): Promise<number> {
  let bytes = 0;
  for (const chunk of csvChunks(dataset, rows, seed)) {
    bytes += chunk.length; // ASCII only
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', resolve));
  }
  return bytes;
}

async function main(argv: string[]): Promise<void> {
  const [dataset, rowsText] = argv;
  if (!(DATASETS as readonly string[]).includes(dataset) || !/^\d+(e\d+)?$/.test(rowsText ?? '')) {
    throw new Error(`usage: generate.js <${DATASETS.join('|')}> <rows> [--seed S] [--out file]`);
  }
  const seedAt = argv.indexOf('--seed');
  const outAt = argv.indexOf('--out');
  const seed = seedAt >= 0 ? Number(argv[seedAt + 1]) : 1;
  const out = outAt >= 0 ? createWriteStream(argv[outAt + 1]) : process.stdout;
  const bytes = await writeDataset(dataset as Dataset, Number(rowsText), seed, out);
  // A reader that closed early (e.g. `| head`) is not an error of the generator.
  await new Promise<void>((resolve) => (out === process.stdout ? resolve() : out.end(resolve)));
  if (argv.includes('--report')) {
    const generated = { rows: Number(rowsText), bytes: bytes - HEADER[dataset as Dataset].length - 1 };
    process.stderr.write(JSON.stringify({ generated }) + '\n');
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`generate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

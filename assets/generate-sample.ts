/**
 * Seeded generator of card-transaction-like sample data (assets/card-transactions.csv).
 *
 * The columns are built to exercise every kind of column the transformer handles: a
 * multi-modal continuous column with point masses and a heavy tail (Amount), a mixed column
 * with a modal zero (Tip) and two categorical columns (Network, Merchant). It has its own PRNG
 * and samplers, so the file is reproducible bit for bit from (rows, seed) on any Node version,
 * independently of the project's own random module.
 *
 * Usage: node dist/assets/generate-sample.js [--rows N] [--seed S] [--out path]
 */
import { parseArgs } from 'node:util';
import { CsvFileWriter } from '../topics/files/csv-file';
import { formatNumber } from '../core/csv/csv';

export const SAMPLE_HEADER = ['Amount', 'Tip', 'Network', 'Merchant'] as const;
export const DEFAULT_ROWS = 50_000;
export const DEFAULT_SEED = 20261126;
export const DEFAULT_OUT = 'assets/card-transactions.csv';

export type Network = 'visa' | 'mastercard' | 'amex' | 'discover' | 'unionpay';

export interface SampleRow {
  /** Purchase amount in cents, integer ≥ 1. */
  readonly amount: number;
  /** Tip in cents, integer ≥ 0; 0 for most rows. */
  readonly tip: number;
  readonly network: Network;
  /** ISO 18245 merchant category code, four digits. */
  readonly merchant: string;
}

// ---- PRNG: xoshiro128** seeded through splitmix32 (a zero state is impossible that way).

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

class Xoshiro128ss {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const st = { s: seed | 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
  }

  nextUint32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** Uniform on (0, 1] with 53 random bits: never 0, so logs and powers are safe. */
  nextUnit(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo + 1) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

// ---- Samplers.

/** Box–Muller, cosine branch only: one uniform pair per normal keeps the draw order simple. */
function standardNormal(rng: Xoshiro128ss): number {
  const u1 = rng.nextUnit();
  const u2 = rng.nextUnit();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

function logNormal(rng: Xoshiro128ss, median: number, sigma: number): number {
  return median * Math.exp(sigma * standardNormal(rng));
}

/** Pareto(xm, alpha) truncated to [xm, cap] by inverse CDF, so nothing piles up at the cap. */
function truncatedPareto(rng: Xoshiro128ss, xm: number, alpha: number, cap: number): number {
  const tailMass = 1 - Math.pow(xm / cap, alpha);
  return xm / Math.pow(1 - rng.nextUnit() * tailMass, 1 / alpha);
}

interface Weighted<T> {
  readonly value: T;
  readonly weight: number;
}

function pick<T>(rng: Xoshiro128ss, table: readonly Weighted<T>[]): T {
  let u = rng.nextUnit();
  for (const entry of table) {
    u -= entry.weight;
    if (u <= 0) return entry.value;
  }
  return (table[table.length - 1] as Weighted<T>).value;
}

// ---- The data model (weights of each table sum to 1).

const NETWORKS: readonly Weighted<Network>[] = [
  { value: 'visa', weight: 0.52 },
  { value: 'mastercard', weight: 0.28 },
  { value: 'amex', weight: 0.11 },
  { value: 'discover', weight: 0.06 },
  { value: 'unionpay', weight: 0.03 },
];

interface MerchantProfile {
  readonly mcc: string;
  /** Median of the lognormal body of Amount, in cents. */
  readonly medianCents: number;
  /** Probability that a transaction carries a tip. */
  readonly tipRate: number;
}

const MERCHANTS: readonly Weighted<MerchantProfile>[] = [
  { weight: 0.22, value: { mcc: '5411', medianCents: 3500, tipRate: 0.15 } }, // grocery
  { weight: 0.18, value: { mcc: '5812', medianCents: 3200, tipRate: 0.9 } }, // restaurants
  { weight: 0.14, value: { mcc: '5814', medianCents: 1100, tipRate: 0.5 } }, // fast food
  { weight: 0.1, value: { mcc: '5541', medianCents: 4000, tipRate: 0.05 } }, // fuel
  { weight: 0.08, value: { mcc: '4121', medianCents: 1800, tipRate: 0.85 } }, // taxi, rideshare
  { weight: 0.12, value: { mcc: '5999', medianCents: 2500, tipRate: 0.1 } }, // misc retail
  { weight: 0.06, value: { mcc: '5311', medianCents: 6000, tipRate: 0.02 } }, // department stores
  { weight: 0.04, value: { mcc: '7230', medianCents: 4500, tipRate: 0.9 } }, // beauty, barber
  { weight: 0.03, value: { mcc: '5732', medianCents: 9000, tipRate: 0.01 } }, // electronics
  { weight: 0.03, value: { mcc: '7011', medianCents: 18000, tipRate: 0.3 } }, // hotels
];

/** Shelf prices that real amount columns show as spikes. */
const ROUND_PRICES: readonly Weighted<number>[] = [
  { value: 999, weight: 0.3 },
  { value: 1999, weight: 0.25 },
  { value: 2000, weight: 0.15 },
  { value: 5000, weight: 0.15 },
  { value: 10000, weight: 0.15 },
];

const ROUND_PRICE_SHARE = 0.22;
const PARETO_SHARE = 0.05;
const BODY_SIGMA = 0.9;
const PARETO_MIN_CENTS = 20_000;
const PARETO_ALPHA = 1.16;
const PARETO_CAP_CENTS = 5_000_000;
const TIP_RATE_MEDIAN = 0.18;
const TIP_RATE_SIGMA = 0.35;
const WHOLE_DOLLAR_TIP_SHARE = 0.3;

function sampleAmount(rng: Xoshiro128ss, merchant: MerchantProfile): number {
  const u = rng.nextUnit();
  if (u <= ROUND_PRICE_SHARE) return pick(rng, ROUND_PRICES);
  if (u <= ROUND_PRICE_SHARE + PARETO_SHARE) {
    return Math.round(truncatedPareto(rng, PARETO_MIN_CENTS, PARETO_ALPHA, PARETO_CAP_CENTS));
  }
  return Math.max(1, Math.round(logNormal(rng, merchant.medianCents, BODY_SIGMA)));
}

function sampleTip(rng: Xoshiro128ss, merchant: MerchantProfile, amount: number): number {
  if (rng.nextUnit() > merchant.tipRate) return 0;
  const rate = Math.min(1, logNormal(rng, TIP_RATE_MEDIAN, TIP_RATE_SIGMA));
  const tip = Math.max(1, Math.round(amount * rate));
  // People often tip whole dollars, which gives the positive part its own spikes.
  if (rng.nextUnit() <= WHOLE_DOLLAR_TIP_SHARE) return Math.max(100, Math.round(tip / 100) * 100);
  return tip;
}

/** The sample rows for (rows, seed); pure, the same on every run. Arguments are checked eagerly. */
export function generateRows(rows: number, seed: number): Generator<SampleRow, void, undefined> {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`rows must be a non-negative integer, got ${rows}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
  }
  return rowsFrom(new Xoshiro128ss(seed), rows);
}

function* rowsFrom(rng: Xoshiro128ss, rows: number): Generator<SampleRow, void, undefined> {
  for (let r = 0; r < rows; r++) {
    const merchant = pick(rng, MERCHANTS);
    const network = pick(rng, NETWORKS);
    const amount = sampleAmount(rng, merchant);
    const tip = sampleTip(rng, merchant, amount);
    yield { amount, tip, network, merchant: merchant.mcc };
  }
}

export function sampleRowFields(row: SampleRow): string[] {
  return [formatNumber(row.amount), formatNumber(row.tip), row.network, row.merchant];
}

export async function writeSample(path: string, rows: number, seed: number): Promise<void> {
  const sample = generateRows(rows, seed);
  const writer = new CsvFileWriter(path);
  try {
    await writer.writeRow(SAMPLE_HEADER);
    for (const row of sample) await writer.writeRow(sampleRowFields(row));
  } finally {
    await writer.close();
  }
}

function parseInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) throw new Error(`--${name} must be an integer, got "${text}"`);
  return value;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rows: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: node dist/assets/generate-sample.js [--rows N] [--seed S] [--out path]\n');
    return;
  }
  const rows = parseInteger('rows', values.rows, DEFAULT_ROWS);
  const seed = parseInteger('seed', values.seed, DEFAULT_SEED);
  const out = values.out ?? DEFAULT_OUT;
  await writeSample(out, rows, seed);
  process.stdout.write(`wrote ${rows} rows (seed ${seed}) to ${out}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`generate-sample: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCsvRow, parseCsvText } from '../../core/csv/csv';
import {
  DEFAULT_ROWS,
  DEFAULT_SEED,
  SAMPLE_HEADER,
  generateRows,
  sampleRowFields,
  type SampleRow,
} from '../../assets/generate-sample';

const ROUND_PRICES = [999, 1999, 2000, 5000, 10000];

function take(rows: number, seed: number): SampleRow[] {
  return [...generateRows(rows, seed)];
}

describe('generateRows', () => {
  const rows = take(20_000, DEFAULT_SEED);

  it('is deterministic for a seed and differs between seeds', () => {
    expect(take(50, DEFAULT_SEED)).toEqual(rows.slice(0, 50));
    expect(take(50, DEFAULT_SEED + 1)).not.toEqual(rows.slice(0, 50));
  });

  it('yields exactly the requested number of rows and rejects bad arguments', () => {
    expect(take(0, 1)).toEqual([]);
    expect(take(7, 1)).toHaveLength(7);
    // Checked at the call, not at the first row.
    expect(() => generateRows(-1, 1)).toThrow(RangeError);
    expect(() => generateRows(1.5, 1)).toThrow(RangeError);
    expect(() => generateRows(1, -1)).toThrow(RangeError);
    expect(() => generateRows(1, 2 ** 32)).toThrow(RangeError);
  });

  it('writes amounts as positive integer cents, with a tail into the millions', () => {
    expect(rows.every((r) => Number.isInteger(r.amount) && r.amount > 0)).toBe(true);
    const max = Math.max(...rows.map((r) => r.amount));
    expect(max).toBeGreaterThan(1_000_000);
    expect(max).toBeLessThanOrEqual(5_000_000);
  });

  it('has point masses at round prices', () => {
    const counts = new Map<number, number>();
    for (const r of rows) counts.set(r.amount, (counts.get(r.amount) ?? 0) + 1);
    const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([amount]) => amount);
    expect(new Set(ranked.slice(0, ROUND_PRICES.length))).toEqual(new Set(ROUND_PRICES));
    for (const price of ROUND_PRICES) expect((counts.get(price) ?? 0) / rows.length).toBeGreaterThan(0.02);
  });

  it('gives Tip about 60% zeros and positive integer cents otherwise', () => {
    const zeros = rows.filter((r) => r.tip === 0).length / rows.length;
    expect(zeros).toBeGreaterThan(0.55);
    expect(zeros).toBeLessThan(0.65);
    expect(rows.every((r) => Number.isInteger(r.tip) && r.tip >= 0)).toBe(true);
    const positive = rows.filter((r) => r.tip > 0).map((r) => r.tip).sort((a, b) => a - b);
    const median = positive[positive.length >> 1] as number;
    const mean = positive.reduce((a, b) => a + b, 0) / positive.length;
    expect(mean).toBeGreaterThan(median); // right-skewed
  });

  it('has five networks with unequal frequencies, visa the most common', () => {
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.network, (counts.get(r.network) ?? 0) + 1);
    expect(new Set(counts.keys())).toEqual(new Set(['visa', 'mastercard', 'amex', 'discover', 'unionpay']));
    const shares = [...counts.values()].sort((a, b) => b - a);
    expect(counts.get('visa')).toBe(shares[0]);
    expect((shares[0] as number) / (shares[4] as number)).toBeGreaterThan(5);
  });

  it('uses four-digit merchant category codes', () => {
    const codes = new Set(rows.map((r) => r.merchant));
    expect(codes.size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^\d{4}$/);
  });
});

describe('assets/card-transactions.csv', () => {
  it('is byte for byte what the generator writes with its defaults', () => {
    const text = readFileSync(join(__dirname, '../../assets/card-transactions.csv'), 'utf8');
    const rows = [[...SAMPLE_HEADER], ...take(DEFAULT_ROWS, DEFAULT_SEED).map(sampleRowFields)];
    const expected = rows.map(formatCsvRow).join('\n') + '\n';
    // Plain comparisons: a deep diff of 50k rows would take seconds.
    expect(text.length).toBe(expected.length);
    expect(text === expected).toBe(true);
    expect(parseCsvText(text).length).toBe(DEFAULT_ROWS + 1);
  });
});

/** The committed sample (assets/card-transactions.csv) as the Kafka integration tests use it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CellValue } from '../../core/normalization/column-summary';

export const SAMPLE = join(__dirname, '..', '..', 'assets', 'card-transactions.csv');
export const SAMPLE_HEADER = 'Amount,Tip,Network,Merchant';
export const SAMPLE_COLUMNS = 'Amount:continuous,Tip:mixed(0),Network:categorical,Merchant:categorical';

/** The first `n` data lines of the sample (no header). */
export function sampleLines(n: number): string[] {
  return readFileSync(SAMPLE, 'utf8').split('\n').slice(1, n + 1);
}

/** Sample row → cells in column order (the sample has no quoted fields). */
export function cellsOf(line: string): CellValue[] {
  const [amount, tip, network, merchant] = line.split(',');
  return [Number(amount), Number(tip), network as string, merchant as string];
}

/** Runs a command line with its stderr kept, shown only if it fails (the fit prints every round). */
export async function quietly(work: () => Promise<number>): Promise<number> {
  const kept: string[] = [];
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    kept.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  try {
    const code = await work();
    if (code !== 0) console.error(kept.join(''));
    return code;
  } finally {
    spy.mockRestore();
  }
}

/**
 * Decoded cells against the sample cells they encode: the same length, numbers within
 * 1e-9·max(1,|want|), anything else (categories, a number decoded as a string) exactly equal.
 * `what` names the row in the error.
 */
export function expectCellsClose(got: readonly CellValue[], want: readonly CellValue[], what = 'decoded row'): void {
  expect(got).toHaveLength(want.length);
  want.forEach((w, c) => {
    const g = got[c];
    if (typeof w === 'number' && typeof g === 'number') {
      if (!(Math.abs(g - w) <= 1e-9 * Math.max(1, Math.abs(w)))) throw new Error(`${what}, column ${c}: decoded ${g}, encoded ${w}`);
    } else {
      expect(g).toBe(w);
    }
  });
}

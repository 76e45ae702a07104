/**
 * Times vgmflow's mixture fit on one column of a CSV file, from given means, over the
 * rows and over the distinct values with counts. Prints JSON. Used by fit-vs-sklearn.sh.
 */
import { readFileSync } from 'fs';
import { CTABGAN_DEFAULTS, fitVbgmm, summarise, unitPoints } from '../../core/mixture';
import { parseCsvText } from '../../core/csv/csv';

function best(repeats: number, run: () => { nIter: number; lowerBound: number }): { seconds: number; nIter: number; lowerBound: number } {
  let seconds = Infinity;
  let last = run();
  for (let i = 0; i < repeats; i++) {
    const t = process.hrtime.bigint();
    last = run();
    seconds = Math.min(seconds, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return { seconds, nIter: last.nIter, lowerBound: last.lowerBound };
}

const [path, column, meansPath, repeatsText] = process.argv.slice(2);
const records = parseCsvText(readFileSync(path, 'utf8'));
const header = records[0].kind === 'record' ? records[0].fields : [];
const at = header.indexOf(column);
const values = records.slice(1).flatMap((r) => (r.kind === 'record' ? [Number(r.fields[at])] : []));
const means = (JSON.parse(readFileSync(meansPath, 'utf8')) as Record<string, number[]>)[column];
const init = { kind: 'means', means } as const;
const repeats = Number(repeatsText);
const rows = best(repeats, () => fitVbgmm([unitPoints(values)], CTABGAN_DEFAULTS, init));
const points = summarise(values);
const weighted = best(repeats, () => fitVbgmm([summarise(values)], CTABGAN_DEFAULTS, init));
process.stdout.write(JSON.stringify({ rows: values.length, distinct: points.values.length, overRows: rows, overWeightedPoints: weighted }) + '\n');

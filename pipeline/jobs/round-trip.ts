/**
 * Compares an input CSV with its decoded round trip, value by value: the check that
 * the inverse is exact (|decoded − x| ≤ 1e-9 · max(1, |x|)) for every in-range value.
 */
import { readCsvRecords } from '../../topics/files/csv-file';
import { parseCell } from '../../core/csv/row-parser';
import { specsOfModel } from '../../core/normalization/model-specs';
import type { TransformerModel } from '../../core/normalization/model';
import { InputError } from './input-error';

export const ROUND_TRIP_RTOL = 1e-9;

export interface RoundTripReport {
  readonly rows: number;
  readonly maxRelativeError: number;
  readonly mismatches: number;
  readonly categoryMismatches: number;
}

async function* dataRecords(path: string): AsyncGenerator<{ header: string[] | null; fields: string[] }> {
  let header: string[] | null = null;
  for await (const r of readCsvRecords(path)) {
    if (r.kind === 'error') throw new InputError(`${path}, line ${r.line}: ${r.reason}`);
    if (header === null) {
      header = r.fields;
      yield { header, fields: [] };
    } else {
      yield { header: null, fields: r.fields };
    }
  }
}

export async function compareFiles(originalPath: string, decodedPath: string, model: TransformerModel): Promise<RoundTripReport> {
  const specs = specsOfModel(model);
  const a = dataRecords(originalPath);
  const b = dataRecords(decodedPath);
  const headerA = (await a.next()).value?.header ?? [];
  const headerB = (await b.next()).value?.header ?? [];
  const indexA = specs.map((s) => headerA.indexOf(s.name));
  const indexB = specs.map((s) => headerB.indexOf(s.name));
  let rows = 0;
  let maxRelativeError = 0;
  let mismatches = 0;
  let categoryMismatches = 0;
  for (;;) {
    const [ra, rb] = [await a.next(), await b.next()];
    if (ra.done || rb.done) {
      if (ra.done !== rb.done) throw new InputError(`${originalPath} and ${decodedPath} have different row counts`);
      break;
    }
    rows++;
    specs.forEach((spec, i) => {
      const x = parseCell(spec, ra.value.fields[indexA[i]]);
      const y = parseCell(spec, rb.value.fields[indexB[i]]);
      if (!x.ok || !y.ok) throw new InputError(`row ${rows}: cannot compare column ${spec.name}`);
      if (typeof x.value === 'string' || typeof y.value === 'string') {
        if (x.value !== y.value) categoryMismatches++;
        return;
      }
      const err = Math.abs(y.value - x.value) / Math.max(1, Math.abs(x.value));
      if (err > maxRelativeError) maxRelativeError = err;
      if (err > ROUND_TRIP_RTOL) mismatches++;
    });
  }
  return { rows, maxRelativeError, mismatches, categoryMismatches };
}

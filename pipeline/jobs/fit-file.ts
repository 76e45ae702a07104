/**
 * `vgmflow fit <file.csv>`: the column specs from --columns and the header (the rest
 * inferred from the data), then the streaming embedded fit (./embedded-fit.ts). Rejected
 * rows stop the fit with a one-line error, or go to a dead-letter file as they are read.
 */
import { readCsvRecords } from '../../topics/files/csv-file';
import { checkHeader, HeaderError, specsForHeader } from '../../core/csv/row-parser';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import { DEFAULT_TRANSFORMER_OPTIONS, type InitialMeans } from '../../core/normalization/fit-transformer';
import type { TransformerModel, TransformerOptions } from '../../core/normalization/model';
import { embeddedFit } from './embedded-fit';
import { deadLetterSink } from './dead-letters';
import { inferColumnTypes } from './infer-columns';
import { InputError } from './input-error';
import { assertReadable } from './read-table';

export interface FitFileOptions {
  readonly input: string;
  readonly columns?: readonly ColumnSpec[];
  readonly initialMeans?: InitialMeans;
  readonly options?: TransformerOptions;
  /** Write rejected rows here and go on; without it the fit stops at the first bad row. */
  readonly deadLetterPath?: string;
  /** Worker threads computing the stats partials (0: this thread). Default 0. */
  readonly statsThreads?: number;
  readonly log?: (line: string) => void;
}

export interface FitFileReport {
  readonly model: TransformerModel;
  readonly rowsRead: number;
  readonly rowsFitted: number;
  readonly rowsDeadLettered: number;
}

async function readHeader(path: string): Promise<string[]> {
  for await (const record of readCsvRecords(path)) {
    if (record.kind === 'error') throw new InputError(`${path}, line ${record.line}: bad header: ${record.reason}`);
    return record.fields;
  }
  throw new InputError(`${path}: the file is empty (expected a header line)`);
}

/** Specs for every header column: the given ones, the rest inferred from the data. */
export async function resolveColumnSpecs(path: string, given: readonly ColumnSpec[]): Promise<ColumnSpec[]> {
  await assertReadable(path);
  const header = await readHeader(path);
  try {
    checkHeader(header);
    const givenNames = new Set(given.map((s) => s.name));
    const missing = new Set(header.filter((h) => !givenNames.has(h)));
    const inferred = missing.size > 0 ? await inferColumnTypes(path, header, missing) : new Map<string, ColumnSpec>();
    return specsForHeader(header, given, (name) => inferred.get(name) ?? { name, type: 'categorical' });
  } catch (err) {
    if (err instanceof HeaderError) throw new InputError(`${path}: ${err.message}`);
    throw err;
  }
}

export async function fitFile(job: FitFileOptions): Promise<FitFileReport> {
  const specs = await resolveColumnSpecs(job.input, job.columns ?? []);
  const sink = deadLetterSink(job.deadLetterPath);
  let report;
  try {
    report = await embeddedFit({
      input: job.input,
      columns: specs,
      options: job.options ?? DEFAULT_TRANSFORMER_OPTIONS,
      initialMeans: job.initialMeans ?? {},
      statsThreads: job.statsThreads,
      onDeadLetter: (d) => sink.put({ source: job.input, line: d.fileLine, column: d.column ?? null, reason: d.reason, raw: d.raw }),
      log: job.log,
    });
  } finally {
    await sink.close();
  }
  if (report.rowsFitted === 0) throw new InputError(`${job.input}: no data rows to fit`);
  return { model: report.model, rowsRead: report.rowsRead, rowsFitted: report.rowsFitted, rowsDeadLettered: report.rowsDeadLettered };
}

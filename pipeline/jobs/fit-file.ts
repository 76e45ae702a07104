/**
 * The embedded fit over a CSV file: summarise every column in one pass, then fit the
 * transformer from the summaries.
 */
import { ColumnSummaryBuilder } from '../../stages/transformer/column-summary';
import type { ColumnSpec } from '../../stages/transformer/column-spec';
import { FitError, fitTransformer, DEFAULT_TRANSFORMER_OPTIONS, type InitialMeans } from '../../stages/transformer/fit-transformer';
import type { TransformerModel, TransformerOptions } from '../../stages/transformer/model';
import { deadLetterSink } from './dead-letters';
import { inferColumnTypes } from './infer-columns';
import { InputError } from './input-error';
import { assertReadable, openTable } from './read-table';
import { readCsvRecords } from '../../stages/ingest/csv-file';
import { checkHeader, HeaderError, specsForHeader } from '../../stages/ingest/row-parser';

export interface FitFileOptions {
  readonly input: string;
  readonly columns?: readonly ColumnSpec[];
  readonly initialMeans?: InitialMeans;
  readonly options?: TransformerOptions;
  /** Write rejected rows here and go on; without it the fit stops at the first bad row. */
  readonly deadLetterPath?: string;
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
  const deadLetters = deadLetterSink(job.deadLetterPath);
  const table = await openTable(
    job.input,
    (header) => ({ specs, fieldIndex: specs.map((s) => header.indexOf(s.name)) }),
    deadLetters,
  );
  const builders = specs.map((s) => new ColumnSummaryBuilder(s));
  let rowsFitted = 0;
  try {
    for await (const row of table.rows()) {
      for (let i = 0; i < builders.length; i++) builders[i].add(row.cells[i]);
      rowsFitted++;
    }
  } finally {
    await deadLetters.close();
  }
  if (rowsFitted === 0) throw new InputError(`${job.input}: no data rows to fit`);
  let model: TransformerModel;
  try {
    model = fitTransformer(
      builders.map((b) => b.build()),
      job.options ?? DEFAULT_TRANSFORMER_OPTIONS,
      job.initialMeans ?? {},
    );
  } catch (err) {
    if (err instanceof FitError || err instanceof RangeError) throw new InputError(`${job.input}: ${err.message}`);
    throw err;
  }
  return { model, rowsRead: table.rowsRead, rowsFitted, rowsDeadLettered: deadLetters.count };
}

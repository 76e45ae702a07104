/** The embedded transform of a CSV file with a fitted model, to an encoded CSV file. */
import { CsvFileWriter } from '../../topics/files/csv-file';
import { formatNumber } from '../../core/csv/csv';
import { specsOfModel } from '../../core/normalization/model-specs';
import { EncodeError, RowEncoder } from '../../core/normalization/encoder';
import { encodedColumnNames } from '../../core/normalization/layout';
import { fileRowId } from '../../core/normalization/row-id';
import type { TransformerModel } from '../../core/normalization/model';
import { deadLetterSink } from './dead-letters';
import { InputError } from './input-error';
import { openTable } from './read-table';

export interface TransformFileOptions {
  readonly input: string;
  readonly model: TransformerModel;
  readonly output: string;
  readonly deadLetterPath?: string;
  /** Called now and then with the rows read and (about) the input bytes they took. */
  readonly onProgress?: (rows: number, bytes: number) => void;
}

export interface TransformFileReport {
  readonly rowsRead: number;
  readonly rowsEncoded: number;
  readonly rowsDeadLettered: number;
  /** Values outside the fitted range, clipped to it, per column name. */
  readonly clipped: Record<string, number>;
  /** Values the research code would clip to alpha = ±0.99 and so not recover, per column name. */
  readonly beyondResearchClip: Record<string, number>;
}

/** Maps the model's columns to the input's header; every model column must be there. */
export function modelFieldIndex(model: TransformerModel, header: readonly string[], source: string): number[] {
  return model.columns.map((c) => {
    const at = header.indexOf(c.name);
    if (at < 0) throw new InputError(`${source}: column "${c.name}" of the model is not in the header (${header.join(', ')})`);
    return at;
  });
}

export async function transformFile(job: TransformFileOptions): Promise<TransformFileReport> {
  const { model } = job;
  const deadLetters = deadLetterSink(job.deadLetterPath);
  const table = await openTable(
    job.input,
    (header) => ({ specs: specsOfModel(model), fieldIndex: modelFieldIndex(model, header, job.input) }),
    deadLetters,
  );
  const encoder = new RowEncoder(model);
  const out = new CsvFileWriter(job.output);
  const vector = new Float64Array(encoder.width);
  const fields = new Array<string>(encoder.width);
  let rowsEncoded = 0;
  let bytesRead = 0;
  try {
    await out.writeRow(encodedColumnNames(model));
    for await (const row of table.rows()) {
      bytesRead += row.raw.length + 1;
      if (job.onProgress && table.rowsRead % 1000 === 0) job.onProgress(table.rowsRead, bytesRead);
      try {
        encoder.encodeInto(row.cells, fileRowId(row.rowNumber), vector);
      } catch (err) {
        if (!(err instanceof EncodeError)) throw err;
        await deadLetters.put({ source: job.input, line: row.line, column: err.column, reason: `column ${err.column}: ${err.message}`, raw: row.raw });
        continue;
      }
      for (let i = 0; i < vector.length; i++) fields[i] = formatNumber(vector[i]);
      await out.writeRow(fields);
      rowsEncoded++;
    }
  } finally {
    await out.close();
    await deadLetters.close();
  }
  const clipped: Record<string, number> = {};
  const beyondResearchClip: Record<string, number> = {};
  model.columns.forEach((c, i) => {
    if (encoder.clipped[i] > 0) clipped[c.name] = encoder.clipped[i];
    if (c.type !== 'categorical') beyondResearchClip[c.name] = encoder.beyondResearchClip[i];
  });
  return { rowsRead: table.rowsRead, rowsEncoded, rowsDeadLettered: deadLetters.count, clipped, beyondResearchClip };
}

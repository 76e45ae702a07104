/**
 * Output of a file job that works on chunks of rows: the chunk's rows are encoded or decoded
 * together, but their output lines and dead letters still go out in input order, so the
 * output file, the dead-letter file and the first error of a fail-fast run are those of a
 * row-at-a-time job.
 */
import type { CsvFileWriter } from '../../topics/files/csv-file';
import type { DeadLetter, DeadLetterSink } from './dead-letters';

/** A chunk's input in order: a row (its index in the chunk) or a dead letter read in between. */
export type ChunkEntry = number | DeadLetter;

/**
 * Sends each entry out in order: `lineOf(row)` is the row's CSV line, or its dead letter
 * when the row was rejected. Returns the rows written.
 */
export async function writeInOrder(
  entries: readonly ChunkEntry[],
  lineOf: (row: number) => string | DeadLetter,
  out: CsvFileWriter,
  deadLetters: DeadLetterSink,
): Promise<number> {
  let lines: string[] = [];
  let written = 0;
  for (const entry of entries) {
    const result = typeof entry === 'number' ? lineOf(entry) : entry;
    if (typeof result === 'string') {
      lines.push(result);
      continue;
    }
    // Rows before a dead letter are out before it, as a fail-fast run would leave them.
    await out.writeLines(lines);
    written += lines.length;
    lines = [];
    await deadLetters.put(result);
  }
  await out.writeLines(lines);
  return written + lines.length;
}

/**
 * Calls `onProgress` whenever the rows read pass another multiple of `every`, as a
 * row-at-a-time job did; a chunked job reports after each read. A run that fails in its
 * first `every` rows so prints nothing but its error.
 */
export function progressEvery(
  every: number,
  onProgress: ((rows: number, bytes: number) => void) | undefined,
): (rows: number, bytes: number) => void {
  let reported = 0;
  return (rows, bytes) => {
    if (onProgress === undefined || Math.floor(rows / every) <= Math.floor(reported / every)) return;
    reported = rows;
    onProgress(rows, bytes);
  };
}

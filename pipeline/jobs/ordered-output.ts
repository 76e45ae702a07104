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
 * The entries of the chunk being read, in order: the job adds its rows with `row`, and as the
 * dead-letter sink of the reader this keeps the rows it rejects in between.
 */
export class ChunkEntries implements DeadLetterSink {
  private entries: ChunkEntry[] = [];

  constructor(private readonly sink: DeadLetterSink) {}

  get count(): number {
    return this.sink.count;
  }

  async put(letter: DeadLetter): Promise<void> {
    this.entries.push(letter);
  }

  row(index: number): void {
    this.entries.push(index);
  }

  async close(): Promise<void> {
    await this.sink.close();
  }

  /** The entries so far, and a fresh list for the next chunk. */
  take(): ChunkEntry[] {
    const entries = this.entries;
    this.entries = [];
    return entries;
  }
}

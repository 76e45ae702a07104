/**
 * Where rejected rows go when a file job runs with --dead-letter: a CSV of the source,
 * line, reason and raw text of each. Without it the job stops at the first bad row,
 * so no row is ever dropped silently.
 */
import { CsvFileWriter } from '../../topics/files/csv-file';
import { describeRow, InputError } from './input-error';

export interface DeadLetter {
  readonly source: string;
  readonly line: number;
  readonly column: string | null;
  readonly reason: string;
  readonly raw: string;
}

export interface DeadLetterSink {
  readonly count: number;
  put(letter: DeadLetter): Promise<void>;
  close(): Promise<void>;
}

/** Stops the job at the first bad row with a one-line error. */
export class FailFast implements DeadLetterSink {
  readonly count = 0;

  async put(letter: DeadLetter): Promise<void> {
    throw new InputError(`${describeRow(letter.source, letter.line, letter.column)}: ${letter.reason}`);
  }

  async close(): Promise<void> {}
}

export class DeadLetterFile implements DeadLetterSink {
  private readonly writer: CsvFileWriter;
  private written = 0;
  private started = false;

  constructor(readonly path: string) {
    this.writer = new CsvFileWriter(path);
  }

  get count(): number {
    return this.written;
  }

  async put(letter: DeadLetter): Promise<void> {
    if (!this.started) {
      this.started = true;
      await this.writer.writeRow(['source', 'line', 'column', 'reason', 'raw']);
    }
    await this.writer.writeRow([letter.source, String(letter.line), letter.column ?? '', letter.reason, letter.raw]);
    this.written++;
  }

  async close(): Promise<void> {
    if (!this.started) await this.writer.writeRow(['source', 'line', 'column', 'reason', 'raw']);
    await this.writer.close();
  }
}

export function deadLetterSink(path: string | undefined): DeadLetterSink {
  return path === undefined ? new FailFast() : new DeadLetterFile(path);
}

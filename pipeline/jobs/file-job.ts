/** What the file jobs that apply a model (transform, inverse) take and report. */
import type { TransformerModel } from '../../core/normalization/model';

export interface ModelFileJobOptions {
  readonly input: string;
  readonly model: TransformerModel;
  readonly output: string;
  /** Write rejected rows here and go on; without it the job stops at the first bad row. */
  readonly deadLetterPath?: string;
  /** Called now and then with the rows read and (about) the input bytes they took. */
  readonly onProgress?: (rows: number, bytes: number) => void;
  /** Called when the job reads the file again from its start (its row-by-row path), with why; progress counts afresh. */
  readonly onRestart?: (why: string) => void;
}

export interface ModelFileJobReport {
  readonly rowsRead: number;
  readonly rowsDeadLettered: number;
  /** Values clipped to the fitted range, per column name. */
  readonly clipped: Record<string, number>;
}

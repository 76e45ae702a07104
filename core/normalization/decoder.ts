/**
 * Decodes one encoded vector at a time: BatchDecoder (./batch-decoder) over a batch of one
 * vector, for callers that hold a single row (the inverse stage's Avro values, tests).
 */
import { BatchDecoder, DecodeError } from './batch-decoder';
import type { CellValue } from './column-summary';
import type { TransformerModel } from './model';

export class RowDecoder {
  readonly width: number;
  private readonly batch: BatchDecoder;
  /** Decoded values clipped into the fitted range, per column. */
  readonly clipped: number[];

  constructor(readonly model: TransformerModel) {
    this.batch = new BatchDecoder(model);
    this.width = this.batch.width;
    this.clipped = this.batch.clipped;
  }

  /** The row's values in model column order: numbers for numeric columns, text for categorical. */
  decode(vector: ArrayLike<number>, at = 0): CellValue[] {
    if (vector.length - at < this.width) {
      throw new DecodeError(`expected ${this.width} encoded values, got ${vector.length - at}`);
    }
    const values = vector instanceof Float64Array ? vector : Float64Array.from(vector);
    const decoded = this.batch.decode(values, 1, at);
    const rejection = decoded.rejections[0];
    if (rejection !== undefined) throw rejection.error;
    return this.batch.cellsAt(decoded, 0);
  }
}

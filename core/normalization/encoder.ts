/**
 * Encodes one row at a time: BatchEncoder (./batch-encoder) over a batch of one row, for
 * callers that hold a row of cells (tests, tools). The hot paths encode whole batches.
 */
import { BatchEncoder, type ColumnValues } from './batch-encoder';
import type { CellValue } from './column-summary';
import type { TransformerModel } from './model';
import type { RowId } from './row-id';

/** Per numeric column: the alpha and the one-hot position written for the row. */
export interface EncodedNumeric {
  readonly alpha: number;
  readonly mode: number;
}

export class RowEncoder {
  readonly width: number;
  private readonly batch: BatchEncoder;
  /** Values clipped into the fitted range, per column. */
  readonly clipped: number[];
  /** Values whose |alpha| exceeds 0.99, per column (see BatchEncoder). */
  readonly beyondResearchClip: number[];

  constructor(readonly model: TransformerModel) {
    // A one-row encoder would only fill the selection cache, never reuse it.
    this.batch = new BatchEncoder(model, { selectionCacheBits: null });
    this.width = this.batch.width;
    this.clipped = this.batch.clipped;
    this.beyondResearchClip = this.batch.beyondResearchClip;
  }

  /**
   * Writes the encoding of one row (cells in model column order) into out[at..at+width)
   * and returns per column the alpha and mode (null for categorical columns).
   * Throws EncodeError for a value the model cannot encode (an unseen category).
   */
  encodeInto(cells: readonly CellValue[], row: RowId, out: Float64Array, at = 0): (EncodedNumeric | null)[] {
    if (!Number.isInteger(row.rowInMessage) || row.rowInMessage < 0 || row.rowInMessage > 0x7fffffff) {
      throw new RangeError(`row index ${row.rowInMessage} is not an integer in [0, 2^31)`);
    }
    const columns: ColumnValues[] = this.model.columns.map((_, c) => {
      const cell = cells[c];
      return typeof cell === 'number' ? Float64Array.of(cell) : [String(cell)];
    });
    const rowIds = { partition: Int32Array.of(row.partition), offset: Float64Array.of(row.offset), rowInMessage: Int32Array.of(row.rowInMessage) };
    const encoded = this.batch.encode({ length: 1, columns, rowIds });
    const rejection = encoded.rejections[0];
    if (rejection !== undefined) throw rejection.error;
    this.batch.researchLayoutInto(encoded, out, at);
    return encoded.alpha.map((alphas, c) =>
      alphas === null ? null : { alpha: alphas[0] as number, mode: (encoded.position[c] as Int32Array)[0] as number },
    );
  }

  encode(cells: readonly CellValue[], row: RowId): { vector: Float64Array; numeric: (EncodedNumeric | null)[] } {
    const vector = new Float64Array(this.width);
    const numeric = this.encodeInto(cells, row, vector);
    return { vector, numeric };
  }
}

/**
 * Decodes a batch of research-layout vectors back to column values, column by column over
 * typed arrays. The mode is the arg-max of the one-hot (first on ties); x = alpha · 4σ + μ,
 * clipped to the fitted range and counted. Unlike the research code, alpha is not clipped
 * to ±1 first: the encoder writes exact alphas beyond it for tail values, and the range
 * clip already bounds what a generator can produce.
 *
 * RowDecoder (./decoder) is this decoder over a batch of one vector.
 */
import { columnOffsets, encodedWidth } from './layout';
import { mixtureParams, type ColumnModel, type NumericColumnModel, type TransformerModel } from './model';
import type { CellValue } from './column-summary';

// Bound once: a global lookup per call is an order of magnitude slower inside vm contexts
// such as jest's.
const { isFinite } = Number;
const { sqrt } = Math;

export class DecodeError extends Error {}

export interface DecodeRejection {
  readonly row: number;
  readonly error: DecodeError;
}

export interface DecodedBatch {
  readonly length: number;
  /** Per model column: the decoded numbers of a numeric column, null for a categorical one. */
  readonly values: readonly (Float64Array | null)[];
  /** Per model column: the category position of a categorical column, null for a numeric one. */
  readonly categories: readonly (Int32Array | null)[];
  /** Per row: 1 when the row was rejected (its values are then 0). */
  readonly rejected: Uint8Array;
  /** The rejected rows, in row order. */
  readonly rejections: readonly DecodeRejection[];
}

/** Position of the largest of v[from..from+count), the first on ties (numpy's argmax). */
function argmax(v: Float64Array, from: number, count: number): number {
  let best = 0;
  for (let i = 1; i < count; i++) if (v[from + i] > v[from + best]) best = i;
  return best;
}

export class BatchDecoder {
  readonly width: number;
  readonly offsets: readonly number[];
  private readonly means: Float64Array[];
  private readonly scales: Float64Array[];
  /** Decoded values clipped into the fitted range, per column. */
  readonly clipped: number[];

  constructor(readonly model: TransformerModel) {
    this.width = encodedWidth(model);
    this.offsets = columnOffsets(model);
    this.means = model.columns.map((c) => (c.type === 'categorical' ? new Float64Array(0) : Float64Array.from(mixtureParams(c.mixture).means)));
    this.scales = model.columns.map((c) =>
      c.type === 'categorical' ? new Float64Array(0) : Float64Array.from(c.mixture.variances, (v) => 4 * sqrt(v)),
    );
    this.clipped = model.columns.map(() => 0);
  }

  /**
   * Decodes `rows` vectors of `width` values each, stored one after the other in `vectors`
   * from `at` on. A row holding a value that is not a finite number is rejected.
   */
  decode(vectors: Float64Array, rows: number, at = 0): DecodedBatch {
    const width = this.width;
    if (vectors.length - at < rows * width) {
      throw new DecodeError(`expected ${rows * width} encoded values, got ${vectors.length - at}`);
    }
    const rejected = new Uint8Array(rows);
    const rejections: DecodeRejection[] = [];
    for (let r = 0; r < rows; r++) {
      const base = at + r * width;
      for (let i = 0; i < width; i++) {
        if (!isFinite(vectors[base + i])) {
          rejected[r] = 1;
          rejections.push({ row: r, error: new DecodeError(`encoded value ${i} is not a finite number`) });
          break;
        }
      }
    }
    const values: (Float64Array | null)[] = [];
    const categories: (Int32Array | null)[] = [];
    this.model.columns.forEach((column, c) => {
      const numeric = column.type === 'categorical' ? null : new Float64Array(rows);
      const category = column.type === 'categorical' ? new Int32Array(rows) : null;
      values.push(numeric);
      categories.push(category);
      this.decodeColumn(column, c, vectors, rows, at, rejected, numeric, category);
    });
    return { length: rows, values, categories, rejected, rejections };
  }

  /**
   * Decodes `rows` rows given per model column as the transformed block carries them: alpha
   * (numeric columns; null for categorical ones) and the one-hot position of the mode or
   * category. The same values as decode() of the research-layout vectors of those rows, bit for
   * bit (the position is what the vector's arg-max gives). A row with a position outside its
   * column's one-hot, or a numeric alpha that is not a finite number, is rejected.
   */
  decodeModes(alpha: readonly (Float64Array | null)[], position: readonly Int32Array[], rows: number): DecodedBatch {
    const columns = this.model.columns;
    if (alpha.length !== columns.length || position.length !== columns.length) {
      throw new DecodeError(`expected ${columns.length} columns, got ${alpha.length} alpha and ${position.length} position arrays`);
    }
    const rejected = new Uint8Array(rows);
    const reasons = new Map<number, string>();
    const reject = (r: number, reason: string): void => {
      if (rejected[r] !== 0) return;
      rejected[r] = 1;
      reasons.set(r, reason);
    };
    columns.forEach((column, c) => {
      const positions = position[c] as Int32Array;
      const alphas = alpha[c];
      if (positions.length < rows) throw new DecodeError(`column ${column.name}: ${positions.length} positions for ${rows} rows`);
      const count = column.type === 'categorical' ? column.categories.length : column.modes.length;
      for (let r = 0; r < rows; r++) {
        const p = positions[r] as number;
        if (!(p >= 0 && p < count)) reject(r, `column ${column.name}: one-hot position ${p} is outside 0…${count - 1}`);
      }
      if (column.type === 'categorical') return;
      if (alphas === null || alphas === undefined || alphas.length < rows) throw new DecodeError(`column ${column.name}: no alpha for each of ${rows} rows`);
      for (let r = 0; r < rows; r++) if (!isFinite(alphas[r])) reject(r, `column ${column.name}: alpha ${alphas[r]} is not a finite number`);
    });
    const rejections: DecodeRejection[] = [...reasons].sort(([a], [b]) => a - b).map(([row, reason]) => ({ row, error: new DecodeError(reason) }));
    const values: (Float64Array | null)[] = [];
    const categories: (Int32Array | null)[] = [];
    columns.forEach((column, c) => {
      const positions = position[c] as Int32Array;
      if (column.type === 'categorical') {
        const out = new Int32Array(rows);
        for (let r = 0; r < rows; r++) if (rejected[r] === 0) out[r] = positions[r] as number;
        values.push(null);
        categories.push(out);
        return;
      }
      values.push(this.decodeModeColumn(column, c, alpha[c] as Float64Array, positions, rows, rejected));
      categories.push(null);
    });
    return { length: rows, values, categories, rejected, rejections };
  }

  /** Row `row` of a decoded batch as cells: numbers for numeric columns, text for categorical. */
  cellsAt(decoded: DecodedBatch, row: number): CellValue[] {
    return this.model.columns.map((column, c) => {
      const category = decoded.categories[c];
      if (column.type === 'categorical' && category) return column.categories[category[row] as number] as string;
      return (decoded.values[c] as Float64Array)[row] as number;
    });
  }

  private decodeModeColumn(column: NumericColumnModel, c: number, alphas: Float64Array, positions: Int32Array, rows: number, rejected: Uint8Array): Float64Array {
    const out = new Float64Array(rows);
    const means = this.means[c] as Float64Array;
    const scales = this.scales[c] as Float64Array;
    const { modes, min, max } = column;
    // Per one-hot position: the component's scale and mean, or NaN for a modal value's slot.
    const slotScale = Float64Array.from(modes, (s) => (s.kind === 'component' ? (scales[s.component] as number) : NaN));
    const slotMean = Float64Array.from(modes, (s) => (s.kind === 'component' ? (means[s.component] as number) : NaN));
    const slotValue = Float64Array.from(modes, (s) => (s.kind === 'modal' ? s.value : NaN));
    let clipped = 0;
    for (let r = 0; r < rows; r++) {
      if (rejected[r] !== 0) continue;
      const p = positions[r] as number;
      const scale = slotScale[p] as number;
      if (scale !== scale) {
        out[r] = slotValue[p] as number;
        continue;
      }
      const x = (alphas[r] as number) * scale + (slotMean[p] as number);
      if (x < min || x > max) {
        clipped++;
        out[r] = x < min ? min : max;
      } else {
        out[r] = x;
      }
    }
    this.clipped[c] = (this.clipped[c] as number) + clipped;
    return out;
  }

  private decodeColumn(
    column: ColumnModel,
    c: number,
    vectors: Float64Array,
    rows: number,
    at: number,
    rejected: Uint8Array,
    numeric: Float64Array | null,
    category: Int32Array | null,
  ): void {
    const width = this.width;
    const start = at + (this.offsets[c] as number);
    if (column.type === 'categorical') {
      const out = category as Int32Array;
      const count = column.categories.length;
      for (let r = 0; r < rows; r++) if (rejected[r] === 0) out[r] = argmax(vectors, start + r * width, count);
      return;
    }
    const out = numeric as Float64Array;
    const means = this.means[c] as Float64Array;
    const scales = this.scales[c] as Float64Array;
    const { modes, min, max } = column;
    let clipped = 0;
    for (let r = 0; r < rows; r++) {
      if (rejected[r] !== 0) continue;
      const base = start + r * width;
      const slot = modes[argmax(vectors, base + 1, modes.length)];
      if (slot === undefined) continue;
      if (slot.kind === 'modal') {
        out[r] = slot.value;
        continue;
      }
      const x = (vectors[base] as number) * (scales[slot.component] as number) + (means[slot.component] as number);
      if (x < min || x > max) {
        clipped++;
        out[r] = x < min ? min : max;
      } else {
        out[r] = x;
      }
    }
    this.clipped[c] = (this.clipped[c] as number) + clipped;
  }
}

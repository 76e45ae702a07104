/**
 * Decodes encoded vectors back to column values. The mode is the arg-max of the
 * one-hot (first on ties); x = alpha · 4σ + μ, clipped to the fitted range and
 * counted. Unlike the research code, alpha is not clipped to ±1 first: the encoder
 * writes exact alphas beyond it for tail values, and the range clip already bounds
 * what a generator can produce.
 */
import { columnOffsets, encodedWidth } from './layout';
import { mixtureParams, type TransformerModel } from './model';
import type { CellValue } from './column-summary';

export class DecodeError extends Error {}

function argmax(v: ArrayLike<number>, from: number, count: number): number {
  let best = 0;
  for (let i = 1; i < count; i++) if (v[from + i] > v[from + best]) best = i;
  return best;
}

export class RowDecoder {
  readonly width: number;
  private readonly offsets: number[];
  private readonly means: number[][];
  private readonly scales: number[][];
  /** Decoded values clipped into the fitted range, per column. */
  readonly clipped: number[];

  constructor(readonly model: TransformerModel) {
    this.width = encodedWidth(model);
    this.offsets = columnOffsets(model);
    this.means = model.columns.map((c) => (c.type === 'categorical' ? [] : Array.from(mixtureParams(c.mixture).means)));
    this.scales = model.columns.map((c) =>
      c.type === 'categorical' ? [] : c.mixture.variances.map((v) => 4 * Math.sqrt(v)),
    );
    this.clipped = model.columns.map(() => 0);
  }

  /** The row's values in model column order: numbers for numeric columns, text for categorical. */
  decode(vector: ArrayLike<number>, at = 0): CellValue[] {
    if (vector.length - at < this.width) {
      throw new DecodeError(`expected ${this.width} encoded values, got ${vector.length - at}`);
    }
    for (let i = at; i < at + this.width; i++) {
      if (!Number.isFinite(vector[i])) throw new DecodeError(`encoded value ${i - at} is not a finite number`);
    }
    return this.model.columns.map((column, c) => {
      const base = at + this.offsets[c];
      if (column.type === 'categorical') return column.categories[argmax(vector, base, column.categories.length)];
      const slot = column.modes[argmax(vector, base + 1, column.modes.length)];
      if (slot.kind === 'modal') return slot.value;
      const x = vector[base] * this.scales[c][slot.component] + this.means[c][slot.component];
      if (x < column.min || x > column.max) {
        this.clipped[c]++;
        return Math.min(column.max, Math.max(column.min, x));
      }
      return x;
    });
  }
}

/**
 * Encodes rows with a fitted model (mode-specific normalisation). Differences from
 * the research code, on purpose:
 * - the mode is drawn from a counter-based generator keyed by (seed, row id, column),
 *   so the output does not depend on batching or on which worker encodes the row;
 * - alpha is not clipped to ±0.99, so values beyond 4σ of their mode stay exact and
 *   the inverse recovers every value of the fitted range;
 * - values outside the fitted range are clipped to it and counted.
 */
import { logProbTerms, type LogProbTerms } from '../mixture';
import type { CellValue } from './column-summary';
import { columnOffsets, encodedWidth } from './layout';
import {
  mixtureParams,
  type CategoricalColumnModel,
  type NumericColumnModel,
  type TransformerModel,
} from './model';
import { drawFrom, selectionProbabilitiesInto } from './mode-usage';
import { modeUniform, type RowId } from './row-id';

/** The research code clips alpha to ±0.99 before writing it. */
export const RESEARCH_ALPHA_CLIP = 0.99;

export class EncodeError extends Error {
  constructor(
    readonly column: string,
    message: string,
  ) {
    super(message);
  }
}

/** Per numeric column: the alpha and the one-hot position written for the row. */
export interface EncodedNumeric {
  readonly alpha: number;
  readonly mode: number;
}

interface NumericEncoder {
  readonly kind: 'numeric';
  readonly model: NumericColumnModel;
  readonly terms: LogProbTerms;
  /** Kept components, ascending (the order the draw is made in). */
  readonly kept: number[];
  /** One-hot position of each kept component, same order as `kept`. */
  readonly keptPosition: number[];
  readonly modalPosition: Map<number, number>;
  readonly means: number[];
  readonly scales: number[];
  readonly scratch: Float64Array;
  readonly probabilities: Float64Array;
}

interface CategoricalEncoder {
  readonly kind: 'categorical';
  readonly model: CategoricalColumnModel;
  readonly position: Map<string, number>;
}

function numericEncoder(model: NumericColumnModel): NumericEncoder {
  const params = mixtureParams(model.mixture);
  const kept: number[] = [];
  const modalPosition = new Map<number, number>();
  model.modes.forEach((slot, position) => {
    if (slot.kind === 'component') kept.push(slot.component);
    else modalPosition.set(slot.value, position);
  });
  kept.sort((a, b) => a - b);
  const keptPosition = kept.map((k) =>
    model.modes.findIndex((slot) => slot.kind === 'component' && slot.component === k),
  );
  const terms = logProbTerms(params);
  return {
    kind: 'numeric',
    model,
    terms,
    kept,
    keptPosition,
    modalPosition,
    means: Array.from(params.means),
    scales: Array.from(params.covariances, (v) => 4 * Math.sqrt(v)),
    scratch: new Float64Array(terms.k),
    probabilities: new Float64Array(kept.length),
  };
}

export class RowEncoder {
  readonly width: number;
  private readonly offsets: number[];
  private readonly encoders: (NumericEncoder | CategoricalEncoder)[];
  /** Values clipped into the fitted range, per column. */
  readonly clipped: number[];
  /**
   * Values whose |alpha| exceeds 0.99, per column: the research code clips these and
   * its inverse cannot recover them; here they round-trip.
   */
  readonly beyondResearchClip: number[];

  constructor(readonly model: TransformerModel) {
    this.width = encodedWidth(model);
    this.offsets = columnOffsets(model);
    this.encoders = model.columns.map((c) =>
      c.type === 'categorical'
        ? { kind: 'categorical', model: c, position: new Map(c.categories.map((cat, i) => [cat, i])) }
        : numericEncoder(c),
    );
    this.clipped = model.columns.map(() => 0);
    this.beyondResearchClip = model.columns.map(() => 0);
  }

  /**
   * Writes the encoding of one row (cells in model column order) into out[at..at+width)
   * and returns per column the alpha and mode (null for categorical columns).
   * Throws EncodeError for a value the model cannot encode (an unseen category).
   */
  encodeInto(cells: readonly CellValue[], row: RowId, out: Float64Array, at = 0): (EncodedNumeric | null)[] {
    const result: (EncodedNumeric | null)[] = [];
    out.fill(0, at, at + this.width);
    for (let c = 0; c < this.encoders.length; c++) {
      const enc = this.encoders[c];
      const base = at + this.offsets[c];
      if (enc.kind === 'categorical') {
        const position = enc.position.get(String(cells[c]));
        if (position === undefined) {
          throw new EncodeError(enc.model.name, `category "${String(cells[c])}" was not seen when the model was fitted`);
        }
        out[base + position] = 1;
        result.push(null);
        continue;
      }
      const encoded = this.encodeNumeric(enc, c, cells[c], row);
      out[base] = encoded.alpha;
      out[base + 1 + encoded.mode] = 1;
      result.push(encoded);
    }
    return result;
  }

  encode(cells: readonly CellValue[], row: RowId): { vector: Float64Array; numeric: (EncodedNumeric | null)[] } {
    const vector = new Float64Array(this.width);
    const numeric = this.encodeInto(cells, row, vector);
    return { vector, numeric };
  }

  private encodeNumeric(enc: NumericEncoder, column: number, cell: CellValue, row: RowId): EncodedNumeric {
    if (typeof cell !== 'number') throw new EncodeError(enc.model.name, `expected a number, got "${cell}"`);
    const modal = enc.modalPosition.get(cell);
    if (modal !== undefined && enc.model.type === 'mixed') {
      const i = enc.model.modalValues.indexOf(cell);
      return { alpha: enc.model.modalAlphas[i], mode: modal };
    }
    let x = cell;
    if (x < enc.model.min || x > enc.model.max) {
      x = Math.min(enc.model.max, Math.max(enc.model.min, x));
      this.clipped[column]++;
    }
    selectionProbabilitiesInto(enc.terms, enc.kept, x, enc.scratch, enc.probabilities);
    const draw = drawFrom(enc.probabilities, enc.kept.length, modeUniform(this.model.options.seed, row, column));
    const component = enc.kept[draw];
    const alpha = exactAlpha(x, enc.means[component], enc.scales[component]);
    if (Math.abs(alpha) > RESEARCH_ALPHA_CLIP) this.beyondResearchClip[column]++;
    return { alpha, mode: enc.keptPosition[draw] };
  }
}

/**
 * (x − μ) / s, nudged so that the decoder's α·s + μ gives back x itself where
 * doubles allow it: the plain quotient can be off by an ulp or two after decoding.
 */
export function exactAlpha(x: number, mean: number, scale: number): number {
  let alpha = (x - mean) / scale;
  let best = alpha;
  let bestError = Math.abs(alpha * scale + mean - x);
  for (let step = 0; step < 4 && bestError > 0; step++) {
    alpha += (x - (alpha * scale + mean)) / scale;
    const error = Math.abs(alpha * scale + mean - x);
    if (error < bestError) {
      best = alpha;
      bestError = error;
    }
  }
  return best;
}

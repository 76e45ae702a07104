/**
 * Encodes a batch of rows column by column over typed arrays (mode-specific normalisation).
 * Differences from the research code, on purpose:
 * - the mode is drawn from a counter-based generator keyed by (seed, row id, column),
 *   so the output does not depend on batching or on which worker encodes the row;
 * - alpha is not clipped to ±0.99, so values beyond 4σ of their mode stay exact and
 *   the inverse recovers every value of the fitted range;
 * - values outside the fitted range are clipped to it and counted.
 *
 * The fast path allocates per batch, never per row: the Philox draws of a block of rows
 * are made in one call (counterUniformsInto) and every result lands in a typed array.
 * RowEncoder (./encoder) is this encoder over a batch of one row.
 */
// From the defining modules, not the '../mixture' index: its re-exports are getters, a cost on
// every call in the per-row loop.
import { logProbTerms, weightedLogProbInto, type LogProbTerms } from '../mixture/e-step';
import { logSumExp } from '../mixture/special-functions';
import { counterUniformsInto } from '../random/philox';
import { columnOffsets, encodedWidth } from './layout';
import { mixtureParams, type CategoricalColumnModel, type NumericColumnModel, type TransformerModel } from './model';
import { drawFromRunningSums, SELECTION_FLOOR } from './mode-usage';
import { modeLane, type RowIds } from './row-id';
import { DEFAULT_SELECTION_CACHE_BITS, SelectionCache } from './selection-cache';

// Bound once: a global `Math` lookup per call is an order of magnitude slower inside
// vm contexts such as jest's.
const { abs, exp, sqrt } = Math;

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

/**
 * One column's values, in row order: numbers for a numeric column, text for a categorical
 * one. Either kind is accepted for either column, as a row of cells was: text in a numeric
 * column rejects the row, a number in a categorical column is looked up as its text.
 */
export type ColumnValues = Float64Array | readonly string[];

export interface EncoderInput {
  readonly length: number;
  /** Per model column, in model column order. */
  readonly columns: readonly ColumnValues[];
  /** The row ids that key each row's mode draws. */
  readonly rowIds: RowIds;
}

export interface EncodeRejection {
  readonly row: number;
  readonly error: EncodeError;
}

export interface EncodedBatch {
  readonly length: number;
  /** Per model column: each row's alpha for a numeric column, null for a categorical one. */
  readonly alpha: readonly (Float64Array | null)[];
  /** Per model column: each row's one-hot position (its mode's, or its category's). */
  readonly position: readonly Int32Array[];
  /** Per row: the model column that rejected it, or -1 when the row is encoded. */
  readonly rejectedBy: Int32Array;
  /** The rejected rows, in row order, each with the first column that rejected it. */
  readonly rejections: readonly EncodeRejection[];
}

interface NumericPlan {
  readonly kind: 'numeric';
  readonly model: NumericColumnModel;
  readonly terms: LogProbTerms;
  /** Kept components, ascending (the order the draw is made in). */
  readonly kept: number[];
  /** One-hot position of each kept component, same order as `kept`. */
  readonly keptPosition: Int32Array;
  /** Modal values of a mixed column that have a one-hot slot, their position and alpha. */
  readonly modalValue: Float64Array;
  readonly modalPosition: Int32Array;
  readonly modalAlpha: Float64Array;
  readonly means: Float64Array;
  /** 4σ of each component. */
  readonly scales: Float64Array;
  readonly scratch: Float64Array;
  readonly probabilities: Float64Array;
  /** Running sums of `probabilities` when there is no cache. */
  readonly running: Float64Array;
  /** Per distinct value: cumulative selection probabilities and alphas (null: computed per row). */
  readonly cache: SelectionCache | null;
}

interface CategoricalPlan {
  readonly kind: 'categorical';
  readonly model: CategoricalColumnModel;
  readonly position: Map<string, number>;
}

function numericPlan(model: NumericColumnModel, cacheBits: number | null): NumericPlan {
  const params = mixtureParams(model.mixture);
  const kept: number[] = [];
  const modalValue: number[] = [];
  const modalPosition: number[] = [];
  const modalAlpha: number[] = [];
  model.modes.forEach((slot, position) => {
    if (slot.kind === 'component') {
      kept.push(slot.component);
    } else if (model.type === 'mixed') {
      modalValue.push(slot.value);
      modalPosition.push(position);
      modalAlpha.push(model.modalAlphas[model.modalValues.indexOf(slot.value)] as number);
    }
  });
  kept.sort((a, b) => a - b);
  const keptPosition = Int32Array.from(kept, (k) =>
    model.modes.findIndex((slot) => slot.kind === 'component' && slot.component === k),
  );
  const terms = logProbTerms(params);
  return {
    kind: 'numeric',
    model,
    terms,
    kept,
    keptPosition,
    modalValue: Float64Array.from(modalValue),
    modalPosition: Int32Array.from(modalPosition),
    modalAlpha: Float64Array.from(modalAlpha),
    means: Float64Array.from(params.means),
    scales: Float64Array.from(params.covariances, (v) => 4 * sqrt(v)),
    scratch: new Float64Array(terms.k),
    probabilities: new Float64Array(kept.length),
    running: new Float64Array(kept.length),
    cache: cacheBits === null || kept.length === 0 ? null : new SelectionCache(kept.length, cacheBits),
  };
}

export interface BatchEncoderOptions {
  /**
   * log2 of the slots of each numeric column's selection cache (./selection-cache); null: no
   * cache (a one-row encoder would only pay for it). Default DEFAULT_SELECTION_CACHE_BITS.
   */
  readonly selectionCacheBits?: number | null;
}

/** Rows whose draws are made in one Philox call: bounds the scratch arrays. */
const DRAW_BLOCK = 1024;

/** The rows of one block that need a mode draw: value (clipped), row, and Philox counter. */
interface DrawBlock {
  readonly x: Float64Array;
  readonly row: Int32Array;
  readonly stream: Int32Array;
  readonly index: Float64Array;
  readonly lane: Float64Array;
  readonly uniform: Float64Array;
}

function drawBlock(): DrawBlock {
  return {
    x: new Float64Array(DRAW_BLOCK),
    row: new Int32Array(DRAW_BLOCK),
    stream: new Int32Array(DRAW_BLOCK),
    index: new Float64Array(DRAW_BLOCK),
    lane: new Float64Array(DRAW_BLOCK),
    uniform: new Float64Array(DRAW_BLOCK),
  };
}

export class BatchEncoder {
  readonly width: number;
  /** Offset of each model column's first position in the research layout. */
  readonly offsets: readonly number[];
  private readonly plans: (NumericPlan | CategoricalPlan)[];
  private readonly block = drawBlock();
  /** Values clipped into the fitted range, per column. */
  readonly clipped: number[];
  /**
   * Values whose |alpha| exceeds 0.99, per column: the research code clips these and
   * its inverse cannot recover them; here they round-trip.
   */
  readonly beyondResearchClip: number[];

  constructor(
    readonly model: TransformerModel,
    options: BatchEncoderOptions = {},
  ) {
    const cacheBits = options.selectionCacheBits === undefined ? DEFAULT_SELECTION_CACHE_BITS : options.selectionCacheBits;
    this.width = encodedWidth(model);
    this.offsets = columnOffsets(model);
    this.plans = model.columns.map((c) =>
      c.type === 'categorical'
        ? { kind: 'categorical', model: c, position: new Map(c.categories.map((cat, i) => [cat, i])) }
        : numericPlan(c, cacheBits),
    );
    this.clipped = model.columns.map(() => 0);
    this.beyondResearchClip = model.columns.map(() => 0);
  }

  /**
   * Encodes every row of `input`. A row is rejected by the first column (in model order)
   * that cannot encode it (an unseen category, text in a numeric column); the columns
   * before it have encoded it and counted its clips, as a row-at-a-time encoder does.
   */
  encode(input: EncoderInput): EncodedBatch {
    const n = input.length;
    if (input.columns.length !== this.plans.length) {
      throw new RangeError(`expected ${this.plans.length} columns, got ${input.columns.length}`);
    }
    const rejectedBy = new Int32Array(n).fill(-1);
    const errors = new Map<number, EncodeError>();
    const alpha: (Float64Array | null)[] = [];
    const position: Int32Array[] = [];
    for (let c = 0; c < this.plans.length; c++) {
      const plan = this.plans[c] as NumericPlan | CategoricalPlan;
      const values = input.columns[c] as ColumnValues;
      const positions = new Int32Array(n);
      position.push(positions);
      const reject = (row: number, message: string): void => {
        rejectedBy[row] = c;
        errors.set(row, new EncodeError(plan.model.name, message));
      };
      if (plan.kind === 'categorical') {
        alpha.push(null);
        this.encodeCategorical(plan, values, n, rejectedBy, positions, reject);
        continue;
      }
      const alphas = new Float64Array(n);
      alpha.push(alphas);
      if (!(values instanceof Float64Array)) {
        for (let i = 0; i < n; i++) if (rejectedBy[i] < 0) reject(i, `expected a number, got "${values[i] as string}"`);
        continue;
      }
      for (let from = 0; from < n; from += DRAW_BLOCK) {
        this.encodeNumericBlock(plan, c, values, input.rowIds, from, Math.min(n, from + DRAW_BLOCK), rejectedBy, alphas, positions);
      }
    }
    const rejections: EncodeRejection[] = [...errors]
      .sort(([a], [b]) => a - b)
      .map(([row, error]) => ({ row, error }));
    return { length: n, alpha, position, rejectedBy, rejections };
  }

  /**
   * Writes the research-layout vector of each encoded (not rejected) row, in row order,
   * into out from `at` on (width values per row); returns how many rows it wrote.
   */
  researchLayoutInto(encoded: EncodedBatch, out: Float64Array, at = 0): number {
    let written = 0;
    for (let i = 0; i < encoded.length; i++) {
      if (encoded.rejectedBy[i] >= 0) continue;
      const base = at + written * this.width;
      out.fill(0, base, base + this.width);
      for (let c = 0; c < this.plans.length; c++) {
        const start = base + (this.offsets[c] as number);
        const alphas = encoded.alpha[c];
        const slot = (encoded.position[c] as Int32Array)[i] as number;
        if (alphas === null || alphas === undefined) {
          out[start + slot] = 1;
        } else {
          out[start] = alphas[i] as number;
          out[start + 1 + slot] = 1;
        }
      }
      written++;
    }
    return written;
  }

  private encodeCategorical(
    plan: CategoricalPlan,
    values: ColumnValues,
    n: number,
    rejectedBy: Int32Array,
    positions: Int32Array,
    reject: (row: number, message: string) => void,
  ): void {
    for (let i = 0; i < n; i++) {
      if (rejectedBy[i] >= 0) continue;
      const text = String(values[i]);
      const position = plan.position.get(text);
      if (position === undefined) reject(i, `category "${text}" was not seen when the model was fitted`);
      else positions[i] = position;
    }
  }

  /** Rows [from, to) of a numeric column: modal values directly, the others by a mode draw. */
  private encodeNumericBlock(
    plan: NumericPlan,
    column: number,
    values: Float64Array,
    ids: RowIds,
    from: number,
    to: number,
    rejectedBy: Int32Array,
    alphas: Float64Array,
    positions: Int32Array,
  ): void {
    const { min, max } = plan.model;
    const b = this.block;
    let draws = 0;
    rows: for (let i = from; i < to; i++) {
      if (rejectedBy[i] >= 0) continue;
      let x = values[i] as number;
      for (let m = 0; m < plan.modalValue.length; m++) {
        if (x === plan.modalValue[m]) {
          alphas[i] = plan.modalAlpha[m] as number;
          positions[i] = plan.modalPosition[m] as number;
          continue rows;
        }
      }
      if (x < min || x > max) {
        x = x < min ? min : max;
        this.clipped[column]++;
      }
      b.x[draws] = x;
      b.row[draws] = i;
      b.stream[draws] = ids.partition[i] as number;
      b.index[draws] = ids.offset[i] as number;
      b.lane[draws] = modeLane(ids.rowInMessage[i] as number, column);
      draws++;
    }
    counterUniformsInto(this.model.options.seed, b.stream, b.index, b.lane, draws, b.uniform);
    const { kept, keptPosition, means, scales } = plan;
    const keptCount = kept.length;
    const cache = plan.cache;
    const table = cache === null ? null : cache.table;
    for (let d = 0; d < draws; d++) {
      const x = b.x[d] as number;
      const u = b.uniform[d] as number;
      let draw: number;
      let alpha: number;
      if (table === null || cache === null) {
        selectionCumulativeInto(plan, x, plan.running, 0);
        draw = drawFromRunningSums(plan.running, 0, keptCount, u);
        const component = kept[draw] as number;
        alpha = exactAlpha(x, means[component] as number, scales[component] as number);
      } else {
        const at = cache.recordOf(x);
        if (!cache.holds(at, x)) {
          cache.claim(at, x);
          selectionCumulativeInto(plan, x, table, at + 1);
        }
        draw = drawFromRunningSums(table, at + 1, keptCount, u);
        const alphaAt = at + 1 + keptCount + draw;
        alpha = table[alphaAt] as number;
        if (alpha !== alpha) {
          const component = kept[draw] as number;
          alpha = exactAlpha(x, means[component] as number, scales[component] as number);
          table[alphaAt] = alpha;
        }
      }
      if (abs(alpha) > RESEARCH_ALPHA_CLIP) this.beyondResearchClip[column]++;
      const row = b.row[d] as number;
      alphas[row] = alpha;
      positions[row] = keptPosition[draw] as number;
    }
  }
}

/**
 * The running sums of the kept modes' selection probabilities of `x` (selectionProbabilitiesInto
 * in ./mode-usage, with the posterior's exp taken for the kept components only: the same
 * operations on the same numbers for those, so the same bits), into out[at..at+kept).
 */
function selectionCumulativeInto(plan: NumericPlan, x: number, out: Float64Array, at: number): void {
  const { terms, kept, scratch, probabilities } = plan;
  const keptCount = kept.length;
  weightedLogProbInto(terms, x, scratch, 0);
  const norm = logSumExp(scratch, 0, terms.k);
  let total = 0;
  for (let i = 0; i < keptCount; i++) {
    const p = exp((scratch[kept[i] as number] as number) - norm) + SELECTION_FLOOR;
    probabilities[i] = p;
    total += p;
  }
  let sum = 0;
  for (let i = 0; i < keptCount; i++) {
    sum += (probabilities[i] as number) / total;
    out[at + i] = sum;
  }
}

/**
 * (x − μ) / s, nudged so that the decoder's α·s + μ gives back x itself where
 * doubles allow it: the plain quotient can be off by an ulp or two after decoding.
 */
export function exactAlpha(x: number, mean: number, scale: number): number {
  let alpha = (x - mean) / scale;
  let best = alpha;
  let bestError = abs(alpha * scale + mean - x);
  for (let step = 0; step < 4 && bestError > 0; step++) {
    alpha += (x - (alpha * scale + mean)) / scale;
    const error = abs(alpha * scale + mean - x);
    if (error < bestError) {
      best = alpha;
      bestError = error;
    }
  }
  return best;
}

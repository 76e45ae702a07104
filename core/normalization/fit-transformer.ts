/**
 * Fits CTAB-GAN's transformer as a state machine over rounds of partition partials,
 * so the embedded fit (a loop over in-memory partitions, below) and the distributed
 * fit (the reducer stage, over Kafka) run the very same steps:
 *
 *   (auto summaries) each numeric column's bin counts at every resolution, from which
 *                its resolution: exact, or the finest with at most the bound's bins
 *   then         column statistics at that resolution: moments, modal counts, category counts
 *   then         per numeric column, one or two mixtures (MixtureFitMachine), then
 *                argmax counts (kept modes), then expected usage (one-hot order)
 *
 * Each round's request is computed on every value shard (computeShardPartial) and the
 * partials are merged in shard order before the machine takes them. A column's resolution
 * is decided from the counts of all its rows, so it is the same for every partitioning.
 */
import { mergeAll } from '../combine';
import {
  computeMixturePartial,
  CTABGAN_DEFAULTS,
  EXACT_BITS,
  finestResolution,
  MixtureFitMachine,
  mergeMixturePartials,
  type FitInit,
  type MixturePartial,
  type MixtureRequest,
  type VbgmmFit,
  type VbgmmParams,
} from '../mixture';
import { MISSING_VALUE, type ColumnSpec } from './column-spec';
import { columnRows, columnStats, columnStatsCombine, type ColumnStats } from './column-stats';
import type { ColumnSummary } from './column-summary';
import {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  mixtureToJson,
  type ColumnModel,
  type ColumnSummaryInfo,
  type ModeSlot,
  type TransformerModel,
  type TransformerOptions,
} from './model';
import { argmaxCounts, byUsage, expectedUsage, keptComponents, modeCountsCombine } from './mode-usage';
import { SummaryData, type PointSet } from './summary-data';
import {
  checkSummaryOptions,
  DEFAULT_SUMMARY_OPTIONS,
  EXACT_RESOLUTION,
  EXACT_SUMMARY_OPTIONS,
  type Resolution,
  type SummaryOptions,
} from './summary-options';
import { mergeSummaries, ownEntry, shardSummaries } from './value-shard';

export const DEFAULT_TRANSFORMER_OPTIONS: TransformerOptions = {
  mixture: CTABGAN_DEFAULTS,
  eps: 0.005,
  // The research code seeds both the mixture (random_state=42) and the sampling with 42.
  seed: 42,
  summary: DEFAULT_SUMMARY_OPTIONS,
};

/** The summary options of a fit: options written before binning existed meant exact summaries. */
export function summaryOptionsOf(options: TransformerOptions): SummaryOptions {
  return options.summary ?? EXACT_SUMMARY_OPTIONS;
}

export class FitError extends Error {}

/** Initial means per column name (the `--init-means` file). */
export type InitialMeans = Readonly<Record<string, readonly number[]>>;

export type ModesRequest =
  | { readonly kind: 'argmax'; readonly params: VbgmmParams }
  | { readonly kind: 'usage'; readonly params: VbgmmParams; readonly kept: readonly number[] };

export interface UnitRequest {
  readonly column: number;
  readonly points: PointSet;
  /** How the column's points are made: exact, or bins. */
  readonly resolution: Resolution;
  readonly request: MixtureRequest | ModesRequest;
}

export type UnitPartial = MixturePartial | { readonly kind: 'counts'; readonly counts: Float64Array };

export type RoundRequest =
  /** Per column, the initial means that split its bins (none: empty). */
  | { readonly kind: 'resolution'; readonly centres: readonly (readonly number[])[] }
  | { readonly kind: 'summary'; readonly resolutions: readonly Resolution[] }
  | { readonly kind: 'units'; readonly units: Readonly<Record<string, UnitRequest>> };

export type ShardPartial =
  /** Per column, its bins at each resolution from MIN_BIN_BITS up to the shard's own (null: categorical). */
  | { readonly kind: 'resolution'; readonly columns: readonly (readonly number[] | null)[] }
  | { readonly kind: 'summary'; readonly columns: readonly ColumnStats[] }
  | { readonly kind: 'units'; readonly units: Readonly<Record<string, UnitPartial>> };

function computeUnitPartial(unit: UnitRequest, data: SummaryData): UnitPartial {
  const points = data.points(unit.column, unit.points, unit.resolution);
  const r = unit.request;
  if (r.kind === 'argmax') return { kind: 'counts', counts: argmaxCounts(points, r.params) };
  if (r.kind === 'usage') return { kind: 'counts', counts: expectedUsage(points, r.params, r.kept) };
  return computeMixturePartial(r, points);
}

/** What one shard contributes to a round. Pure. */
export function computeShardPartial(request: RoundRequest, data: SummaryData): ShardPartial {
  if (request.kind === 'resolution') {
    return { kind: 'resolution', columns: data.summaries.map((s, c) => ('categories' in s ? null : data.binCounts(c, request.centres[c] ?? []))) };
  }
  if (request.kind === 'summary') {
    return { kind: 'summary', columns: data.summaries.map((_, c) => columnStats(data, c, request.resolutions[c] ?? EXACT_RESOLUTION)) };
  }
  const units: Record<string, UnitPartial> = {};
  for (const [id, unit] of Object.entries(request.units)) units[id] = computeUnitPartial(unit, data);
  return { kind: 'units', units };
}

function mergeUnitPartials(parts: readonly UnitPartial[], k: number): UnitPartial {
  if (parts.every((p) => p.kind === 'counts')) {
    const counts = parts.map((p) => (p as { counts: Float64Array }).counts);
    return { kind: 'counts', counts: mergeAll(modeCountsCombine, counts, counts.length === 0 ? k : counts[0].length) };
  }
  return mergeMixturePartials(parts as MixturePartial[], k);
}

/** The fit of one numeric column: its mixture(s), then its kept modes and their order. */
class NumericColumnFit {
  private readonly main: MixtureFitMachine;
  /** Mixed columns: the mixture over all values, which places the modal values' alphas. */
  private readonly modal: MixtureFitMachine | null;
  private modes:
    | { readonly phase: 'argmax' }
    | { readonly phase: 'usage'; readonly counts: Float64Array; readonly kept: number[] }
    | { readonly phase: 'ordered'; readonly counts: Float64Array; readonly kept: number[]; readonly usage: Float64Array }
    | null = null;

  constructor(
    readonly column: number,
    readonly spec: ColumnSpec & { type: 'continuous' | 'mixed' },
    readonly stats: ColumnStats & { kind: 'numeric' },
    readonly options: TransformerOptions,
    init: FitInit,
    /** How the column's points are made: exact, or bins. */
    readonly resolution: Resolution,
  ) {
    const what = spec.type === 'mixed' ? `column ${spec.name} (non-modal values)` : `column ${spec.name}`;
    this.main = guard(what, () => new MixtureFitMachine(options.mixture, init, spec.type === 'mixed' ? stats.nonModal : stats.all));
    this.modal =
      spec.type === 'mixed'
        ? guard(`column ${spec.name}`, () => new MixtureFitMachine(options.mixture, { kind: 'kmeans', seed: options.seed }, stats.all))
        : null;
  }

  /** Both mixtures fitted and the modes ordered. */
  get done(): boolean {
    return this.modes?.phase === 'ordered' && (this.modal === null || this.modal.done);
  }

  requests(): Record<string, UnitRequest> {
    const out: Record<string, UnitRequest> = {};
    const name = this.spec.name;
    const mainPoints: PointSet = this.spec.type === 'mixed' ? 'nonModal' : 'all';
    const resolution = this.resolution;
    const mainRequest = this.main.next();
    if (mainRequest !== null) out[name] = { column: this.column, points: mainPoints, resolution, request: mainRequest };
    const modalRequest = this.modal?.next() ?? null;
    if (modalRequest !== null) out[`${name}#all`] = { column: this.column, points: 'all', resolution, request: modalRequest };
    const modes = this.modes;
    if (modes !== null && modes.phase !== 'ordered') {
      const params = this.main.result().params;
      out[`${name}#modes`] = {
        column: this.column,
        points: mainPoints,
        resolution,
        request: modes.phase === 'argmax' ? { kind: 'argmax', params } : { kind: 'usage', params, kept: modes.kept },
      };
    }
    return out;
  }

  accept(merged: Readonly<Record<string, UnitPartial>>): void {
    const name = this.spec.name;
    const modes = merged[`${name}#modes`];
    if (modes !== undefined) {
      if (modes.kind !== 'counts' || this.modes === null || this.modes.phase === 'ordered') {
        throw new RangeError(`unexpected modes partial for ${name}`);
      }
      if (this.modes.phase === 'argmax') {
        const kept = keptComponents(this.main.result().weights, modes.counts, this.options.eps);
        if (kept.length === 0) throw new FitError(`column ${name}: no component is kept (all weights below eps ${this.options.eps})`);
        this.modes = { phase: 'usage', counts: modes.counts, kept };
      } else {
        this.modes = { phase: 'ordered', counts: this.modes.counts, kept: this.modes.kept, usage: modes.counts };
      }
    }
    const main = merged[name];
    if (main !== undefined) {
      if (main.kind === 'counts') throw new RangeError(`unexpected counts for ${name}`);
      this.main.accept(main);
      if (this.main.done) this.modes = { phase: 'argmax' };
    }
    const modal = merged[`${name}#all`];
    if (modal !== undefined) {
      if (modal.kind === 'counts' || this.modal === null) throw new RangeError(`unexpected partial for ${name}#all`);
      this.modal.accept(modal);
    }
  }

  progress(): string {
    const p = this.main.progress();
    const where = this.modes === null ? p.phase : this.modes.phase === 'ordered' ? 'waiting for the all-values mixture' : `modes (${this.modes.phase})`;
    return `${this.spec.name}: ${where}${p.phase === 'estep' ? ` iteration ${p.iteration} lower bound ${p.lowerBound.toFixed(3)}` : ''}`;
  }

  /** The main mixture's iteration and lower bound, as numbers (progress() says it in words). */
  iterationState(): { readonly column: string; readonly iteration: number; readonly lowerBound: number } {
    const p = this.main.progress();
    return { column: this.spec.name, iteration: p.iteration, lowerBound: p.lowerBound };
  }

  result(): ColumnModel {
    if (!this.done || this.modes?.phase !== 'ordered') throw new Error(`column ${this.spec.name} is not fitted yet`);
    return this.model(this.modes.counts, this.modes.kept, this.modes.usage);
  }

  private model(argmax: Float64Array, kept: number[], usage: Float64Array): ColumnModel {
    const fit = this.main.result();
    const componentSlots: ModeSlot[] = kept.map((component, i) => ({ kind: 'component', component, usage: usage[i] }));
    const common = {
      name: this.spec.name,
      count: fit.data.count,
      min: fit.data.min,
      max: fit.data.max,
      mixture: mixtureToJson(fit.params, fit),
      argmaxCounts: Array.from(argmax),
    };
    // Last, so that a model file's keys come in the order the model reader gives them.
    const summary = this.summaryInfo(fit, kept);
    if (this.spec.type === 'continuous' || this.modal === null) {
      return { ...common, type: 'continuous', modes: byUsage(componentSlots), summary };
    }
    const allValues = this.modal.result();
    const modalValues = [...this.spec.modalValues];
    const modalSlots: ModeSlot[] = modalValues.map((value, i) => ({ kind: 'modal', value, usage: this.stats.modalCounts[i] }));
    return {
      ...common,
      type: 'mixed',
      modalValues,
      modalCounts: [...this.stats.modalCounts],
      modalAlphas: modalValues.map((v) => modalAlpha(v, allValues)),
      modalMixture: mixtureToJson(allValues.params, allValues),
      // Modal slots come first so that they win usage ties, as in the research layout.
      modes: byUsage([...modalSlots, ...componentSlots]),
      summary,
    };
  }

  private summaryInfo(fit: VbgmmFit, kept: readonly number[]): ColumnSummaryInfo {
    const bits = this.resolution.bits;
    if (bits === EXACT_BITS) return { kind: 'exact', points: this.stats.points };
    const withinBinVariance = this.stats.binSpread / this.stats.nonModal.count;
    const smallest = Math.min(...kept.map((k) => fit.params.covariances[k]));
    return { kind: 'binned', bits, points: this.stats.points, withinBinVariance, errorScale: withinBinVariance / smallest };
  }
}

function guard<T>(what: string, make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (err instanceof RangeError) throw new FitError(`${what}: ${err.message}`);
    throw err;
  }
}

/** The research code's alpha for a modal value: against the nearest mean of the all-values mixture. */
function modalAlpha(value: number, allValues: VbgmmFit): number {
  if (value === MISSING_VALUE) return 0;
  const means = allValues.params.means;
  let nearest = 0;
  for (let k = 1; k < means.length; k++) if (Math.abs(value - means[k]) < Math.abs(value - means[nearest])) nearest = k;
  const alpha = (value - means[nearest]) / (4 * Math.sqrt(allValues.params.covariances[nearest]));
  return Math.min(0.99, Math.max(-0.99, alpha));
}

function categoricalModel(spec: ColumnSpec, stats: ColumnStats & { kind: 'categorical' }): ColumnModel {
  const entries = [...stats.counts].sort((a, b) => (b[1] !== a[1] ? b[1] - a[1] : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  if (entries.length === 0) throw new FitError(`column ${spec.name}: no values to fit`);
  return { name: spec.name, type: 'categorical', categories: entries.map(([c]) => c), counts: entries.map(([, n]) => n) };
}

export class TransformerFitMachine {
  /** Per column, how its points are made (exact for categorical columns); null until known. */
  private resolutions: Resolution[] | null;
  /** Per column, the initial means that split its bins (empty: k-means, or categorical). */
  private readonly centres: (readonly number[])[];
  private stats: ColumnStats[] | null = null;
  private numeric: NumericColumnFit[] = [];
  private round = 0;
  readonly summary: SummaryOptions;

  constructor(
    readonly specs: readonly ColumnSpec[],
    readonly options: TransformerOptions = DEFAULT_TRANSFORMER_OPTIONS,
    readonly initialMeans: InitialMeans = {},
  ) {
    this.summary = summaryOptionsOf(options);
    guard('summary options', () => checkSummaryOptions(this.summary));
    this.centres = specs.map((s) => (s.type === 'categorical' ? [] : (ownEntry(initialMeans, s.name) ?? [])));
    // Auto summaries: the first round decides each column's resolution. Else it is fixed.
    const binBits = this.summary.mode === 'binned' ? this.summary.binBits : null;
    this.resolutions =
      this.summary.mode === 'auto' && specs.some((s) => s.type !== 'categorical')
        ? null
        : specs.map((s, c) => (s.type === 'categorical' || binBits === null ? EXACT_RESOLUTION : { bits: binBits, centres: this.centres[c] }));
    for (const name of Object.keys(initialMeans)) {
      const spec = specs.find((s) => s.name === name);
      if (spec === undefined) throw new FitError(`initial means given for unknown column "${name}"`);
      if (spec.type === 'categorical') throw new FitError(`initial means given for categorical column "${name}"`);
    }
  }

  /** Rounds taken so far. */
  get rounds(): number {
    return this.round;
  }

  /** The next round's request, or null when the model is ready. */
  next(): RoundRequest | null {
    if (this.resolutions === null) return { kind: 'resolution', centres: this.centres };
    if (this.stats === null) return { kind: 'summary', resolutions: this.resolutions };
    const units: Record<string, UnitRequest> = {};
    for (const column of this.numeric) Object.assign(units, column.requests());
    return Object.keys(units).length === 0 ? null : { kind: 'units', units };
  }

  /** Takes the partials of every shard, in shard order, answering `next()`. */
  accept(partials: readonly ShardPartial[]): void {
    const request = this.next();
    if (request === null) throw new Error('the fit is done');
    this.round++;
    if (request.kind === 'resolution') {
      this.acceptResolution(partials);
      return;
    }
    if (request.kind === 'summary') {
      this.acceptSummary(partials);
      return;
    }
    const merged: Record<string, UnitPartial> = {};
    for (const id of Object.keys(request.units)) {
      const parts = partials.map((p) => {
        const part = p.kind === 'units' ? p.units[id] : undefined;
        if (part === undefined) throw new RangeError(`a shard's partial lacks unit ${id}`);
        return part;
      });
      merged[id] = mergeUnitPartials(parts, this.options.mixture.nComponents);
    }
    for (const column of this.numeric) column.accept(merged);
  }

  progress(): string[] {
    return this.numeric.filter((c) => !c.done).map((c) => c.progress());
  }

  /** Per unfinished numeric column: its iteration and lower bound (for metrics). */
  columnStates(): Array<{ readonly column: string; readonly iteration: number; readonly lowerBound: number }> {
    return this.numeric.filter((c) => !c.done).map((c) => c.iterationState());
  }

  result(): TransformerModel {
    if (this.stats === null || this.next() !== null) throw new Error('the fit is not done');
    const stats = this.stats;
    const numericByColumn = new Map(this.numeric.map((c) => [c.column, c]));
    const columns = this.specs.map((spec, i) => {
      const s = stats[i];
      if (s.kind === 'categorical') return categoricalModel(spec, s);
      const fit = numericByColumn.get(i);
      if (fit === undefined) throw new Error(`column ${spec.name} was not fitted`);
      return fit.result();
    });
    return {
      format: MODEL_FORMAT,
      formatVersion: MODEL_FORMAT_VERSION,
      options: this.options,
      rows: stats.length === 0 ? 0 : columnRows(stats[0]),
      columns,
    };
  }

  /** Bin counts of all the rows at each resolution → each column's resolution. */
  private acceptResolution(partials: readonly ShardPartial[]): void {
    this.resolutions = this.specs.map((spec, c): Resolution => {
      if (spec.type === 'categorical') return EXACT_RESOLUTION;
      let total: number[] | null = null;
      for (const p of partials) {
        const counts = p.kind === 'resolution' ? p.columns[c] : undefined;
        if (counts === undefined || counts === null) throw new RangeError(`a shard's resolution partial lacks column ${spec.name}`);
        // A shard holding coarser bins knows no finer counts; the column's resolution is not
        // finer than any shard's (a shard has no more bins than the column), so none is lost.
        total = total === null ? [...counts] : total.slice(0, Math.min(total.length, counts.length)).map((n, i) => n + counts[i]);
      }
      const bits = total === null ? EXACT_BITS : finestResolution(total, this.summary.maxBins);
      return bits === EXACT_BITS ? EXACT_RESOLUTION : { bits, centres: this.centres[c] };
    });
  }

  private acceptSummary(partials: readonly ShardPartial[]): void {
    const stats = this.specs.map((spec, i) =>
      mergeAll(
        columnStatsCombine,
        partials.map((p) => {
          if (p.kind !== 'summary') throw new RangeError('expected summary partials');
          return p.columns[i];
        }),
        spec,
      ),
    );
    this.stats = stats;
    if (stats.length > 0 && columnRows(stats[0]) === 0) throw new FitError('no rows to fit');
    this.numeric = [];
    this.specs.forEach((spec, i) => {
      const s = stats[i];
      if (spec.type === 'categorical' || s.kind !== 'numeric') return;
      const means = this.initialMeans[spec.name];
      const init: FitInit = means === undefined ? { kind: 'kmeans', seed: this.options.seed } : { kind: 'means', means };
      this.numeric.push(new NumericColumnFit(i, spec, s, this.options, init, this.resolutions?.[i] ?? EXACT_RESOLUTION));
    });
  }
}

/**
 * Drives the machine in this thread over the summaries of any split of the rows (partitions,
 * files, nothing at all): they are merged and re-split by value shard, so every split of the
 * same rows gives the same model.
 */
export function fitTransformerPartitions(
  partitions: readonly (readonly ColumnSummary[])[],
  specs: readonly ColumnSpec[],
  options: TransformerOptions = DEFAULT_TRANSFORMER_OPTIONS,
  initialMeans: InitialMeans = {},
): TransformerModel {
  const machine = new TransformerFitMachine(specs, options, initialMeans);
  const data = shardSummaries(mergeSummaries(partitions, specs, machine.summary, initialMeans)).map((shard) => new SummaryData(shard));
  for (let request = machine.next(); request !== null; request = machine.next()) {
    const req = request;
    machine.accept(data.map((d) => computeShardPartial(req, d)));
  }
  return machine.result();
}

/** The fit of the summaries of all the rows. */
export function fitTransformer(
  summaries: readonly ColumnSummary[],
  options: TransformerOptions = DEFAULT_TRANSFORMER_OPTIONS,
  initialMeans: InitialMeans = {},
): TransformerModel {
  return fitTransformerPartitions([summaries], summaries.map((s) => s.spec), options, initialMeans);
}

/**
 * Reads a model file defensively: a missing, truncated or hand-edited model gets an
 * error naming what is wrong, never a crash deep inside the encoder.
 */
import { EXACT_BITS, MIN_BIN_BITS, type VbgmmOptions } from '../mixture';
import { checkSummaryOptions, SUMMARY_MODES, type SummaryOptions } from './summary-options';
import {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  type ColumnModel,
  type ColumnSummaryInfo,
  type MixtureJson,
  type ModeSlot,
  type TransformerModel,
} from './model';

export class ModelError extends Error {}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Reader {
  constructor(private readonly where: string) {}

  fail(message: string): never {
    throw new ModelError(`${this.where}: ${message}`);
  }

  object(v: Json | undefined, path: string): JsonObject {
    if (!isObject(v)) this.fail(`${path} must be an object`);
    return v;
  }

  number(v: Json | undefined, path: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${path} must be a finite number`);
    return v;
  }

  numberOrNull(v: Json | undefined, path: string): number | null {
    return v === null ? null : this.number(v, path);
  }

  string(v: Json | undefined, path: string): string {
    if (typeof v !== 'string') this.fail(`${path} must be a string`);
    return v;
  }

  boolean(v: Json | undefined, path: string): boolean {
    if (typeof v !== 'boolean') this.fail(`${path} must be true or false`);
    return v;
  }

  numbers(v: Json | undefined, path: string, length?: number): number[] {
    if (!Array.isArray(v)) this.fail(`${path} must be an array of numbers`);
    if (length !== undefined && v.length !== length) this.fail(`${path} must have ${length} entries, has ${v.length}`);
    return v.map((x, i) => this.number(x, `${path}[${i}]`));
  }

  strings(v: Json | undefined, path: string): string[] {
    if (!Array.isArray(v)) this.fail(`${path} must be an array of strings`);
    return v.map((x, i) => this.string(x, `${path}[${i}]`));
  }
}

function readMixture(r: Reader, v: Json | undefined, path: string): MixtureJson {
  const o = r.object(v, path);
  const means = r.numbers(o.means, `${path}.means`);
  const k = means.length;
  if (k === 0) r.fail(`${path}.means is empty`);
  const variances = r.numbers(o.variances, `${path}.variances`, k);
  if (variances.some((x) => !(x > 0))) r.fail(`${path}.variances must be positive`);
  const post = r.object(o.posterior, `${path}.posterior`);
  const priorType = r.string(post.priorType, `${path}.posterior.priorType`);
  if (priorType !== 'dirichlet_process' && priorType !== 'dirichlet_distribution') {
    r.fail(`${path}.posterior.priorType must be dirichlet_process or dirichlet_distribution`);
  }
  const priors = r.object(o.priors, `${path}.priors`);
  return {
    weights: r.numbers(o.weights, `${path}.weights`, k),
    means,
    variances,
    lowerBound: r.numberOrNull(o.lowerBound, `${path}.lowerBound`),
    nIter: r.number(o.nIter, `${path}.nIter`),
    converged: r.boolean(o.converged, `${path}.converged`),
    posterior: {
      priorType,
      weightConcentrationA: r.numbers(post.weightConcentrationA, `${path}.posterior.weightConcentrationA`, k),
      weightConcentrationB: r.numbers(
        post.weightConcentrationB,
        `${path}.posterior.weightConcentrationB`,
        priorType === 'dirichlet_process' ? k : 0,
      ),
      meanPrecision: r.numbers(post.meanPrecision, `${path}.posterior.meanPrecision`, k),
      degreesOfFreedom: r.numbers(post.degreesOfFreedom, `${path}.posterior.degreesOfFreedom`, k),
      precisionsCholesky: r.numbers(post.precisionsCholesky, `${path}.posterior.precisionsCholesky`, k),
    },
    priors: {
      weightConcentrationPrior: r.number(priors.weightConcentrationPrior, `${path}.priors.weightConcentrationPrior`),
      meanPrecisionPrior: r.number(priors.meanPrecisionPrior, `${path}.priors.meanPrecisionPrior`),
      meanPrior: r.number(priors.meanPrior, `${path}.priors.meanPrior`),
      degreesOfFreedomPrior: r.number(priors.degreesOfFreedomPrior, `${path}.priors.degreesOfFreedomPrior`),
      covariancePrior: r.number(priors.covariancePrior, `${path}.priors.covariancePrior`),
    },
    initialMeans: r.numbers(o.initialMeans, `${path}.initialMeans`, k),
  };
}

function readModes(r: Reader, v: Json | undefined, path: string, k: number, modalValues: number[]): ModeSlot[] {
  if (!Array.isArray(v) || v.length === 0) r.fail(`${path} must be a non-empty array`);
  const seen = new Set<string>();
  return v.map((entry, i) => {
    const o = r.object(entry, `${path}[${i}]`);
    const usage = r.number(o.usage, `${path}[${i}].usage`);
    let slot: ModeSlot;
    if (o.kind === 'component') {
      const component = r.number(o.component, `${path}[${i}].component`);
      if (!Number.isInteger(component) || component < 0 || component >= k) r.fail(`${path}[${i}].component out of range`);
      slot = { kind: 'component', component, usage };
    } else if (o.kind === 'modal') {
      const value = r.number(o.value, `${path}[${i}].value`);
      if (!modalValues.includes(value)) r.fail(`${path}[${i}].value is not one of the modal values`);
      slot = { kind: 'modal', value, usage };
    } else {
      r.fail(`${path}[${i}].kind must be "component" or "modal"`);
    }
    const key = `${slot.kind}:${slot.kind === 'component' ? slot.component : slot.value}`;
    if (seen.has(key)) r.fail(`${path} lists ${key} twice`);
    seen.add(key);
    return slot;
  });
}

/** A column's summary record; absent in models written before binning (then it was exact). */
function readSummaryInfo(r: Reader, v: Json | undefined, path: string): { summary?: ColumnSummaryInfo } {
  if (v === undefined) return {};
  const o = r.object(v, path);
  const points = r.number(o.points, `${path}.points`);
  if (o.kind === 'exact') return { summary: { kind: 'exact', points } };
  if (o.kind !== 'binned') r.fail(`${path}.kind must be "exact" or "binned"`);
  const bits = r.number(o.bits, `${path}.bits`);
  if (!Number.isInteger(bits) || bits < MIN_BIN_BITS || bits >= EXACT_BITS) r.fail(`${path}.bits must be a whole number from ${MIN_BIN_BITS} to ${EXACT_BITS - 1}`);
  return {
    summary: {
      kind: 'binned',
      bits,
      points,
      withinBinVariance: r.number(o.withinBinVariance, `${path}.withinBinVariance`),
      errorScale: r.number(o.errorScale, `${path}.errorScale`),
    },
  };
}

function readSummaryOptions(r: Reader, v: Json | undefined): { summary?: SummaryOptions } {
  if (v === undefined) return {};
  const o = r.object(v, 'options.summary');
  const mode = r.string(o.mode, 'options.summary.mode');
  if (!(SUMMARY_MODES as readonly string[]).includes(mode)) r.fail('options.summary.mode must be auto, exact or binned');
  const summary = { mode: mode as SummaryOptions['mode'], maxBins: r.number(o.maxBins, 'options.summary.maxBins'), binBits: r.number(o.binBits, 'options.summary.binBits') };
  try {
    checkSummaryOptions(summary);
  } catch (err) {
    r.fail(`options.summary: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { summary };
}

function readColumn(r: Reader, v: Json | undefined, path: string): ColumnModel {
  const o = r.object(v, path);
  const name = r.string(o.name, `${path}.name`);
  const type = r.string(o.type, `${path}.type`);
  if (type === 'categorical') {
    const categories = r.strings(o.categories, `${path}.categories`);
    if (categories.length === 0) r.fail(`${path}.categories is empty`);
    return { name, type, categories, counts: r.numbers(o.counts, `${path}.counts`, categories.length) };
  }
  if (type !== 'continuous' && type !== 'mixed') r.fail(`${path}.type must be continuous, mixed or categorical`);
  const mixture = readMixture(r, o.mixture, `${path}.mixture`);
  const k = mixture.means.length;
  const common = {
    name,
    count: r.number(o.count, `${path}.count`),
    min: r.number(o.min, `${path}.min`),
    max: r.number(o.max, `${path}.max`),
    mixture,
    argmaxCounts: r.numbers(o.argmaxCounts, `${path}.argmaxCounts`, k),
  };
  if (type === 'continuous') return { ...common, type, modes: readModes(r, o.modes, `${path}.modes`, k, []), ...readSummaryInfo(r, o.summary, `${path}.summary`) };
  const modalValues = r.numbers(o.modalValues, `${path}.modalValues`);
  return {
    ...common,
    type,
    modalValues,
    modalCounts: r.numbers(o.modalCounts, `${path}.modalCounts`, modalValues.length),
    modalAlphas: r.numbers(o.modalAlphas, `${path}.modalAlphas`, modalValues.length),
    modalMixture: readMixture(r, o.modalMixture, `${path}.modalMixture`),
    modes: readModes(r, o.modes, `${path}.modes`, k, modalValues),
    ...readSummaryInfo(r, o.summary, `${path}.summary`),
  };
}

function readMixtureOptions(r: Reader, o: JsonObject): VbgmmOptions {
  const priorType = r.string(o.weightConcentrationPriorType, 'options.mixture.weightConcentrationPriorType');
  if (priorType !== 'dirichlet_process' && priorType !== 'dirichlet_distribution') {
    r.fail('options.mixture.weightConcentrationPriorType must be dirichlet_process or dirichlet_distribution');
  }
  const optional = (key: keyof VbgmmOptions) => r.numberOrNull(o[key] ?? null, `options.mixture.${key}`);
  return {
    nComponents: r.number(o.nComponents, 'options.mixture.nComponents'),
    weightConcentrationPriorType: priorType,
    weightConcentrationPrior: optional('weightConcentrationPrior'),
    meanPrecisionPrior: optional('meanPrecisionPrior'),
    meanPrior: optional('meanPrior'),
    degreesOfFreedomPrior: optional('degreesOfFreedomPrior'),
    covariancePrior: optional('covariancePrior'),
    maxIter: r.number(o.maxIter, 'options.mixture.maxIter'),
    nInit: r.number(o.nInit, 'options.mixture.nInit'),
    tol: r.number(o.tol, 'options.mixture.tol'),
    regCovar: r.number(o.regCovar, 'options.mixture.regCovar'),
  };
}

/** Parses and checks a model file's text; `where` names it in errors. */
export function parseModel(text: string, where: string): TransformerModel {
  const r: Reader = new Reader(where);
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch (err) {
    return r.fail(`not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const o = r.object(json, 'the model');
  if (o.format !== MODEL_FORMAT) r.fail(`not a vgmflow model (format is ${JSON.stringify(o.format ?? null)})`);
  if (o.formatVersion !== MODEL_FORMAT_VERSION) {
    r.fail(`model format version ${JSON.stringify(o.formatVersion ?? null)} is not supported (expected ${MODEL_FORMAT_VERSION})`);
  }
  const options = r.object(o.options, 'options');
  const mixture = r.object(options.mixture, 'options.mixture');
  const columns = o.columns;
  if (!Array.isArray(columns) || columns.length === 0) r.fail('columns must be a non-empty array');
  const seed = r.number(options.seed, 'options.seed');
  if (!Number.isSafeInteger(seed) || seed < 0) r.fail('options.seed must be a non-negative integer');
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    options: {
      mixture: readMixtureOptions(r, mixture),
      eps: r.number(options.eps, 'options.eps'),
      seed,
      ...readSummaryOptions(r, options.summary),
    },
    rows: r.number(o.rows, 'rows'),
    columns: columns.map((c, i) => readColumn(r, c, `columns[${i}]`)),
  };
}

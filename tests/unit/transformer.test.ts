/**
 * CTAB-GAN's transformer (core/normalization): fit from column summaries, encode with
 * RowEncoder, decode with RowDecoder, and the model JSON. The fits start from the
 * golden fixtures' k-means centres, so they are scikit-learn's fits (see
 * mixture-sklearn.test.ts); what is checked here is what the transformer builds on them.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { parseRow } from '../../core/csv/row-parser';
import { logProbTerms, mostLikelyComponent } from '../../core/mixture';
import { CounterRandom } from '../../core/random/philox';
import {
  ColumnSummaryBuilder,
  DEFAULT_TRANSFORMER_OPTIONS,
  DecodeError,
  EncodeError,
  ModelError,
  RESEARCH_ALPHA_CLIP,
  RowDecoder,
  RowEncoder,
  columnOffsets,
  encodedColumnNames,
  encodedWidth,
  messageRowId,
  fitTransformer,
  mixtureParams,
  parseColumnSpecs,
  parseModel,
  selectionProbabilitiesInto,
  serializeModel,
  type CellValue,
  type ColumnSpec,
  type MixedColumnModel,
  type ModeSlot,
  type NumericColumnModel,
  type TransformerModel,
} from '../../core/normalization';
import { fixtureOptions, loadSklearnFixtures, type SklearnFixture } from '../support/sklearn-fixtures';

const RTOL = 1e-9;
const relativeError = (y: number, x: number) => Math.abs(y - x) / Math.max(1, Math.abs(x));

/** What `fn` throws, or undefined. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Models over the golden fixtures (one column "x"; mixed_nonmodal as a mixed column).

const FIXTURES = loadSklearnFixtures();
const FIXTURE_NAMES = FIXTURES.map((f) => f.name);

function fixture(name: string): SklearnFixture {
  const f = FIXTURES.find((g) => g.name === name);
  if (f === undefined) throw new Error(`no fixture ${name}`);
  return f;
}

/** The column the fixture stands for: its data, or for mixed_nonmodal the whole mixed column. */
function fixtureColumn(f: SklearnFixture): { spec: ColumnSpec; values: number[] } {
  if (f.full_column !== null && f.modal_values !== null) {
    return { spec: { name: 'x', type: 'mixed', modalValues: f.modal_values }, values: f.full_column };
  }
  return { spec: { name: 'x', type: 'continuous' }, values: f.data };
}

const fixtureModels = new Map<string, TransformerModel>();

function fixtureModel(name: string): TransformerModel {
  const cached = fixtureModels.get(name);
  if (cached !== undefined) return cached;
  const f = fixture(name);
  const { spec, values } = fixtureColumn(f);
  const builder = new ColumnSummaryBuilder(spec);
  for (const v of values) builder.add(v);
  const model = fitTransformer(
    [builder.build()],
    { mixture: fixtureOptions(f), eps: 0.005, seed: 42 },
    { x: f.init_means },
  );
  fixtureModels.set(name, model);
  return model;
}

function numericColumn(model: TransformerModel, c = 0): NumericColumnModel {
  const column = model.columns[c];
  if (column.type === 'categorical') throw new Error(`column ${c} is categorical`);
  return column;
}

function componentOf(slot: ModeSlot): number {
  if (slot.kind !== 'component') throw new Error('not a component slot');
  return slot.component;
}

interface RoundTrip {
  readonly rows: number;
  /** Rows whose decoded value is off by more than RTOL·max(1,|x|). */
  readonly failures: { row: number; x: number; y: number }[];
  /** Non-modal rows whose |alpha| > 0.99: the research code clips and loses them. */
  readonly beyondClip: number[];
  /** Of those, the rows that the research decoding (alpha clipped to ±0.99) gets wrong. */
  readonly lostByResearch: number;
  readonly encoderBeyond: number;
  readonly encoderClipped: number;
  readonly decoderClipped: number;
  /** Rows holding the column's minimum or maximum. */
  readonly edgeRows: number;
  /** How often each one-hot position was chosen. */
  readonly chosen: number[];
}

const roundTrips = new Map<string, RoundTrip>();

function roundTrip(name: string): RoundTrip {
  const cached = roundTrips.get(name);
  if (cached !== undefined) return cached;
  const model = fixtureModel(name);
  const column = numericColumn(model);
  const { values } = fixtureColumn(fixture(name));
  const encoder = new RowEncoder(model);
  const decoder = new RowDecoder(model);
  const failures: { row: number; x: number; y: number }[] = [];
  const beyondClip: number[] = [];
  const chosen = column.modes.map(() => 0);
  let lostByResearch = 0;
  values.forEach((x, row) => {
    const { vector, numeric } = encoder.encode([x], messageRowId(row));
    const y = decoder.decode(vector)[0];
    if (typeof y !== 'number' || !(relativeError(y, x) <= RTOL)) failures.push({ row, x, y: Number(y) });
    const encoded = numeric[0];
    if (encoded === null) throw new Error('numeric column encoded as categorical');
    chosen[encoded.mode]++;
    const slot = column.modes[encoded.mode];
    if (slot.kind === 'component' && Math.abs(encoded.alpha) > RESEARCH_ALPHA_CLIP) {
      beyondClip.push(row);
      const k = slot.component;
      const clipped = Math.min(0.99, Math.max(-0.99, encoded.alpha));
      const research = clipped * 4 * Math.sqrt(column.mixture.variances[k]) + column.mixture.means[k];
      if (relativeError(research, x) > RTOL) lostByResearch++;
    }
  });
  const result: RoundTrip = {
    rows: values.length,
    failures,
    beyondClip,
    lostByResearch,
    encoderBeyond: encoder.beyondResearchClip[0],
    encoderClipped: encoder.clipped[0],
    decoderClipped: decoder.clipped[0],
    edgeRows: values.filter((x) => x === column.min || x === column.max).length,
    chosen,
  };
  roundTrips.set(name, result);
  return result;
}

describe('round trip of every fixture row', () => {
  test.each(FIXTURE_NAMES)('%s: every row decodes to itself within 1e-9·max(1,|x|)', (name) => {
    const r = roundTrip(name);
    expect(r.rows).toBe(fixtureColumn(fixture(name)).values.length);
    expect(r.failures.slice(0, 5)).toEqual([]);
    // The training values are inside the fitted range: the encoder clips nothing. The
    // decoder may land an ulp outside the range for the extreme values (a far mode's
    // α·s + μ cannot always hit them exactly) and clips them back; nothing else.
    expect(r.encoderClipped).toBe(0);
    expect(r.decoderClipped).toBeLessThanOrEqual(r.edgeRows);
    // The rows beyond the research clip are among the rows that round-trip (all do), the
    // encoder counts exactly them, and the research decoding would get each of them wrong.
    expect(r.encoderBeyond).toBe(r.beyondClip.length);
    expect(r.lostByResearch).toBe(r.beyondClip.length);
  });

  test('some fixture has rows beyond |alpha| = 0.99 (bimodal_outliers does) and they round-trip', () => {
    const r = roundTrip('bimodal_outliers');
    expect(r.beyondClip.length).toBeGreaterThan(0);
    const { values } = fixtureColumn(fixture('bimodal_outliers'));
    // The outliers at ±1e6 are far in the tails of their modes; they are among them.
    const outlierRows = values.flatMap((x, i) => (Math.abs(x) >= 5e5 ? [i] : []));
    expect(outlierRows.length).toBeGreaterThan(0);
    for (const row of outlierRows) expect(r.beyondClip).toContain(row);
    expect(r.failures).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// A multi-column model over a slice of the sample data.

const SAMPLE = join(__dirname, '..', '..', 'assets', 'card-transactions.csv');
const SAMPLE_SPECS = parseColumnSpecs('Amount:continuous,Tip:mixed(0),Network:categorical,Merchant:categorical');

function sampleRows(n: number): CellValue[][] {
  const lines = readFileSync(SAMPLE, 'utf8').split('\n', n + 1);
  const header = lines[0].split(',');
  const index = SAMPLE_SPECS.map((s) => header.indexOf(s.name));
  return lines.slice(1, n + 1).map((line, i) => {
    const parsed = parseRow(SAMPLE_SPECS, index, line.split(','), header.length);
    if (!parsed.ok) throw new Error(`sample row ${i}: ${parsed.reason}`);
    return parsed.cells;
  });
}

const SAMPLE_ROWS = sampleRows(2000);
let sampleModelCache: TransformerModel | undefined;

function sampleModel(): TransformerModel {
  if (sampleModelCache !== undefined) return sampleModelCache;
  const builders = SAMPLE_SPECS.map((s) => new ColumnSummaryBuilder(s));
  for (const row of SAMPLE_ROWS) row.forEach((cell, c) => builders[c].add(cell));
  sampleModelCache = fitTransformer(builders.map((b) => b.build()));
  return sampleModelCache;
}

/** Research definition of the kept components: weight > eps and some row's arg-max. */
function researchKept(column: NumericColumnModel, eps: number): number[] {
  return column.mixture.weights.flatMap((w, k) => (w > eps && column.argmaxCounts[k] > 0 ? [k] : []));
}

describe('layout', () => {
  test('widths, offsets and names follow the research layout, in input order', () => {
    const model = sampleModel();
    expect(model.columns.map((c) => [c.name, c.type])).toEqual([
      ['Amount', 'continuous'],
      ['Tip', 'mixed'],
      ['Network', 'categorical'],
      ['Merchant', 'categorical'],
    ]);
    const expectedNames: string[] = [];
    const expectedOffsets: number[] = [];
    for (const column of model.columns) {
      expectedOffsets.push(expectedNames.length);
      if (column.type === 'categorical') {
        const distinct = new Set(SAMPLE_ROWS.map((r) => r[model.columns.indexOf(column)]));
        expect(column.categories.length).toBe(distinct.size);
        for (const category of column.categories) expectedNames.push(`${column.name}=${category}`);
        continue;
      }
      // Research width: 1 (alpha) + kept modes (+ modal values for a mixed column).
      const kept = researchKept(column, model.options.eps);
      const modal = column.type === 'mixed' ? column.modalValues : [];
      expect(column.modes.length).toBe(kept.length + modal.length);
      expect(
        column.modes
          .filter((m) => m.kind === 'component')
          .map(componentOf)
          .sort((a, b) => a - b),
      ).toEqual(kept);
      expect(column.modes.filter((m) => m.kind === 'modal').map((m) => (m.kind === 'modal' ? m.value : NaN))).toEqual(
        expect.arrayContaining(modal),
      );
      expectedNames.push(`${column.name}.alpha`);
      for (const slot of column.modes) {
        expectedNames.push(slot.kind === 'modal' ? `${column.name}.modal(${slot.value})` : `${column.name}.mode${slot.component}`);
      }
    }
    expect(encodedColumnNames(model)).toEqual(expectedNames);
    expect(encodedWidth(model)).toBe(expectedNames.length);
    expect(columnOffsets(model)).toEqual(expectedOffsets);
    expect(new RowEncoder(model).width).toBe(expectedNames.length);
    expect(new RowDecoder(model).width).toBe(expectedNames.length);
  });

  test('each one-hot has exactly one 1; categories and modal values get their own slot', () => {
    const model = sampleModel();
    const encoder = new RowEncoder(model);
    const decoder = new RowDecoder(model);
    const offsets = columnOffsets(model);
    const tip = model.columns[1] as MixedColumnModel;
    expect(tip.type).toBe('mixed');
    const modalPosition = tip.modes.findIndex((m) => m.kind === 'modal' && m.value === 0);
    expect(modalPosition).toBeGreaterThanOrEqual(0);
    // The research alpha of a modal value: against the nearest mean of the all-values mixture.
    const means = tip.modalMixture.means;
    let nearest = 0;
    for (let k = 1; k < means.length; k++) if (Math.abs(means[k]) < Math.abs(means[nearest])) nearest = k;
    const researchModalAlpha = Math.min(0.99, Math.max(-0.99, (0 - means[nearest]) / (4 * Math.sqrt(tip.modalMixture.variances[nearest]))));
    expect(tip.modalAlphas[0]).toBe(researchModalAlpha);
    let modalRows = 0;
    // Problems are collected and asserted once: an expect per cell would dominate the runtime.
    const problems: string[] = [];
    SAMPLE_ROWS.forEach((cells, row) => {
      const { vector } = encoder.encode(cells, messageRowId(row));
      model.columns.forEach((column, c) => {
        const from = offsets[c] + (column.type === 'categorical' ? 0 : 1);
        const width = column.type === 'categorical' ? column.categories.length : column.modes.length;
        const hot = Array.from(vector.subarray(from, from + width));
        const ones = hot.filter((v) => v === 1).length;
        const zeros = hot.filter((v) => v === 0).length;
        if (ones !== 1 || zeros !== width - 1) problems.push(`row ${row}, ${column.name}: one-hot ${hot.join(' ')}`);
        const at = hot.indexOf(1);
        if (column.type === 'categorical' && column.categories[at] !== cells[c]) {
          problems.push(`row ${row}, ${column.name}: slot ${at} for "${String(cells[c])}"`);
        }
        if (column.type === 'mixed') {
          if (cells[c] === 0) {
            modalRows++;
            if (at !== modalPosition || vector[offsets[c]] !== tip.modalAlphas[0]) {
              problems.push(`row ${row}, ${column.name}: modal value at slot ${at}, alpha ${vector[offsets[c]]}`);
            }
          } else if (column.modes[at]?.kind !== 'component') {
            problems.push(`row ${row}, ${column.name}: value ${String(cells[c])} in slot ${at}`);
          }
        }
      });
      decoder.decode(vector).forEach((y, c) => {
        const x = cells[c];
        const ok = typeof x === 'number' ? relativeError(Number(y), x) <= RTOL : y === x;
        if (!ok) problems.push(`row ${row}, column ${c}: ${String(x)} decoded as ${String(y)}`);
      });
    });
    expect(problems.slice(0, 10)).toEqual([]);
    expect(modalRows).toBeGreaterThan(0);
    expect(modalRows).toBe(tip.modalCounts[0]);
  });
});

// ---------------------------------------------------------------------------------------

describe('kept modes', () => {
  test.each(FIXTURE_NAMES)('%s: kept = weight > eps and arg-max of some row; ordered by usage', (name) => {
    const f = fixture(name);
    const model = fixtureModel(name);
    const column = numericColumn(model);
    const eps = model.options.eps;
    // argmaxCounts are scikit-learn's predict counts over the (non-modal) training data.
    const predictCounts = column.mixture.weights.map(() => 0);
    for (const label of f.expected.predict) predictCounts[label]++;
    expect(column.argmaxCounts).toEqual(predictCounts);

    const components = column.modes.filter((m) => m.kind === 'component').map(componentOf);
    expect(components.length).toBeGreaterThan(0);
    for (const k of components) {
      expect(column.mixture.weights[k]).toBeGreaterThan(eps);
      expect(column.argmaxCounts[k]).toBeGreaterThan(0);
    }
    expect([...components].sort((a, b) => a - b)).toEqual(researchKept(column, eps));

    // One-hot order: by usage, most used first.
    const usage = column.modes.map((m) => m.usage);
    for (let i = 1; i < usage.length; i++) expect(usage[i]).toBeLessThanOrEqual(usage[i - 1]);
    // Usage is the expected number of rows per slot: it sums to the rows, and the modes
    // actually drawn when every training row is encoded are close to it.
    const total = usage.reduce((a, b) => a + b, 0);
    expect(relativeError(total, fixtureColumn(f).values.length)).toBeLessThan(1e-9);
    const { chosen } = roundTrip(name);
    chosen.forEach((n, i) => expect(Math.abs(n - usage[i])).toBeLessThanOrEqual(5 * Math.sqrt(usage[i]) + 2));
    if (column.type === 'mixed') {
      column.modalValues.forEach((v, i) => {
        const slot = column.modes.find((m) => m.kind === 'modal' && m.value === v);
        expect(slot?.usage).toBe(column.modalCounts[i]);
      });
    }
  });

  test('the sample columns keep components the same way', () => {
    const model = sampleModel();
    for (const column of model.columns) {
      if (column.type === 'categorical') continue;
      const terms = logProbTerms(mixtureParams(column.mixture));
      const scratch = new Float64Array(terms.k);
      const counts = column.mixture.weights.map(() => 0);
      const c = model.columns.indexOf(column);
      for (const row of SAMPLE_ROWS) {
        const x = row[c] as number;
        if (column.type === 'mixed' && column.modalValues.includes(x)) continue;
        counts[mostLikelyComponent(terms, x, scratch)]++;
      }
      expect(column.argmaxCounts).toEqual(counts);
      const kept = column.modes.filter((m) => m.kind === 'component').map(componentOf);
      expect([...kept].sort((a, b) => a - b)).toEqual(researchKept(column, model.options.eps));
      const usage = column.modes.map((m) => m.usage);
      for (let i = 1; i < usage.length; i++) expect(usage[i]).toBeLessThanOrEqual(usage[i - 1]);
    }
  });
});

// ---------------------------------------------------------------------------------------

function vectorsEqual(a: Float64Array, b: Float64Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function shuffled(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const random = new CounterRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

describe('determinism (modes keyed by seed, row id and column)', () => {
  const N = SAMPLE_ROWS.length;

  function encodeAll(model: TransformerModel, order: readonly number[], encoder = new RowEncoder(model)): Float64Array[] {
    const out: Float64Array[] = new Array<Float64Array>(SAMPLE_ROWS.length);
    for (const row of order) out[row] = encoder.encode(SAMPLE_ROWS[row], messageRowId(row)).vector;
    return out;
  }

  test('one by one, shuffled, batched, or with two encoders: the same vector per row id', () => {
    const model = sampleModel();
    const inOrder = Array.from({ length: N }, (_, i) => i);
    const reference = encodeAll(model, inOrder);
    const shuffledOrder = shuffled(N, 7);
    expect(shuffledOrder).not.toEqual(inOrder);
    const fromShuffled = encodeAll(model, shuffledOrder);
    // Two separate encoders, interleaved: no state carries over between rows.
    const a = new RowEncoder(model);
    const b = new RowEncoder(model);
    const interleaved = inOrder.map((row) => (row % 2 === 0 ? a : b).encode(SAMPLE_ROWS[row], messageRowId(row)).vector);
    // One batch buffer, written back to front.
    const encoder = new RowEncoder(model);
    const batch = new Float64Array(N * encoder.width);
    for (let row = N - 1; row >= 0; row--) encoder.encodeInto(SAMPLE_ROWS[row], messageRowId(row), batch, row * encoder.width);
    const differing = inOrder.filter(
      (row) =>
        !vectorsEqual(fromShuffled[row], reference[row]) ||
        !vectorsEqual(interleaved[row], reference[row]) ||
        !vectorsEqual(batch.subarray(row * encoder.width, (row + 1) * encoder.width), reference[row]),
    );
    expect(differing).toEqual([]);
  });

  test('a different seed changes some modes (and still decodes exactly)', () => {
    const model = sampleModel();
    const other: TransformerModel = { ...model, options: { ...model.options, seed: model.options.seed + 1 } };
    const order = Array.from({ length: N }, (_, i) => i);
    const a = encodeAll(model, order);
    const b = encodeAll(other, order);
    const differing = order.filter((row) => !vectorsEqual(a[row], b[row]));
    expect(differing.length).toBeGreaterThan(0);
    // Only modes (and so alphas) change; the values decode the same.
    const decoder = new RowDecoder(other);
    const wrong = differing.filter((row) =>
      decoder.decode(b[row]).some((y, c) => {
        const x = SAMPLE_ROWS[row][c];
        return typeof x === 'number' ? !(relativeError(Number(y), x) <= RTOL) : y !== x;
      }),
    );
    expect(wrong).toEqual([]);
  });

  test('the same value at different row ids is not always given the same mode', () => {
    const model = fixtureModel('card_amounts');
    const encoder = new RowEncoder(model);
    const x = 60;
    const modes = new Set<number>();
    for (let row = 0; row < 200; row++) {
      const encoded = encoder.encode([x], messageRowId(row)).numeric[0];
      if (encoded !== null) modes.add(encoded.mode);
    }
    expect(modes.size).toBeGreaterThan(1);
  });
});

// ---------------------------------------------------------------------------------------

describe('sampling follows the selection probabilities', () => {
  test('over many row ids, each kept mode is drawn as often as its probability says', () => {
    const model = fixtureModel('card_amounts');
    const column = numericColumn(model);
    const kept = column.modes.filter((m) => m.kind === 'component').map(componentOf).sort((a, b) => a - b);
    const terms = logProbTerms(mixtureParams(column.mixture));
    const scratch = new Float64Array(terms.k);
    const p = new Float64Array(kept.length);
    // The value in the fitted range where the draw is most uncertain (largest 2nd probability).
    let x = column.min;
    let bestSecond = -1;
    for (let i = 0; i <= 500; i++) {
      const candidate = column.min + ((column.max - column.min) * i) / 500;
      selectionProbabilitiesInto(terms, kept, candidate, scratch, p);
      const second = [...p].sort((a, b) => b - a)[1];
      if (second > bestSecond) {
        bestSecond = second;
        x = candidate;
      }
    }
    selectionProbabilitiesInto(terms, kept, x, scratch, p);
    expect(p.filter((q) => q >= 0.2).length).toBeGreaterThanOrEqual(2);

    const N = 10000;
    const encoder = new RowEncoder(model);
    const counts = new Map<number, number>();
    for (let row = 0; row < N; row++) {
      const encoded = encoder.encode([x], messageRowId(row)).numeric[0];
      if (encoded === null) throw new Error('numeric column encoded as categorical');
      const component = componentOf(column.modes[encoded.mode]);
      counts.set(component, (counts.get(component) ?? 0) + 1);
    }
    let chiSquare = 0;
    kept.forEach((component, i) => {
      const expected = N * p[i];
      const observed = counts.get(component) ?? 0;
      const sd = Math.sqrt(N * p[i] * (1 - p[i]));
      expect(Math.abs(observed - expected)).toBeLessThanOrEqual(4 * sd + 1);
      if (expected > 5) chiSquare += (observed - expected) ** 2 / expected;
    });
    // No draw outside the kept modes.
    expect([...counts.keys()].every((k) => kept.includes(k))).toBe(true);
    // Chi-square with at most 9 degrees of freedom: 30 is far in its tail.
    expect(chiSquare).toBeLessThan(30);
  });
});

// ---------------------------------------------------------------------------------------

describe('model JSON', () => {
  type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

  function modelJson(): { [key: string]: Json } {
    return JSON.parse(serializeModel(sampleModel())) as { [key: string]: Json };
  }

  function at(o: Json, ...path: (string | number)[]): Json {
    let v: Json = o;
    for (const key of path) {
      if (typeof key === 'number' && Array.isArray(v)) v = v[key];
      else if (typeof key === 'string' && v !== null && typeof v === 'object' && !Array.isArray(v)) v = v[key];
      else throw new Error(`no ${String(key)} in the JSON`);
    }
    return v;
  }

  function objectAt(o: Json, ...path: (string | number)[]): { [key: string]: Json } {
    const v = at(o, ...path);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v;
  }

  function arrayAt(o: Json, ...path: (string | number)[]): Json[] {
    const v = at(o, ...path);
    if (!Array.isArray(v)) throw new Error('not an array');
    return v;
  }

  test('serializeModel → parseModel gives a model that encodes bit for bit the same', () => {
    const model = sampleModel();
    const text = serializeModel(model);
    const loaded = parseModel(text, 'model.json');
    expect(loaded).toEqual(model);
    expect(JSON.parse(serializeModel(loaded))).toEqual(JSON.parse(text));
    const a = new RowEncoder(model);
    const b = new RowEncoder(loaded);
    const differing = SAMPLE_ROWS.flatMap((cells, row) =>
      vectorsEqual(a.encode(cells, messageRowId(row)).vector, b.encode(cells, messageRowId(row)).vector) ? [] : [row],
    );
    expect(differing).toEqual([]);
    // The fixture models too (bit-exact numbers: shortest round-trip JSON).
    for (const name of ['bimodal_outliers', 'mixed_nonmodal']) {
      const m = fixtureModel(name);
      expect(parseModel(serializeModel(m), `${name}.json`)).toEqual(m);
    }
  });

  const corruptions: [string, (text: string) => string, RegExp][] = [
    [
      'wrong format',
      () => JSON.stringify({ ...modelJson(), format: 'something-else' }),
      /^m\.json: not a vgmflow model \(format is "something-else"\)/,
    ],
    ['wrong formatVersion', () => JSON.stringify({ ...modelJson(), formatVersion: 2 }), /^m\.json: model format version 2 is not supported/],
    [
      'a missing mixture field',
      () => {
        const json = modelJson();
        delete objectAt(json, 'columns', 1, 'mixture').variances;
        return JSON.stringify(json);
      },
      /^m\.json: columns\[1\]\.mixture\.variances must be an array of numbers$/,
    ],
    [
      'a wrong-length array',
      () => {
        const json = modelJson();
        arrayAt(json, 'columns', 0, 'mixture', 'weights').pop();
        return JSON.stringify(json);
      },
      /^m\.json: columns\[0\]\.mixture\.weights must have 10 entries, has 9$/,
    ],
    [
      'a non-finite number',
      () => {
        const json = modelJson();
        arrayAt(json, 'columns', 0, 'mixture', 'means')[2] = '@INF@';
        return JSON.stringify(json).replace('"@INF@"', '1e999');
      },
      /^m\.json: columns\[0\]\.mixture\.means\[2\] must be a finite number$/,
    ],
    ['truncated JSON', () => serializeModel(sampleModel()).slice(0, 1000), /^m\.json: not valid JSON/],
    ['not an object', () => '[1, 2, 3]', /^m\.json: the model must be an object$/],
    [
      'a categorical column without categories',
      () => {
        const json = modelJson();
        delete objectAt(json, 'columns', 2).categories;
        return JSON.stringify(json);
      },
      /^m\.json: columns\[2\]\.categories must be an array of strings$/,
    ],
  ];

  test.each(corruptions)('parseModel rejects %s with a ModelError naming where', (_what, corrupt, message) => {
    const text = corrupt(serializeModel(sampleModel()));
    const error = thrown(() => parseModel(text, 'm.json'));
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).message).toMatch(message);
  });
});

// ---------------------------------------------------------------------------------------

describe('categorical columns', () => {
  test('order: by frequency, most frequent first; ties by code-unit order', () => {
    const builder = new ColumnSummaryBuilder({ name: 'cat', type: 'categorical' });
    // Inserted in no particular order. Ties: "B" < "a" < "b" (code units, not locale);
    // "😀" (U+D83D…) < "Ａ" (U+FF21) in code units, though not in code points.
    const counts: [string, number][] = [
      ['b', 3],
      ['é', 1],
      ['Ａ', 2],
      ['a', 3],
      ['Z', 1],
      ['c', 5],
      ['😀', 2],
      ['B', 3],
    ];
    let rows = 0;
    // Interleave the values so that first appearance says nothing about the order.
    for (let round = 0; round < 5; round++) {
      for (const [value, n] of counts) {
        if (round < n) {
          builder.add(value);
          rows++;
        }
      }
    }
    const model = fitTransformer([builder.build()], DEFAULT_TRANSFORMER_OPTIONS);
    expect(model.rows).toBe(rows);
    const column = model.columns[0];
    if (column.type !== 'categorical') throw new Error('expected a categorical column');
    expect(column.categories).toEqual(['c', 'B', 'a', 'b', '😀', 'Ａ', 'Z', 'é']);
    expect(column.counts).toEqual([5, 3, 3, 3, 2, 2, 1, 1]);
    expect(encodedColumnNames(model)).toEqual(column.categories.map((c) => `cat=${c}`));
  });

  test('an unseen category at encode time is an EncodeError naming the column', () => {
    const model = sampleModel();
    const encoder = new RowEncoder(model);
    const error = thrown(() => encoder.encode([12.5, 0, 'paypal', '5411'], messageRowId(0)));
    expect(error).toBeInstanceOf(EncodeError);
    expect((error as EncodeError).column).toBe('Network');
    expect((error as EncodeError).message).toContain('"paypal"');
    // The next column too, once the first is fine.
    const merchant = thrown(() => encoder.encode([12.5, 0, 'visa', '9999'], messageRowId(0)));
    expect(merchant).toBeInstanceOf(EncodeError);
    expect((merchant as EncodeError).column).toBe('Merchant');
  });
});

// ---------------------------------------------------------------------------------------

describe('decoder', () => {
  test('values outside the fitted range are clipped to it and counted', () => {
    const model = fixtureModel('bimodal_outliers');
    const column = numericColumn(model);
    const decoder = new RowDecoder(model);
    const vector = new Float64Array(decoder.width);
    vector[1] = 1; // the first mode
    const k = componentOf(column.modes[0]);
    const mean = column.mixture.means[k];

    vector[0] = 0;
    expect(decoder.decode(vector)).toEqual([mean]);
    expect(decoder.clipped).toEqual([0]);

    vector[0] = 1e9;
    expect(decoder.decode(vector)).toEqual([column.max]);
    expect(decoder.clipped).toEqual([1]);

    vector[0] = -1e9;
    expect(decoder.decode(vector)).toEqual([column.min]);
    expect(decoder.clipped).toEqual([2]);
  });

  test('the encoder clips values outside the fitted range too, and counts them', () => {
    const model = fixtureModel('bimodal_outliers');
    const column = numericColumn(model);
    const encoder = new RowEncoder(model);
    const decoder = new RowDecoder(model);
    expect(decoder.decode(encoder.encode([column.max * 3], messageRowId(0)).vector)[0]).toBeCloseTo(column.max, 6);
    expect(decoder.decode(encoder.encode([column.min * 3], messageRowId(1)).vector)[0]).toBeCloseTo(column.min, 6);
    expect(encoder.clipped).toEqual([2]);
  });

  test('an arg-max tie picks the first slot', () => {
    const model = sampleModel();
    const decoder = new RowDecoder(model);
    const offsets = columnOffsets(model);
    const amount = numericColumn(model, 0);
    expect(amount.modes.length).toBeGreaterThanOrEqual(3);
    const network = model.columns[2];
    if (network.type !== 'categorical') throw new Error('Network should be categorical');
    const tip = numericColumn(model, 1);
    const decodeAmount = (slots: number[]) => {
      const v = new Float64Array(decoder.width);
      // Tip and the categories: something valid.
      v[offsets[1] + 1] = 1;
      v[offsets[2]] = 1;
      v[offsets[3]] = 1;
      slots.forEach((s, i) => (v[offsets[0] + 1 + i] = s));
      return decoder.decode(v)[0];
    };
    const meanOf = (slot: number) => amount.mixture.means[componentOf(amount.modes[slot])];
    // All zero: a tie over every slot, so the first.
    expect(decodeAmount([])).toBe(meanOf(0));
    // A tie between slots 1 and 2 above slot 0: slot 1.
    expect(decodeAmount([0.2, 0.7, 0.7])).toBe(meanOf(1));
    expect(decodeAmount([0.2, 0.3, 0.7])).toBe(meanOf(2));

    const decodeNetwork = (slots: number[]) => {
      const v = new Float64Array(decoder.width);
      v[offsets[0] + 1] = 1;
      v[offsets[1] + 1] = 1;
      v[offsets[3]] = 1;
      slots.forEach((s, i) => (v[offsets[2] + i] = s));
      return decoder.decode(v)[2];
    };
    expect(decodeNetwork(network.categories.map(() => 0.3))).toBe(network.categories[0]);
    expect(decodeNetwork([0.1, 0.6, 0.6])).toBe(network.categories[1]);
    // A modal slot decodes to its value whatever the alpha.
    const modal = tip.modes.findIndex((m) => m.kind === 'modal');
    const v = new Float64Array(decoder.width);
    v[offsets[0] + 1] = 1;
    v[offsets[1]] = 0.37;
    v[offsets[1] + 1 + modal] = 1;
    v[offsets[2]] = 1;
    v[offsets[3]] = 1;
    expect(decoder.decode(v)[1]).toBe(0);
  });

  test('a vector of the wrong width or with a non-finite value is a DecodeError', () => {
    const model = sampleModel();
    const decoder = new RowDecoder(model);
    expect(() => decoder.decode(new Float64Array(decoder.width - 1))).toThrow(DecodeError);
    const v = new Float64Array(decoder.width);
    v[3] = NaN;
    expect(() => decoder.decode(v)).toThrow(DecodeError);
  });
});

/**
 * The report artefacts of the demo: the mixture plot (SVG) and the encoded rows as an
 * Arrow IPC file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Float64, Int64, tableFromIPC, type Table } from 'apache-arrow';
import { fitFile } from '../../pipeline/jobs/fit-file';
import { transformFile } from '../../pipeline/jobs/transform-file';
import {
  encodedCsvToArrow,
  ENCODED_METADATA_KEY,
  EncodedArrowError,
  readEncodedCsv,
  writeEncodedArrow,
} from '../../pipeline/report/arrow-file';
import {
  axisJacobian,
  columnHistogram,
  densityGrid,
  formatNumber,
  fromAxis,
  mixtureDensity,
  mixturePlotSvg,
  toAxis,
  type AxisScale,
} from '../../pipeline/report/mixture-plot';
import { parseColumnSpecs, type ColumnSpec } from '../../core/normalization/column-spec';
import { ColumnSummaryBuilder } from '../../core/normalization/column-summary';
import { DEFAULT_TRANSFORMER_OPTIONS, fitTransformer } from '../../core/normalization/fit-transformer';
import { encodedColumnNames } from '../../core/normalization/layout';
import type { NumericColumnModel, TransformerModel } from '../../core/normalization/model';
import { fixtureOptions, loadSklearnFixtures, type SklearnFixture } from '../support/sklearn-fixtures';

const FIXTURES = loadSklearnFixtures();

function fixture(name: string): SklearnFixture {
  const f = FIXTURES.find((g) => g.name === name);
  if (f === undefined) throw new Error(`no fixture ${name}`);
  return f;
}

interface Fitted {
  readonly column: NumericColumnModel;
  /** All the column's values, modal ones included. */
  readonly values: number[];
}

const fitted = new Map<string, Fitted>();

/** A model fitted on a golden fixture, as the transformer tests fit them. */
function fitFixture(name: string): Fitted {
  const cached = fitted.get(name);
  if (cached !== undefined) return cached;
  const f = fixture(name);
  const mixed = f.full_column !== null && f.modal_values !== null;
  const spec: ColumnSpec = mixed ? { name, type: 'mixed', modalValues: f.modal_values ?? [] } : { name, type: 'continuous' };
  const values = mixed ? (f.full_column ?? []) : f.data;
  const builder = new ColumnSummaryBuilder(spec);
  for (const v of values) builder.add(v);
  const model = fitTransformer([builder.build()], { mixture: fixtureOptions(f), eps: 0.005, seed: 42 }, { [name]: f.init_means });
  const column = model.columns[0];
  if (column.type === 'categorical') throw new Error('expected a numeric column');
  const result = { column, values };
  fitted.set(name, result);
  return result;
}

function keptCount(column: NumericColumnModel): number {
  return column.modes.filter((m) => m.kind === 'component').length;
}

/**
 * A tiny XML check: every tag closes in order, attributes are quoted, no stray '<' or
 * '&' in text. Returns the element names in document order.
 */
function checkXml(svg: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g;
  let at = 0;
  for (let m = tag.exec(svg); m !== null; m = tag.exec(svg)) {
    const text = svg.slice(at, m.index);
    expect(text).not.toMatch(/[<>]/);
    expect(text).not.toMatch(/&(?!(amp|lt|gt|quot|#\d+);)/);
    at = m.index + m[0].length;
    const [, closing, name, , selfClosing] = m;
    if (closing) {
      expect(stack.pop()).toBe(name);
    } else {
      names.push(name);
      if (!selfClosing) stack.push(name);
    }
  }
  expect(svg.slice(at).trim()).toBe('');
  expect(stack).toEqual([]);
  return names;
}

function count(haystack: string, needle: string | RegExp): number {
  return typeof needle === 'string' ? haystack.split(needle).length - 1 : (haystack.match(needle) ?? []).length;
}

/** Trapezoid rule over sorted points. */
function integrate(xs: readonly number[], f: (x: number) => number): number {
  let total = 0;
  let prevX = xs[0];
  let prevF = f(prevX);
  for (let i = 1; i < xs.length; i++) {
    const fx = f(xs[i]);
    total += ((fx + prevF) / 2) * (xs[i] - prevX);
    prevX = xs[i];
    prevF = fx;
  }
  return total;
}

describe('mixture plot', () => {
  test.each(['card_amounts', 'mixed_nonmodal', 'bimodal_outliers', 'tiny', 'constant'])('%s: a well-formed standalone SVG', (name) => {
    const { column, values } = fitFixture(name);
    const svg = mixturePlotSvg(column, columnHistogram(column, values));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const elements = checkXml(svg);
    expect(elements[0]).toBe('svg');
    expect(count(svg, '<svg')).toBe(1);
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    // One density path, one marker per kept mode, the title naming the column, its modes and bound.
    expect(count(svg, /<path class="density" d="M[^"]+"/g)).toBe(1);
    expect(count(svg, 'class="mode-marker"')).toBe(keptCount(column));
    const bound = column.mixture.lowerBound === null ? 'n/a' : column.mixture.lowerBound.toFixed(3);
    const title = `${name}: ${column.type}, ${keptCount(column)} kept modes, lower bound ${bound}`;
    expect(svg).toContain(`<title>${title}</title>`);
    expect(svg).toContain(`font-weight="bold" fill="#222222">${title}</text>`);
    // The markers are labelled with their one-hot positions.
    column.modes.forEach((slot, position) => {
      if (slot.kind === 'component') expect(svg).toContain(`>#${position} k${slot.component}</text>`);
    });
  });

  test('a mixed column shows each modal value as a labelled spike, outside the histogram', () => {
    const { column, values } = fitFixture('mixed_nonmodal');
    if (column.type !== 'mixed') throw new Error('expected a mixed column');
    const histogram = columnHistogram(column, values);
    const binned = histogram.counts.reduce((a, b) => a + b, 0) + (histogram.below ?? 0) + (histogram.above ?? 0);
    expect(binned).toBe(column.count);
    const svg = mixturePlotSvg(column, histogram);
    expect(count(svg, 'class="modal-spike"')).toBe(column.modalValues.length);
    const share = ((100 * column.modalCounts[0]) / (column.count + column.modalCounts[0])).toFixed(1);
    expect(svg).toContain(`modal ${formatNumber(column.modalValues[0])}: ${share}% of rows (${column.modalCounts[0]}), one-hot #0`);
  });

  test('heavy tails get a log axis and say so; moderate data keeps a linear one', () => {
    const heavy = fitFixture('card_amounts');
    const h = columnHistogram(heavy.column, heavy.values);
    expect(h.scale).toEqual({ kind: 'symlog', c: 1 });
    const svg = mixturePlotSvg(heavy.column, h);
    expect(svg).toMatch(/heavy tail \(max\/median \|x\| = [\d.]+\): x axis log10\(1\+\|x\|\)/);
    // Decade ticks on the log axis.
    for (const label of ['10', '100', '1000', '10k']) expect(svg).toContain(`text-anchor="middle">${label}</text>`);

    const moderate = fitFixture('mixed_nonmodal');
    const m = columnHistogram(moderate.column, moderate.values);
    expect(m.scale).toEqual({ kind: 'linear' });
    expect(mixturePlotSvg(moderate.column, m)).toContain('linear x axis');
  });

  test('a histogram without a scale decides one itself; quantile clipping notes the overflow', () => {
    const { column, values } = fitFixture('bimodal_outliers');
    const linear: AxisScale = { kind: 'linear' };
    const clipped = columnHistogram(column, values, { scale: linear, clip: [0.005, 0.995], bins: 60 });
    expect(clipped.counts).toHaveLength(60);
    expect(clipped.edges).toHaveLength(61);
    expect((clipped.below ?? 0) + (clipped.above ?? 0)).toBeGreaterThan(0);
    expect(clipped.counts.reduce((a, b) => a + b, 0) + (clipped.below ?? 0) + (clipped.above ?? 0)).toBe(values.length);
    const svg = mixturePlotSvg(column, clipped);
    expect(svg).toContain(`outside the plotted range: ${clipped.below} below`);
    checkXml(svg);
    // Plain {edges, counts}: the plot chooses the axis from the bins.
    const bare = mixturePlotSvg(column, { edges: clipped.edges, counts: clipped.counts }, { width: 600, height: 300 });
    expect(bare).toContain('width="600" height="300"');
    checkXml(bare);
  });

  test('bars are a density along the axis: they integrate to the share of values binned', () => {
    const { column, values } = fitFixture('card_amounts');
    for (const scale of [{ kind: 'linear' } as const, { kind: 'symlog', c: 1 } as const]) {
      const h = columnHistogram(column, values, { scale, clip: 'none' });
      // Bin edges are uniform along the axis.
      const widths = h.edges.slice(1).map((e, i) => toAxis(scale, e) - toAxis(scale, h.edges[i]));
      for (const w of widths) expect(w).toBeCloseTo(widths[0], 9);
      expect(h.counts.reduce((a, b) => a + b, 0)).toBe(values.length);
    }
  });

  test.each(['card_amounts', 'bimodal_outliers', 'mixed_nonmodal', 'dirichlet_distribution', 'constant'])(
    '%s: the mixture density integrates to 1 over a wide range',
    (name) => {
      const { column } = fitFixture(name);
      const sd = Math.max(...column.mixture.variances.map(Math.sqrt));
      const lo = Math.min(...column.mixture.means) - 12 * sd;
      const hi = Math.max(...column.mixture.means) + 12 * sd;
      const f = mixtureDensity(column);
      const xs = densityGrid(column, { kind: 'linear' }, lo, hi, 20000);
      expect(integrate(xs, f)).toBeCloseTo(1, 4);
      // Along a log axis the plotted curve f(x)·dx/du integrates to 1 in u as well.
      const scale: AxisScale = { kind: 'symlog', c: 1 };
      const us = densityGrid(column, scale, lo, hi, 20000).map((x) => toAxis(scale, x));
      expect(integrate(us, (u) => f(fromAxis(scale, u)) * axisJacobian(scale, fromAxis(scale, u)))).toBeCloseTo(1, 3);
    },
  );

  test('the axis maps invert each other', () => {
    for (const scale of [{ kind: 'linear' } as const, { kind: 'symlog', c: 1 } as const, { kind: 'symlog', c: 0.01 } as const]) {
      for (const x of [-1e6, -3.5, -0.001, 0, 0.25, 17, 4.5e6]) expect(fromAxis(scale, toAxis(scale, x))).toBeCloseTo(x, 6);
    }
  });

  test('number labels are short', () => {
    expect([0, 1000, 1610, 12500, 4.5e6, 0.0005, 0.25, -100000, 2.5].map(formatNumber)).toEqual([
      '0',
      '1000',
      '1610',
      '12.5k',
      '4.5M',
      '5.0e-4',
      '0.25',
      '-100k',
      '2.5',
    ]);
  });

  test('names are escaped', () => {
    const { column, values } = fitFixture('tiny');
    const odd = { ...column, name: 'a<b & "c"' };
    const svg = mixturePlotSvg(odd, columnHistogram(odd, values));
    expect(svg).toContain('a&lt;b &amp; &quot;c&quot;');
    checkXml(svg);
  });
});

// ---------------------------------------------------------------------------------------

const SAMPLE = join(__dirname, '..', '..', 'assets', 'card-transactions.csv');
const SAMPLE_COLUMNS = 'Amount:continuous,Tip:mixed(0),Network:categorical,Merchant:categorical';

function float64Bits(values: ArrayLike<number>): string {
  return Buffer.from(Float64Array.from(values).buffer).toString('hex');
}

function numbersOf(table: Table, name: string): Float64Array {
  const column = table.getChild(name);
  if (column === null) throw new Error(`no column ${name}`);
  return Float64Array.from(column.toArray() as Float64Array);
}

describe('encoded Arrow file', () => {
  let tmp: string;
  let model: TransformerModel;
  let csvPath: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'vgmflow-report-'));
    const input = join(tmp, 'small.csv');
    writeFileSync(input, readFileSync(SAMPLE, 'utf8').split('\n').slice(0, 401).join('\n') + '\n');
    const fit = await fitFile({ input, columns: parseColumnSpecs(SAMPLE_COLUMNS), options: DEFAULT_TRANSFORMER_OPTIONS });
    model = fit.model;
    csvPath = join(tmp, 'encoded.csv');
    const report = await transformFile({ input, model, output: csvPath });
    expect(report.rowsEncoded).toBe(400);
  });

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('the converted encoded CSV reads back with apache-arrow, bit-exact', async () => {
    const arrowPath = join(tmp, 'encoded.arrow');
    const report = await encodedCsvToArrow(csvPath, arrowPath, model);
    const names = encodedColumnNames(model);
    expect(report).toEqual({ rows: 400, columns: names.length, batches: 1 });

    const bytes = readFileSync(arrowPath);
    // The IPC file format: ARROW1 magic at both ends (not the stream format).
    expect(bytes.subarray(0, 6).toString('latin1')).toBe('ARROW1');
    expect(bytes.subarray(bytes.length - 6).toString('latin1')).toBe('ARROW1');

    const table = tableFromIPC(bytes);
    expect(table.numRows).toBe(400);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['row', ...names]);
    expect(String(table.schema.fields[0].type)).toBe(String(new Int64()));
    for (const f of table.schema.fields.slice(1)) {
      expect(String(f.type)).toBe(String(new Float64()));
      expect(f.nullable).toBe(false);
    }
    const rows = table.getChild('row')?.toArray() as BigInt64Array;
    expect(Array.from(rows)).toEqual(Array.from({ length: 400 }, (_, i) => BigInt(i)));
    const layout = JSON.parse(table.schema.metadata.get(ENCODED_METADATA_KEY) ?? 'null') as { columns: { name: string; first: number; width: number }[] };
    expect(layout.columns.map((c) => c.name)).toEqual(['Amount', 'Tip', 'Network', 'Merchant']);
    expect(layout.columns[layout.columns.length - 1].first + layout.columns[layout.columns.length - 1].width).toBe(names.length);

    // Same doubles as the CSV, bit for bit.
    const csvRows = readFileSync(csvPath, 'utf8').trimEnd().split('\n').slice(1).map((line) => line.split(',').map(Number));
    names.forEach((name, j) => {
      expect(float64Bits(numbersOf(table, name))).toBe(float64Bits(csvRows.map((r) => r[j])));
    });
  });

  test('rows written directly span several batches and keep every bit (−0, subnormals, extremes)', async () => {
    const width = encodedColumnNames(model).length;
    const special = [-0, 5e-324, -Number.MAX_VALUE, 0.1 + 0.2, 1 / 3, Number.MIN_VALUE * 3, 2 ** 53 + 2];
    const vectors = Array.from({ length: 23 }, (_, r) => Float64Array.from({ length: width }, (_, i) => special[(r + i) % special.length] * (i % 2 === 0 ? 1 : -1)));
    const path = join(tmp, 'direct.arrow');
    const report = await writeEncodedArrow(path, model, (function* () {
      // One reused buffer, as the encoder does: the writer must copy.
      const buffer = new Float64Array(width);
      for (let r = 0; r < vectors.length; r++) {
        buffer.set(vectors[r]);
        yield { row: 1000 + 2 * r, vector: buffer };
      }
    })(), 5);
    expect(report).toEqual({ rows: 23, columns: width, batches: 5 });
    const table = tableFromIPC(readFileSync(path));
    expect(table.batches).toHaveLength(5);
    expect(Array.from(table.getChild('row')?.toArray() as BigInt64Array)).toEqual(vectors.map((_, r) => BigInt(1000 + 2 * r)));
    encodedColumnNames(model).forEach((name, j) => {
      expect(float64Bits(numbersOf(table, name))).toBe(float64Bits(vectors.map((v) => v[j])));
    });
    expect(Object.is(numbersOf(table, encodedColumnNames(model)[0])[0], -0)).toBe(true);
  });

  test('no rows still make a valid file with the schema', async () => {
    const path = join(tmp, 'empty.arrow');
    expect(await writeEncodedArrow(path, model, [])).toEqual({ rows: 0, columns: encodedColumnNames(model).length, batches: 1 });
    const table = tableFromIPC(readFileSync(path));
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['row', ...encodedColumnNames(model)]);
  });

  test('a CSV that does not match the layout, or a bad number, is an error naming it', async () => {
    const wrong = join(tmp, 'wrong.csv');
    writeFileSync(wrong, 'a,b\n1,2\n');
    await expect(encodedCsvToArrow(wrong, join(tmp, 'wrong.arrow'), model)).rejects.toThrow(EncodedArrowError);
    const bad = join(tmp, 'bad.csv');
    const names = encodedColumnNames(model);
    writeFileSync(bad, `${names.join(',')}\n${names.map((_, i) => (i === 3 ? 'x' : '0')).join(',')}\n`);
    await expect(async () => {
      for await (const row of readEncodedCsv(bad, model)) void row;
    }).rejects.toThrow(`${bad}, line 2, field ${names[3]}: "x" is not a finite number`);
  });
});

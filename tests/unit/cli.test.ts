/**
 * The `vgmflow` command line, run as users run it: `node bin/vgmflow.js …` over the
 * compiled dist/ (rebuilt first when any source is newer than its output), in a temp dir.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { allCommands } from '../../pipeline/main';
import { compareFiles } from '../../pipeline/jobs/round-trip';
import { cleanFileLines } from '../../pipeline/jobs/clean-file-lines';
import { inverseFile } from '../../pipeline/jobs/inverse-file';
import { transformFile } from '../../pipeline/jobs/transform-file';
import { CsvFileWriter } from '../../topics/files/csv-file';
import { parseCsvText } from '../../core/csv/csv';
import { encodedColumnNames } from '../../core/normalization/layout';
import { parseModel } from '../../core/normalization/model-validate';
import type { TransformerModel } from '../../core/normalization/model';
import { BIN, ensureCliBuilt, ROOT } from '../support/build';
import { expectAllClose } from '../support/close-to';
import { FIXTURE_DIR, type SklearnFixture } from '../support/sklearn-fixtures';

const COMMANDS = allCommands();

const SAMPLE = join(ROOT, 'assets', 'card-transactions.csv');
const COLUMNS = 'Amount:continuous,Tip:mixed(0),Network:categorical,Merchant:categorical';
const HEADER = 'Amount,Tip,Network,Merchant';

jest.setTimeout(60_000);

// ---------------------------------------------------------------------------------------

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let tmp = '';
const inTmp = (name: string) => join(tmp, name);

function vgmflow(...args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function describeRun(r: Run): string {
  return `exit ${String(r.status)}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

function expectOk(r: Run): void {
  if (r.status !== 0) throw new Error(`expected exit 0, got ${describeRun(r)}`);
}

/**
 * A user error: non-zero exit, no stack trace, and one line that names every part
 * (file, line, column...). A usage error (exit 2) may add the documented pointer to --help.
 */
function expectOneLineError(r: Run, mentions: readonly string[], code?: number): void {
  expect(r.status).not.toBe(0);
  expect(r.status).not.toBeNull();
  if (code !== undefined) expect(r.status).toBe(code);
  expect(r.stderr).not.toContain('    at ');
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  if (r.status === 2 && lines.length === 2) expect(lines[1]).toMatch(/--help/);
  else expect(lines).toHaveLength(1);
  for (const part of mentions) expect(lines[0]).toContain(part);
}

function readModel(path: string): TransformerModel {
  return parseModel(readFileSync(path, 'utf8'), path);
}

/** The data records of a CSV file (header first). */
function csvRows(path: string): string[][] {
  return parseCsvText(readFileSync(path, 'utf8')).map((r) => {
    if (r.kind !== 'record') throw new Error(`${path}, line ${r.line}: ${r.reason}`);
    return r.fields;
  });
}

function writeLines(name: string, lines: readonly string[]): string {
  const path = inTmp(name);
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
  return path;
}

/** The header and the first data rows of the sample, as lines. */
const SAMPLE_LINES = readFileSync(SAMPLE, 'utf8').split('\n', 3001);

/** The first n data rows of the sample, with some lines replaced (by 1-based line number). */
function sampleFile(name: string, n: number, replace: Record<number, string> = {}): string {
  const lines = SAMPLE_LINES.slice(0, n + 1).map((l, i) => replace[i + 1] ?? l);
  return writeLines(name, lines);
}

let slice = '';
let modelPath = '';
let encodedPath = '';
let fitRun: Run;
let transformRun: Run;

beforeAll(() => {
  ensureCliBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'vgmflow-cli-'));
  expect(SAMPLE_LINES[0]).toBe(HEADER);
  slice = sampleFile('slice.csv', 3000);
  modelPath = inTmp('model.json');
  encodedPath = inTmp('encoded.csv');
  fitRun = vgmflow('fit', slice, '--model', modelPath, '--columns', COLUMNS);
  transformRun = vgmflow('transform', slice, '--model', modelPath, '--out', encodedPath);
}, 180_000);

afterAll(() => {
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------

describe('fit, transform, inverse on a 3000-row slice of the sample', () => {
  test('fit writes a model with each numeric column\'s mixture', () => {
    expectOk(fitRun);
    const json = JSON.parse(readFileSync(modelPath, 'utf8')) as {
      format: unknown;
      rows: unknown;
      columns: { name: unknown; type: unknown; mixture?: Record<string, unknown>; categories?: unknown }[];
    };
    expect(json.format).toBe('vgmflow-model');
    expect(json.rows).toBe(3000);
    expect(json.columns.map((c) => [c.name, c.type])).toEqual([
      ['Amount', 'continuous'],
      ['Tip', 'mixed'],
      ['Network', 'categorical'],
      ['Merchant', 'categorical'],
    ]);
    for (const column of json.columns.slice(0, 2)) {
      const m = column.mixture;
      if (m === undefined) throw new Error(`column ${String(column.name)} has no mixture`);
      for (const key of ['weights', 'means', 'variances'] as const) {
        const v = m[key];
        expect(Array.isArray(v) && v.length === 10 && v.every((x) => typeof x === 'number' && Number.isFinite(x))).toBe(true);
      }
      expect(typeof m.lowerBound).toBe('number');
      expect(Number.isInteger(m.nIter) && (m.nIter as number) >= 1 && (m.nIter as number) <= 100).toBe(true);
      expect(typeof m.converged).toBe('boolean');
    }
    // Categories by frequency in the slice, most frequent first.
    const counts = new Map<string, number>();
    for (const line of SAMPLE_LINES.slice(1, 3001)) {
      const network = line.split(',')[2];
      counts.set(network, (counts.get(network) ?? 0) + 1);
    }
    const byFrequency = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([c]) => c);
    expect(json.columns[2].categories).toEqual(byFrequency);
    // The model loads.
    expect(readModel(modelPath).columns).toHaveLength(4);
  });

  test('a clean file takes the message path; the same rows in another column order (the row path) and with a bad last row (dead-lettered) encode to the same lines', () => {
    expectOk(transformRun);
    const clean = readFileSync(encodedPath, 'utf8');
    // Merchant first: the header is not the model's order, so the row path reads it.
    const reordered = writeLines('reordered.csv', SAMPLE_LINES.slice(0, 3001).map((l) => {
      const f = l.split(',');
      return [f[3], f[0], f[1], f[2]].join(',');
    }));
    const byRows = inTmp('encoded-reordered.csv');
    expectOk(vgmflow('transform', reordered, '--model', modelPath, '--out', byRows));
    expect(readFileSync(byRows, 'utf8')).toBe(clean);
    // A bad record sends the file to the row path too; the other rows keep their row ids.
    const dirty = sampleFile('bad-last.csv', 3000, { 3001: 'n/a,0,visa,5411' });
    const withLetter = inTmp('encoded-bad-last.csv');
    const letters = inTmp('bad-last-dead.csv');
    const r = vgmflow('transform', dirty, '--model', modelPath, '--out', withLetter, '--dead-letter', letters);
    expectOk(r);
    expect(r.stderr).toContain('encoded 2999 rows (1 dead-lettered)');
    const cleanLines = clean.split('\n');
    expect(readFileSync(withLetter, 'utf8')).toBe([...cleanLines.slice(0, 3000), ''].join('\n'));
  });

  // (After the test above, which writes the two files.)
  test.each([
    ['the clean slice', true, () => slice],
    ['columns in another order', false, () => inTmp('reordered.csv')],
    ['a bad last row', false, () => inTmp('bad-last.csv')],
  ] as const)('the message path, given %s, takes it: %s', async (_, takes, file) => {
    const model = readModel(modelPath);
    const out = new CsvFileWriter(inTmp('message-path.csv'));
    const names = model.columns.map((c) => c.name);
    const result = await cleanFileLines(file(), names, { direction: 'transform', model, source: file() }, out, {}, () => undefined, 0).finally(() => out.close());
    expect(result === null ? null : result.rowsWritten).toBe(takes ? 3000 : null);
  });

  test('the message path gives the same bytes and clip counts on 2 encoding threads as on none (a file of several messages)', () => {
    // Each 1 MiB message goes to a thread; the rows repeat the sample, with new row ids.
    const body = SAMPLE_LINES.slice(1);
    // Every 10 000th row's Amount is far beyond the fitted range: clipped, and counted by the thread that encodes it.
    const rows = Array.from({ length: 160_000 }, (_, i) => (i % 10_000 === 5 ? '99000000,0,visa,5411' : (body[i % body.length] as string)));
    const big = writeLines('big.csv', [HEADER, ...rows]);
    expect(statSync(big).size).toBeGreaterThan(3 * 1024 * 1024);
    const outputs = ['0', '2'].map((threads) => {
      const out = inTmp(`big-encoded-${threads}.csv`);
      const r = vgmflow('transform', big, '--model', modelPath, '--out', out, '--encode-threads', threads);
      expectOk(r);
      return { text: readFileSync(out, 'utf8'), clipped: r.stderr.split('\n').find((l) => l.startsWith('values outside the fitted range')) };
    });
    expect(outputs[0]?.text.split('\n')).toHaveLength(160_002);
    expect(outputs[1]?.text === outputs[0]?.text).toBe(true);
    expect(outputs[0]?.clipped).toBe('values outside the fitted range, clipped to it: Amount 16');
    expect(outputs[1]?.clipped).toBe(outputs[0]?.clipped);
  });

  test('transform and inverse say when they read a file again row by row, and only then', async () => {
    const model = readModel(modelPath);
    const restarts = async (run: (onRestart: (why: string) => void) => Promise<unknown>): Promise<string[]> => {
      const said: string[] = [];
      await run((why) => said.push(why));
      return said;
    };
    const transform = (input: string) => (onRestart: (why: string) => void) =>
      transformFile({ input, model, output: inTmp('restart-encoded.csv'), deadLetterPath: inTmp('restart-dead.csv'), onRestart, threads: 0 });
    expect(await restarts(transform(slice))).toEqual([]);
    expect(await restarts(transform(sampleFile('restart-bad.csv', 3000, { 3001: 'n/a,0,visa,5411' })))).toEqual([expect.stringContaining('reading the file again row by row')]);
    const inverse = (input: string) => (onRestart: (why: string) => void) =>
      inverseFile({ input, model, output: inTmp('restart-decoded.csv'), deadLetterPath: inTmp('restart-dead.csv'), onRestart, threads: 0 });
    expect(await restarts(inverse(encodedPath))).toEqual([]);
    const dirty = readFileSync(encodedPath, 'utf8').split('\n').map((l, i) => (i === 9 ? l.replace(/^[^,]*/, 'x') : l));
    expect(await restarts(inverse(writeLines('restart-dirty-encoded.csv', dirty)))).toEqual([expect.stringContaining('reading the file again row by row')]);
  });

  // (After the test above, which writes the encoded files.)
  test('the inverse of a clean file of several messages gives the same bytes and report on 2 decoding threads as on none', () => {
    const encoded = inTmp('big-encoded-0.csv');
    const outputs = ['0', '2'].map((threads) => {
      const out = inTmp(`big-decoded-${threads}.csv`);
      const r = vgmflow('inverse', encoded, '--model', modelPath, '--out', out, '--decode-threads', threads);
      expectOk(r);
      return { text: readFileSync(out, 'utf8'), summary: r.stderr.split('\n').filter((l) => l.startsWith('decoded') || l.startsWith('values')).map((l) => l.replace(/ to \S+$/, '')) };
    });
    expect(outputs[0]?.text.split('\n')).toHaveLength(160_002);
    expect(outputs[1]?.text === outputs[0]?.text).toBe(true);
    expect(outputs[0]?.summary[0]).toBe('decoded 160000 rows (0 dead-lettered)');
    expect(outputs[1]?.summary).toEqual(outputs[0]?.summary);
  });

  test.each([
    ['the clean encoded file', true, 0, (lines: string[]) => lines],
    // Valid CSV, which the row path reads as the same number.
    ['a quoted field', false, 0, (lines: string[]) => lines.map((l, i) => (i === 7 ? l.replace(/^([^,]*)/, '"$1"') : l))],
    ['a field that is not a number', false, 1, (lines: string[]) => lines.map((l, i) => (i === 7 ? l.replace(/^[^,]*/, 'x') : l))],
    ['a record with a field too many', false, 1, (lines: string[]) => lines.map((l, i) => (i === 7 ? `${l},0` : l))],
  ] as const)('the inverse message path, given %s, takes it: %s', async (name, takes, deadLettered, edit) => {
    const model = readModel(modelPath);
    const lines = readFileSync(encodedPath, 'utf8').split('\n').filter((l) => l !== '');
    const input = writeLines(`inverse-path-${name.replace(/ /g, '-')}.csv`, edit(lines));
    const out = new CsvFileWriter(inTmp('inverse-path.csv'));
    const header = encodedColumnNames(model);
    const result = await cleanFileLines(input, header, { direction: 'inverse', model, source: input }, out, {}, () => undefined, 0).finally(() => out.close());
    expect(result === null ? null : result.rowsWritten).toBe(takes ? 3000 : null);
    // Whichever path, the command decodes what it can, as before.
    const decoded = inTmp('inverse-path-decoded.csv');
    const r = vgmflow('inverse', input, '--model', modelPath, '--out', decoded, '--dead-letter', inTmp('inverse-path-dead.csv'));
    expectOk(r);
    expect(r.stderr).toContain(`decoded ${3000 - deadLettered} rows (${deadLettered} dead-lettered)`);
  });

  test('transform writes the encoded layout; inverse gives back every value with the input header', async () => {
    expectOk(transformRun);
    const model = readModel(modelPath);
    const encoded = csvRows(encodedPath);
    expect(encoded[0]).toEqual(encodedColumnNames(model));
    expect(encoded).toHaveLength(3001);
    expect(transformRun.stderr).toContain('encoded 3000 rows (0 dead-lettered)');

    // The same file encodes the same way again (modes keyed by row number and seed).
    const again = inTmp('encoded-again.csv');
    expectOk(vgmflow('transform', slice, '--model', modelPath, '--out', again));
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(encodedPath, 'utf8'));

    const decodedPath = inTmp('decoded.csv');
    const inverse = vgmflow('inverse', encodedPath, '--model', modelPath, '--out', decodedPath);
    expectOk(inverse);
    const decoded = csvRows(decodedPath);
    expect(decoded[0].join(',')).toBe(HEADER);
    expect(decoded).toHaveLength(3001);
    const cmp = await compareFiles(slice, decodedPath, model);
    expect(cmp).toEqual({ rows: 3000, maxRelativeError: cmp.maxRelativeError, mismatches: 0, categoryMismatches: 0 });
    expect(cmp.maxRelativeError).toBeLessThanOrEqual(1e-9);
  });

  test('the decoded file keeps the input\'s column order, whatever the order of --columns', async () => {
    const lines = SAMPLE_LINES.slice(0, 401).map((l) => {
      const [amount, tip, network, merchant] = l.split(',');
      return [merchant, amount, network, tip].join(',');
    });
    const input = writeLines('reordered.csv', lines);
    const model = inTmp('reordered.json');
    const encoded = inTmp('reordered-encoded.csv');
    const decoded = inTmp('reordered-decoded.csv');
    expectOk(vgmflow('fit', input, '--model', model, '--columns', COLUMNS));
    expect(readModel(model).columns.map((c) => c.name)).toEqual(['Merchant', 'Amount', 'Network', 'Tip']);
    expectOk(vgmflow('transform', input, '--model', model, '--out', encoded));
    expect(csvRows(encoded)[0][0]).toMatch(/^Merchant=/);
    expectOk(vgmflow('inverse', encoded, '--model', model, '--out', decoded));
    expect(csvRows(decoded)[0].join(',')).toBe('Merchant,Amount,Network,Tip');
    const cmp = await compareFiles(input, decoded, readModel(model));
    expect([cmp.rows, cmp.mismatches, cmp.categoryMismatches]).toEqual([400, 0, 0]);
  });
});

describe('--init-means', () => {
  test('from the k-means centres of a fixture, fit reproduces scikit-learn', () => {
    const f = JSON.parse(readFileSync(join(FIXTURE_DIR, 'bimodal_outliers.json'), 'utf8')) as SklearnFixture;
    const input = writeLines('x.csv', ['x', ...f.data.map(String)]);
    const init = inTmp('init.json');
    writeFileSync(init, JSON.stringify({ x: f.init_means }));
    const model = inTmp('x.json');
    expectOk(vgmflow('fit', input, '--model', model, '--columns', 'x:continuous', '--init-means', init));
    const column = readModel(model).columns[0];
    if (column.type !== 'continuous') throw new Error('expected a continuous column');
    const e = f.expected;
    expectAllClose(column.mixture.weights, e.weights, 1e-9, 'weights', 1e-300);
    expectAllClose(column.mixture.means, e.means, 1e-9, 'means', 1e-300);
    expectAllClose(column.mixture.variances, e.variances, 1e-9, 'variances');
    expect(column.mixture.nIter).toBe(e.n_iter);
    expect(column.mixture.converged).toBe(e.converged);
    expect(column.mixture.initialMeans).toEqual(f.init_means);
  });
});

describe('--summary: binned summaries of high-cardinality columns', () => {
  test('binned: the model and the report say so, and the transform still gives back every value', async () => {
    const f = JSON.parse(readFileSync(join(FIXTURE_DIR, 'bimodal_outliers.json'), 'utf8')) as SklearnFixture;
    const input = writeLines('binned.csv', ['x', ...f.data.map(String)]);
    const model = inTmp('binned.json');
    const fit = vgmflow('fit', input, '--model', model, '--columns', 'x:continuous', '--summary', 'binned', '--bin-bits', '13');
    expectOk(fit);
    const column = readModel(model).columns[0];
    if (column.type !== 'continuous' || column.summary?.kind !== 'binned') throw new Error(`expected a binned continuous column, got ${JSON.stringify(column)}`);
    expect(column.summary.bits).toBe(13);
    expect(column.summary.points).toBeLessThan(new Set(f.data).size);
    expect(fit.stderr).toContain(`x: continuous`);
    expect(fit.stderr).toContain(`binned summary: ${column.summary.points} bins of 13 bits`);
    expect([column.min, column.max]).toEqual([Math.min(...f.data), Math.max(...f.data)]);
    const encoded = inTmp('binned-encoded.csv');
    const decoded = inTmp('binned-decoded.csv');
    expectOk(vgmflow('transform', input, '--model', model, '--out', encoded));
    expectOk(vgmflow('inverse', encoded, '--model', model, '--out', decoded));
    const cmp = await compareFiles(input, decoded, readModel(model));
    expect([cmp.rows, cmp.mismatches]).toEqual([f.data.length, 0]);
    expect(cmp.maxRelativeError).toBeLessThanOrEqual(1e-9);
  });

  test('auto: exact under the bound, binned within it above', () => {
    const f = JSON.parse(readFileSync(join(FIXTURE_DIR, 'bimodal_outliers.json'), 'utf8')) as SklearnFixture;
    const input = writeLines('auto.csv', ['x', ...f.data.map(String)]);
    const exact = inTmp('auto-exact.json');
    expectOk(vgmflow('fit', input, '--model', exact, '--columns', 'x:continuous'));
    expect(readModel(exact).columns[0]).toMatchObject({ summary: { kind: 'exact', points: new Set(f.data).size } });
    const binned = inTmp('auto-binned.json');
    // 4998 distinct values; 2976 bins at 12 bits, 3790 at 13.
    expectOk(vgmflow('fit', input, '--model', binned, '--columns', 'x:continuous', '--max-bins', '3500'));
    expect(readModel(binned).columns[0]).toMatchObject({ summary: { kind: 'binned', bits: 12, points: 2976 } });
  });

  test('the parse threads summarise as the options say (bins within the bound, split at the initial means); 0 and 2 threads give the same model', async () => {
    const f = JSON.parse(readFileSync(join(FIXTURE_DIR, 'bimodal_outliers.json'), 'utf8')) as SklearnFixture;
    const lines = f.data.map(String);
    // The compiled fit threads: the thread body exists in dist/ only. 4998 distinct values (2976
    // bins at 12 bits, 3790 at 13): the first thread gets 4000 rows, past the bound of 3500.
    const { fitThreads } = require(join(ROOT, 'dist', 'pipeline', 'jobs', 'fit-threads.js')) as typeof import('../../pipeline/jobs/fit-threads');
    const { recordBlock } = require(join(ROOT, 'dist', 'pipeline', 'jobs', 'parse-block.js')) as typeof import('../../pipeline/jobs/parse-block');
    const threads = fitThreads({ columns: [{ name: 'x', type: 'continuous' }], summary: { mode: 'auto', maxBins: 3500, binBits: 16 }, initialMeans: { x: f.init_means } }, 2);
    const { parser } = threads;
    let summaries;
    try {
      await Promise.all(
        [lines.slice(0, 4000), lines.slice(4000)].map((block) => {
          const { bytes, ends } = recordBlock(block.map((l) => Buffer.from(l)));
          return parser.parse(bytes, ends);
        }),
      );
      summaries = await parser.finish();
    } finally {
      await threads.close();
    }
    const x = summaries[0];
    if (!('bins' in x)) throw new Error(`expected bins, got ${Object.keys(x).join(', ')}`);
    expect(x.bins.keys.length).toBeLessThanOrEqual(3500);
    expect(Array.from(x.bins.centres)).toEqual(f.init_means);
    expect(x.bins.counts.reduce((a, b) => a + b, 0)).toBe(f.data.length);

    const input = writeLines('threads.csv', ['x', ...lines]);
    const init = inTmp('threads-init.json');
    writeFileSync(init, JSON.stringify({ x: f.init_means }));
    const texts = ['0', '2'].map((threads) => {
      const model = inTmp(`threads-${threads}.json`);
      expectOk(vgmflow('fit', input, '--model', model, '--columns', 'x:continuous', '--max-bins', '3500', '--init-means', init, '--stats-threads', threads));
      return readFileSync(model, 'utf8');
    });
    expect(texts[1]).toBe(texts[0]);
    expect(parseModel(texts[0], 'model').columns[0]).toMatchObject({ summary: { kind: 'binned' } });
  });

  test.each([
    [['--summary', 'sometimes'], '--summary takes auto, exact, binned'],
    [['--summary', 'exact', '--bin-bits', '16'], '--bin-bits is for --summary binned'],
    [['--summary', 'binned', '--max-bins', '100'], '--max-bins is for --summary auto'],
    [['--bin-bits', '60'], '--bin-bits must be from 12 to 51'],
    [['--max-bins', '0'], '--max-bins must be at least 1'],
  ])('%j is a usage error', (flags, message) => {
    expectOneLineError(vgmflow('fit', slice, '--model', inTmp('never.json'), ...flags), [message], 2);
  });
});

// ---------------------------------------------------------------------------------------

describe('bad input: one line naming file, line and column; non-zero exit; no stack trace', () => {
  interface BadCase {
    readonly args: () => string[];
    readonly mentions: () => string[];
    readonly code?: number;
  }

  const cases: Record<string, BadCase> = {
    'fit: a non-numeric value in a continuous column': {
      args: () => ['fit', sampleFile('nonnumeric.csv', 30, { 5: 'twelve,0,visa,5411' }), '--model', inTmp('m.json'), '--columns', COLUMNS],
      mentions: () => [inTmp('nonnumeric.csv'), 'line 5', 'column Amount', '"twelve"'],
      code: 1,
    },
    'fit: a row with the wrong number of fields': {
      args: () => ['fit', sampleFile('fields.csv', 30, { 7: '12,0,visa,5411,extra' }), '--model', inTmp('m.json'), '--columns', COLUMNS],
      mentions: () => [inTmp('fields.csv'), 'line 7', 'expected 4 fields, got 5'],
      code: 1,
    },
    'fit: an empty file': {
      args: () => ['fit', writeLines('empty.csv', []), '--model', inTmp('m.json'), '--columns', COLUMNS],
      mentions: () => [inTmp('empty.csv'), 'empty'],
      code: 1,
    },
    'fit: a header-only file': {
      args: () => ['fit', writeLines('header.csv', [HEADER]), '--model', inTmp('m.json'), '--columns', COLUMNS],
      mentions: () => [inTmp('header.csv'), 'no data rows'],
      code: 1,
    },
    'fit: a missing input file': {
      args: () => ['fit', inTmp('no-such.csv'), '--model', inTmp('m.json'), '--columns', COLUMNS],
      mentions: () => [inTmp('no-such.csv')],
      code: 1,
    },
    'transform: a missing input file': {
      args: () => ['transform', inTmp('no-such.csv'), '--model', modelPath, '--out', inTmp('o.csv')],
      mentions: () => [`vgmflow transform: ${inTmp('no-such.csv')}: no such file`],
      code: 1,
    },
    'fit: an unknown column in --columns': {
      args: () => ['fit', slice, '--model', inTmp('m.json'), '--columns', 'Amount:continuous,Foo:categorical'],
      mentions: () => [slice, '"Foo"'],
    },
    'fit: a malformed --columns': {
      args: () => ['fit', slice, '--model', inTmp('m.json'), '--columns', 'Amount:continous'],
      mentions: () => ['Amount:continous'],
      code: 2,
    },
    'transform: a missing model file': {
      args: () => ['transform', slice, '--model', inTmp('missing-model.json'), '--out', inTmp('o.csv')],
      mentions: () => [inTmp('missing-model.json')],
      code: 1,
    },
    'transform: a truncated model file': {
      args: () => {
        writeFileSync(inTmp('truncated.json'), readFileSync(modelPath, 'utf8').slice(0, 500));
        return ['transform', slice, '--model', inTmp('truncated.json'), '--out', inTmp('o.csv')];
      },
      mentions: () => [inTmp('truncated.json'), 'not valid JSON'],
      code: 1,
    },
    'inverse: a model file that is JSON of the wrong shape': {
      args: () => {
        const json = JSON.parse(readFileSync(modelPath, 'utf8')) as { columns: { mixture: { means?: unknown } }[] };
        delete json.columns[0].mixture.means;
        writeFileSync(inTmp('shape.json'), JSON.stringify(json));
        return ['inverse', encodedPath, '--model', inTmp('shape.json'), '--out', inTmp('o.csv')];
      },
      mentions: () => [inTmp('shape.json'), 'columns[0].mixture.means'],
      code: 1,
    },
    'transform: a non-numeric value in a mixed column': {
      args: () => ['transform', sampleFile('tip.csv', 30, { 9: '12,lots,visa,5411' }), '--model', modelPath, '--out', inTmp('o.csv')],
      mentions: () => [inTmp('tip.csv'), 'line 9', 'column Tip', '"lots"'],
      code: 1,
    },
    'transform: a category the model has not seen': {
      args: () => ['transform', sampleFile('unseen.csv', 30, { 3: '12,0,paypal,5411' }), '--model', modelPath, '--out', inTmp('o.csv')],
      mentions: () => [inTmp('unseen.csv'), 'line 3', 'column Network', '"paypal"'],
      code: 1,
    },
    'inverse: a non-numeric encoded value': {
      args: () => {
        const lines = readFileSync(encodedPath, 'utf8').split('\n').slice(0, 20);
        const fields = lines[3].split(',');
        fields[0] = 'oops';
        lines[3] = fields.join(',');
        return ['inverse', writeLines('bad-encoded.csv', lines), '--model', modelPath, '--out', inTmp('o.csv')];
      },
      mentions: () => [inTmp('bad-encoded.csv'), 'line 4', 'Amount.alpha', '"oops"'],
      code: 1,
    },
  };

  test.each(Object.keys(cases))('%s', (name) => {
    const c = cases[name];
    expectOneLineError(vgmflow(...c.args()), c.mentions(), c.code);
  });

  test('fit: a missing input file is an input error of the fit command, like transform\'s', () => {
    const missing = inTmp('no-such-input.csv');
    expectOneLineError(vgmflow('fit', missing, '--model', inTmp('m.json'), '--columns', COLUMNS), [`vgmflow fit: ${missing}: no such file`], 1);
  });
});

describe('--dead-letter', () => {
  /** 300 data rows, six of them bad (line → the bad line and what is wrong). */
  const BAD: Record<number, { raw: string; column: string; reason: RegExp }> = {
    4: { raw: 'n/a,0,visa,5411', column: 'Amount', reason: /"n\/a" is not a finite number/ },
    10: { raw: '1,2,3', column: '', reason: /expected 4 fields, got 3/ },
    20: { raw: ',0,visa,5411', column: 'Amount', reason: /"" is not a finite number/ },
    30: { raw: '15,abc,visa,5411', column: 'Tip', reason: /"abc" is not a finite number/ },
    40: { raw: '"12,5",0,visa,5411', column: 'Amount', reason: /"12,5" is not a finite number/ },
    60: { raw: '1e999,0,visa,5411', column: 'Amount', reason: /"1e999" is not a finite number/ },
  };
  const badLines = Object.keys(BAD).map(Number);
  const replace = Object.fromEntries(badLines.map((l) => [l, BAD[l].raw]));

  function expectDeadLetters(path: string, source: string, lines: readonly number[]): void {
    const rows = csvRows(path);
    expect(rows[0]).toEqual(['source', 'line', 'column', 'reason', 'raw']);
    expect(rows.slice(1).map((r) => Number(r[1]))).toEqual(lines);
    for (const [src, line, column, reason, raw] of rows.slice(1)) {
      const bad = BAD[Number(line)];
      expect(src).toBe(source);
      expect(column).toBe(bad.column);
      expect(reason).toMatch(bad.reason);
      expect(raw).toBe(bad.raw);
    }
  }

  test('fit and transform put the bad rows in the file, exit 0 and process the good rows', () => {
    const input = sampleFile('dirty.csv', 300, replace);
    const model = inTmp('dirty.json');
    const fitLetters = inTmp('fit-dead.csv');
    const fit = vgmflow('fit', input, '--model', model, '--columns', COLUMNS, '--dead-letter', fitLetters);
    expectOk(fit);
    expectDeadLetters(fitLetters, input, badLines);
    // Rows in = rows fitted + rows dead-lettered.
    expect(readModel(model).rows + badLines.length).toBe(300);
    expect(fit.stderr).toContain(`fit ${300 - badLines.length} rows (${badLines.length} dead-lettered)`);

    const encoded = inTmp('dirty-encoded.csv');
    const transformLetters = inTmp('transform-dead.csv');
    const transform = vgmflow('transform', input, '--model', model, '--out', encoded, '--dead-letter', transformLetters);
    expectOk(transform);
    expectDeadLetters(transformLetters, input, badLines);
    expect(csvRows(encoded)).toHaveLength(1 + 300 - badLines.length);
    expect(transform.stderr).toContain(`encoded ${300 - badLines.length} rows (${badLines.length} dead-lettered)`);

    // Without --dead-letter the same input stops at the first bad row.
    expectOneLineError(vgmflow('fit', input, '--model', inTmp('x.json'), '--columns', COLUMNS), [input, 'line 4', 'column Amount']);
  });

  test('inverse puts the bad encoded rows in the file and decodes the others', () => {
    const lines = readFileSync(encodedPath, 'utf8').split('\n').slice(0, 101);
    const fields = lines[5].split(',');
    fields[1] = 'NaN';
    lines[5] = fields.join(',');
    lines[8] = '1,2';
    const input = writeLines('dirty-encoded-in.csv', lines);
    const letters = inTmp('inverse-dead.csv');
    const decoded = inTmp('dirty-decoded.csv');
    expectOk(vgmflow('inverse', input, '--model', modelPath, '--out', decoded, '--dead-letter', letters));
    const rows = csvRows(letters);
    expect(rows.slice(1).map((r) => [r[0], r[1], r[4]])).toEqual([
      [input, '6', lines[5]],
      [input, '9', '1,2'],
    ]);
    expect(rows[1][3]).toContain('"NaN" is not a finite number');
    expect(csvRows(decoded)).toHaveLength(1 + 100 - 2);
  });
});

// ---------------------------------------------------------------------------------------

describe('usage', () => {
  /** Options each command must keep (a floor: the test below covers every declared option). */
  const required: Record<string, string[]> = {
    fit: ['model', 'columns', 'init-means', 'seed', 'summary', 'max-bins', 'bin-bits', 'dead-letter', 'brokers', 'all-stages'],
    transform: ['model', 'out', 'dead-letter', 'brokers', 'registry-url', 'model-wait'],
    inverse: ['model', 'out', 'dead-letter', 'brokers', 'encoded-topic', 'output-format', 'model-wait'],
    demo: ['input', 'columns', 'out-dir'],
    produce: ['brokers', 'topic', 'topic-prefix', 'partitions', 'rows-per-message', 'max-message-bytes'],
    stage: ['brokers', 'topic', 'topic-prefix', 'partitions', 'columns', 'header', 'group', 'worker-id', 's3-bucket', 'output-format'],
  };

  test('every command is covered here', () => {
    expect(COMMANDS.map((c) => c.name).sort()).toEqual(Object.keys(required).sort());
  });

  test.each(COMMANDS.map((c) => [c.name, c] as const))('%s --help exits 0 and mentions every option the command parses', (name, command) => {
    const declared = Object.keys(command.options);
    expect(declared).toEqual(expect.arrayContaining(required[name] ?? []));
    const r = vgmflow(name, '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(command.help);
    for (const option of declared) expect(r.stdout).toContain(`--${option}`);
  });

  test('an unknown command exits 2 and says so', () => {
    const r = vgmflow('frobnicate');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stderr).not.toContain('    at ');
  });

  test('transform and inverse refuse a mix of file and Kafka options, before connecting to anything', () => {
    expectOneLineError(vgmflow('transform', slice, '--model', modelPath, '--out', inTmp('o.csv'), '--registry-url', 'http://x'), ['--registry-url needs --brokers'], 2);
    expectOneLineError(vgmflow('inverse', slice, '--brokers', '127.0.0.1:1'), ['with --brokers the input is a topic', slice], 2);
    expectOneLineError(vgmflow('transform', '--brokers', '127.0.0.1:1', '--model', modelPath), ['--model is for files'], 2);
    expectOneLineError(vgmflow('transform'), ['missing the input CSV file (or --brokers'], 2);
    expectOneLineError(vgmflow('inverse', '--brokers', '127.0.0.1:1', '--output-format', 'parquet'), ['--output-format must be block, csv or avro'], 2);
    expectOneLineError(vgmflow('transform', '--brokers', '127.0.0.1:1', '--output-format', 'csv'), ['--output-format must be block or avro'], 2);
    expectOneLineError(
      spawnSync(process.execPath, [BIN, 'transform', '--brokers', '127.0.0.1:1', '--output-format', 'avro'], { encoding: 'utf8', env: { ...process.env, SCHEMA_REGISTRY_URL: '' } }),
      ['--output-format avro needs --registry-url'],
      2,
    );
    expectOneLineError(
      spawnSync(process.execPath, [BIN, 'inverse', '--brokers', '127.0.0.1:1', '--output-format', 'avro'], { encoding: 'utf8', env: { ...process.env, SCHEMA_REGISTRY_URL: '' } }),
      ['--output-format avro needs --registry-url'],
      2,
    );
    expectOneLineError(vgmflow('transform', '--brokers', '127.0.0.1:1', '--registry-url', 'http://x', '--model-wait', 'soon'), ['--model-wait must be a non-negative integer'], 2);
  });

  test('an unknown option is a usage error (exit 2)', () => {
    expectOneLineError(vgmflow('transform', slice, '--model', modelPath, '--out', inTmp('o.csv'), '--bogus'), ['--bogus'], 2);
  });
});

/**
 * `npm run bench`: vgmflow's speed and memory beside anchors measured in the same run.
 *
 * - fit, embedded (`vgmflow fit <file>`) vs scikit-learn's BayesianGaussianMixture with
 *   CTAB-GAN's settings; vgmflow starts from scikit-learn's own k-means centres
 *   (--init-means) and must agree to rtol 1e-9 on weights, means and variances, or to 1e-6
 *   when the model says it binned the column (high-cardinality columns past --max-bins);
 * - transform and inverse, embedded, vs the research algorithm (CTAB-GAN's DataTransformer
 *   loop, tests/bench/anchors.py);
 * - on the local stack: produce, ingest + fit, transform, inverse through the CLI, vs Kafka's
 *   own ProducerPerformance / ConsumerPerformance with the same record size and partitions.
 *
 * Every process runs under /usr/bin/time for its peak RSS. Everything goes through the public
 * CLI (`node bin/vgmflow.js`) and documented file formats, not vgmflow's internals, so the
 * bench survives refactoring. A failed correctness check makes the exit code 1.
 * See tests/bench/README.md.
 */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { cpus, loadavg, totalmem } from 'os';
import { join, resolve } from 'path';
import { createInterface } from 'readline';
import { parseArgs } from 'util';
import { Kafka, logLevel } from 'kafkajs';
import { ANCHOR_COLUMN, DATASET_COLUMNS, DATASETS, type Dataset } from './generate';

const ROOT = resolve(__dirname, '../../..');
const BENCH = join(ROOT, 'tests/bench');
const GENERATE = join(BENCH, '.build/generate.js');
const VGMFLOW = join(ROOT, 'bin/vgmflow.js');
const TIME = '/usr/bin/time';
const PARTITIONS = 6;
const SEED = 7;
const RTOL = 1e-9;
/** The binned summaries' accuracy target (README, "High-cardinality columns"). */
const RTOL_BINNED = 1e-6;

// ---- options -----------------------------------------------------------------------------

const HELP = `Usage: npm run bench -- [options]

  --sizes <list>            row counts, e.g. 2e4,2e5 (default 20000,200000): every step runs
                            at each size, and the growth table compares them
  --rows <n>                one size only (same as --sizes n)
  --only <fit|transform|kafka>  one section (transform includes the fit it needs)
  --data <list>             embedded data sets, of ${DATASETS.join(',')} (default amount,distinct,table;
                            distinct, lognormal and outliers are full-precision: every value distinct)
  --kafka-data <set>        the data set of the Kafka steps (default amount; distinct for a
                            high-cardinality fit through Kafka)
  --out <dir>               where results.json and results.md go (default out/bench)
  --rows-per-message <n>    rows per Kafka message for produce (default: produce's own,
                            messages of whole rows up to 1 MiB)
  --max-file-rows <n>       above this size the embedded (file) steps and the Python anchors
                            are skipped; the Kafka steps stream (default 5000000)
  --kafka-formats <list>    the Kafka transform and inverse runs, of block, block-none, avro
                            (default all three): blocks as the CLI writes them by default
                            (lz4-compressed record batches), blocks in uncompressed batches,
                            the per-row formats (Avro transformed, CSV decoded)
  --tiny                    CI: one tiny size (2000 rows), every correctness check on
  -h, --help
`;

/** The Kafka transform and inverse runs the bench can make, each to topics of its own. */
const KAFKA_FORMATS = ['block', 'block-none', 'avro'] as const;
type KafkaFormat = (typeof KAFKA_FORMATS)[number];

interface Options {
  sizes: number[];
  only: 'fit' | 'transform' | 'kafka' | null;
  data: Dataset[];
  kafkaData: Dataset;
  out: string;
  rowsPerMessage: number | null;
  maxFileRows: number;
  kafkaFormats: KafkaFormat[];
  tiny: boolean;
}

function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`not a positive row count: ${text}`);
  return n;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string' },
      rows: { type: 'string' },
      only: { type: 'string' },
      data: { type: 'string' },
      'kafka-data': { type: 'string' },
      out: { type: 'string' },
      'rows-per-message': { type: 'string' },
      'max-file-rows': { type: 'string' },
      'kafka-formats': { type: 'string' },
      tiny: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const only = values.only ?? null;
  if (only !== null && only !== 'fit' && only !== 'transform' && only !== 'kafka') throw new Error('--only takes fit, transform or kafka');
  const data = (values.data ?? 'amount,distinct,table').split(',').map((d) => d.trim());
  const isDataset = (d: string): d is Dataset => (DATASETS as readonly string[]).includes(d);
  for (const d of data) if (!isDataset(d)) throw new Error(`--data takes ${DATASETS.join(', ')}, not ${d}`);
  const kafkaData = values['kafka-data'] ?? 'amount';
  if (!isDataset(kafkaData)) throw new Error(`--kafka-data takes one of ${DATASETS.join(', ')}, not ${kafkaData}`);
  const kafkaFormats = (values['kafka-formats'] ?? KAFKA_FORMATS.join(',')).split(',').map((f) => f.trim());
  for (const f of kafkaFormats) if (!(KAFKA_FORMATS as readonly string[]).includes(f)) throw new Error(`--kafka-formats takes ${KAFKA_FORMATS.join(', ')}, not ${f}`);
  const tiny = values.tiny === true;
  const sizesText = values.rows ?? values.sizes ?? (tiny ? '2000' : '20000,200000');
  return {
    sizes: sizesText.split(',').map(parseCount),
    only,
    data: data as Dataset[],
    kafkaData,
    out: resolve(values.out ?? join(ROOT, 'out/bench')),
    rowsPerMessage: values['rows-per-message'] === undefined ? null : parseCount(values['rows-per-message']),
    maxFileRows: parseCount(values['max-file-rows'] ?? '5000000'),
    kafkaFormats: kafkaFormats as KafkaFormat[],
    tiny,
  };
}

// ---- processes ---------------------------------------------------------------------------

interface Run {
  readonly seconds: number;
  /** Peak RSS in MB (1e6 bytes) of each process, in pipeline order; null without /usr/bin/time. */
  readonly rssMB: (number | null)[];
  readonly stdout: string;
  readonly stderr: string;
}

const HAVE_TIME = existsSync(TIME);
let scratch = '';
let runCount = 0;

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=,+@%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs a pipeline of commands (`a | b`) under bash with pipefail, each under /usr/bin/time,
 * and times the whole from spawn to exit. Throws with the stderr tail when it fails.
 */
async function run(commands: string[][], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  const id = runCount++;
  const rssFiles = commands.map((_, i) => join(scratch, `rss-${id}-${i}`));
  const line = commands
    .map((argv, i) => (HAVE_TIME ? [TIME, '-f', '%M', '-o', rssFiles[i], ...argv] : argv).map(shellQuote).join(' '))
    .join(' | ');
  const started = process.hrtime.bigint();
  const child = spawn('bash', ['-c', `set -o pipefail; ${line}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(err).toString('utf8');
  if (code !== 0) {
    throw new Error(`failed (exit ${code}): ${line}\n${stderr.split('\n').slice(-25).join('\n')}`);
  }
  const rssMB = rssFiles.map((f) => {
    if (!existsSync(f)) return null;
    const kb = Number(readFileSync(f, 'utf8').trim().split('\n').pop());
    return Number.isFinite(kb) ? (kb * 1024) / 1e6 : null;
  });
  return { seconds, rssMB, stdout, stderr };
}

// The Python anchors: the reference numbers, so OpenBLAS runs as numpy ships it; the
// OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE workarounds of this machine slow numpy down.
function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONWARNINGS: 'ignore' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

// ---- results -----------------------------------------------------------------------------

interface Anchor {
  readonly name: string;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly mbPerSecond: number;
  readonly rssMB: number | null;
}

interface Row {
  readonly step: string;
  readonly data: Dataset;
  readonly rows: number;
  /** CSV bytes of the rows (data lines, no header): the MB/s of every step counts these. */
  readonly bytes: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly mbPerSecond: number;
  readonly rssMB: number | null;
  readonly anchor: Anchor | null;
  readonly ok: boolean;
  readonly check: string;
}

const rows: Row[] = [];
const failures: string[] = [];

function record(r: Omit<Row, 'rowsPerSecond' | 'mbPerSecond'>): void {
  const row: Row = { ...r, rowsPerSecond: r.rows / r.seconds, mbPerSecond: r.bytes / 1e6 / r.seconds };
  rows.push(row);
  if (!row.ok) failures.push(`${row.step} (${row.data}, ${row.rows} rows): ${row.check}`);
  process.stderr.write(
    `[bench] ${row.step} ${row.data} ${row.rows} rows: ${row.seconds.toFixed(2)} s, ${fmtRate(row.rowsPerSecond)} rows/s` +
      (row.anchor ? `; ${row.anchor.name} ${row.anchor.seconds.toFixed(2)} s` : '') +
      `; ${row.ok ? 'ok' : 'FAILED'}: ${row.check}\n`,
  );
}

function anchorOf(name: string, seconds: number, n: number, bytes: number, rssMB: number | null): Anchor {
  return { name, seconds, rowsPerSecond: n / seconds, mbPerSecond: bytes / 1e6 / seconds, rssMB };
}

// ---- reading files -----------------------------------------------------------------------

async function* lines(path: string): AsyncGenerator<string, void, undefined> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const l of rl) yield l;
}

/** One column of a CSV file (plain numbers, no quoting: what generate.ts writes). */
async function readColumn(path: string, column: string, n: number): Promise<Float64Array> {
  const out = new Float64Array(n);
  let at = -1;
  let i = -1;
  for await (const l of lines(path)) {
    if (i < 0) at = l.split(',').indexOf(column);
    else out[i] = Number(l.split(',')[at]);
    i++;
  }
  if (i !== n) throw new Error(`${path}: ${i} rows, expected ${n}`);
  return out;
}

function relDiff(a: number, b: number): number {
  return a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

// ---- the model file (its JSON format is documented in the top-level README) -------------

interface ModelColumn {
  readonly name: string;
  readonly type: string;
  readonly count: number;
  readonly summary?: { readonly kind: string; readonly bits?: number; readonly points: number; readonly errorScale?: number };
  readonly mixture?: { readonly weights: number[]; readonly means: number[]; readonly variances: number[]; readonly nIter: number };
  readonly modes?: { readonly kind: string; readonly component?: number }[];
}

function modelColumn(path: string, name: string): ModelColumn {
  const model = JSON.parse(readFileSync(path, 'utf8')) as { columns: ModelColumn[] };
  const column = model.columns.find((c) => c.name === name);
  if (column === undefined) throw new Error(`${path}: no column ${name}`);
  return column;
}

interface SklearnFit {
  seconds: number;
  n_iter: number;
  weights: number[];
  means: number[];
  variances: number[];
  initial_means: number[];
  kept: number[];
  versions: Record<string, string>;
}

// ---- embedded steps ----------------------------------------------------------------------

let python = '';
let versions: Record<string, string> = {};

async function embedded(data: Dataset, n: number, only: Options['only']): Promise<void> {
  const dir = join(scratch, `${data}-${n}`);
  mkdirSync(dir, { recursive: true });
  const csv = join(dir, 'data.csv');
  await run([['node', GENERATE, data, String(n), '--seed', String(SEED), '--out', csv]]);
  const bytes = statSync(csv).size - (readFileSync(csv, 'utf8').indexOf('\n') + 1);
  const column = ANCHOR_COLUMN[data];
  const withAnchor = data !== 'table';
  const model = join(dir, 'model.json');
  const fitArgs = ['node', VGMFLOW, 'fit', csv, '--model', model, '--columns', DATASET_COLUMNS[data], '--seed', String(SEED)];

  // fit
  if (withAnchor) {
    const py = await run([[python, join(BENCH, 'anchors.py'), 'fit', csv, column, String(SEED), dir]], pythonEnv());
    const sk = JSON.parse(readFileSync(join(dir, 'fit.json'), 'utf8')) as SklearnFit;
    versions = { ...versions, ...sk.versions };
    const means = join(dir, 'means.json');
    writeFileSync(means, JSON.stringify({ [column]: sk.initial_means }));
    const vg = await run([[...fitArgs, '--init-means', means]]);
    const fitted = modelColumn(model, column);
    const mixture = fitted.mixture;
    const binned = fitted.summary?.kind === 'binned';
    const rtol = binned ? RTOL_BINNED : RTOL;
    const summary = binned
      ? `binned summary, ${fitted.summary?.points} bins of ${fitted.summary?.bits} bits (stated error scale ${fitted.summary?.errorScale?.toExponential(1)})`
      : `exact summary, ${fitted.summary?.points} distinct values`;
    let worst = 0;
    let what = '';
    if (mixture === undefined) throw new Error(`${model}: ${column} has no mixture`);
    for (const [name, a, b] of [
      ['weights', mixture.weights, sk.weights],
      ['means', mixture.means, sk.means],
      ['variances', mixture.variances, sk.variances],
    ] as const) {
      for (let k = 0; k < b.length; k++) {
        const d = relDiff(a[k], b[k]);
        if (!(d <= worst)) [worst, what] = [d, `${name}[${k}]`];
      }
    }
    const ok = worst <= rtol && mixture.nIter === sk.n_iter;
    record({
      step: 'fit, embedded', data, rows: n, bytes, seconds: vg.seconds, rssMB: vg.rssMB[0],
      anchor: anchorOf('scikit-learn BayesianGaussianMixture', sk.seconds, n, bytes, py.rssMB[0]), ok,
      check: `${summary}; from sklearn's k-means centres: max rel diff ${worst.toExponential(1)}${what ? ` (${what})` : ''} vs rtol ${rtol.toExponential(0)}; n_iter ${mixture.nIter} vs ${sk.n_iter}`,
    });
  } else {
    const vg = await run([fitArgs]);
    record({ step: 'fit, embedded', data, rows: n, bytes, seconds: vg.seconds, rssMB: vg.rssMB[0], anchor: null, ok: true, check: 'no anchor (3 column types)' });
  }
  if (only === 'fit') return;

  // transform
  const encoded = join(dir, 'encoded.csv');
  const vgT = await run([['node', VGMFLOW, 'transform', csv, '--model', model, '--out', encoded]]);
  let anchorT: Anchor | null = null;
  let checkT = 'no anchor (3 column types)';
  let okT = true;
  if (withAnchor) {
    const py = await run([[python, join(BENCH, 'anchors.py'), 'transform', csv, column, String(SEED), dir]], pythonEnv());
    const research = JSON.parse(readFileSync(join(dir, 'transform.json'), 'utf8')) as { seconds: number; mode_counts: Record<string, number>; clipped: number };
    anchorT = anchorOf('research transform loop', research.seconds, n, bytes, py.rssMB[0]);
    const sk = JSON.parse(readFileSync(join(dir, 'fit.json'), 'utf8')) as SklearnFit;
    const r = await checkEncoded(csv, encoded, model, column, n, research.mode_counts, sk.kept);
    okT = r.ok;
    checkT = r.text + `; research clips ${research.clipped} alphas to ±0.99`;
  }
  record({ step: 'transform, embedded', data, rows: n, bytes, seconds: vgT.seconds, rssMB: vgT.rssMB[0], anchor: anchorT, ok: okT, check: checkT });

  // inverse
  const decoded = join(dir, 'decoded.csv');
  const vgI = await run([['node', VGMFLOW, 'inverse', encoded, '--model', model, '--out', decoded]]);
  let anchorI: Anchor | null = null;
  let researchNote = '';
  if (withAnchor) {
    const py = await run([[python, join(BENCH, 'anchors.py'), 'inverse', csv, column, String(SEED), dir]], pythonEnv());
    const research = JSON.parse(readFileSync(join(dir, 'inverse.json'), 'utf8')) as { seconds: number; not_decoded: number };
    anchorI = anchorOf('research inverse', research.seconds, n, bytes, py.rssMB[0]);
    researchNote = `; research: ${research.not_decoded} rows not decoded back`;
  }
  const rt = await checkRoundTrip(csv, decoded);
  record({ step: 'inverse, embedded', data, rows: n, bytes, seconds: vgI.seconds, rssMB: vgI.rssMB[0], anchor: anchorI, ok: rt.ok, check: rt.text + researchNote });
  rmSync(dir, { recursive: true, force: true });
}

/**
 * vgmflow's encoded rows against the model and the research loop: every alpha is exactly
 * (x − μ_k)/(4σ_k) of the mode it names; the kept modes are the research code's; and the
 * modes drawn are distributed like the research loop's draws (total variation distance
 * within sampling noise; the two draw with different generators, so not row by row).
 */
async function checkEncoded(
  csv: string,
  encoded: string,
  model: string,
  column: string,
  n: number,
  researchCounts: Record<string, number>,
  researchKept: number[],
): Promise<{ ok: boolean; text: string }> {
  const x = await readColumn(csv, column, n);
  const mixture = modelColumn(model, column).mixture;
  if (mixture === undefined) throw new Error(`${model}: ${column} has no mixture`);
  const sd = mixture.variances.map(Math.sqrt);
  let alphaAt = -1;
  let modeOf: number[] = [];
  const counts = new Map<number, number>();
  let worst = 0;
  let i = -1;
  for await (const l of lines(encoded)) {
    const f = l.split(',');
    if (i < 0) {
      alphaAt = f.indexOf(`${column}.alpha`);
      modeOf = f.map((name) => {
        const m = new RegExp(`^${column}\\.mode(\\d+)$`).exec(name);
        return m === null ? -1 : Number(m[1]);
      });
    } else {
      const k = modeOf[f.findIndex((v, j) => modeOf[j] >= 0 && v === '1')];
      counts.set(k, (counts.get(k) ?? 0) + 1);
      const expected = (x[i] - mixture.means[k]) / (4 * sd[k]);
      worst = Math.max(worst, Math.abs(Number(f[alphaAt]) - expected) / Math.max(1e-3, Math.abs(expected)));
    }
    i++;
  }
  const kept = [...new Set(modeOf.filter((k) => k >= 0))].sort((a, b) => a - b);
  const sameKept = kept.join(',') === [...researchKept].sort((a, b) => a - b).join(',');
  let tv = 0;
  for (const k of new Set([...kept, ...Object.keys(researchCounts).map(Number)])) {
    tv += Math.abs((counts.get(k) ?? 0) / n - (researchCounts[String(k)] ?? 0) / n) / 2;
  }
  const tvLimit = 0.01 + 2 * Math.sqrt(kept.length / n);
  const ok = i === n && worst <= RTOL && sameKept && tv <= tvLimit;
  return {
    ok,
    text: `${i} rows; alpha vs (x-mu)/(4 sigma) max rel diff ${worst.toExponential(1)}; kept modes ${kept.join(',')}${sameKept ? ' = research' : ` ≠ research ${researchKept.join(',')}`}; modes drawn vs research: TV distance ${tv.toFixed(4)} (limit ${tvLimit.toFixed(4)})`,
  };
}

/** Every decoded cell equals the original: numbers to 1e-9·max(1,|x|), text exactly. */
async function checkRoundTrip(original: string, decoded: string): Promise<{ ok: boolean; text: string }> {
  const a = lines(original);
  const b = lines(decoded);
  let off = 0;
  let n = -1;
  let worst = 0;
  for (;;) {
    const [la, lb] = await Promise.all([a.next(), b.next()]);
    if (la.done || lb.done) {
      if (!(la.done && lb.done)) off++;
      break;
    }
    if (n >= 0) {
      const fa = la.value.split(',');
      const fb = lb.value.split(',');
      fa.forEach((va, j) => {
        const x = Number(va);
        const y = Number(fb[j]);
        const bad = Number.isFinite(x) && va !== '' ? !(Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x))) : va !== fb[j];
        if (Number.isFinite(x) && va !== '') worst = Math.max(worst, Math.abs(x - y) / Math.max(1, Math.abs(x)));
        if (bad) off++;
      });
    }
    n++;
  }
  return { ok: off === 0, text: `round trip: ${n} rows, ${off} values off by more than 1e-9·max(1,|x|), max |error|/max(1,|x|) ${worst.toExponential(1)}` };
}

// ---- Kafka steps -------------------------------------------------------------------------

let kafkaLib = '';
let java = 'java';

interface Ceiling {
  readonly producer: Anchor;
  readonly consumer: Anchor;
}

/** Kafka's own perf tools on a topic of the same partitions, with the same record size. */
async function ceiling(brokers: string, topic: string, messages: number, recordSize: number, rowsPerMessage: number, minRecords: number): Promise<Ceiling> {
  const cp = `${kafkaLib}/kafka/*:${kafkaLib}/kafka-tools/*`;
  // The tools' first records wait for the new topic's metadata (seconds here); fewer than
  // 50 000 records (5 000 with --tiny, where only the plumbing is checked) would measure
  // that wait, not the throughput.
  // Large records (produce's 1 MiB blocks) need fewer: 256 MB measures the throughput too.
  const records = Math.max(messages, Math.min(minRecords, Math.ceil(256e6 / recordSize)));
  const p = await run([[java, '-Xmx512m', '-cp', cp, 'org.apache.kafka.tools.ProducerPerformance', '--topic', topic, '--num-records', String(records),
    '--record-size', String(recordSize), '--throughput', '-1',
    // Records as large as produce's messages (up to 1 MiB and more) must fit a request.
    '--command-property', `bootstrap.servers=${brokers}`, `max.request.size=${16 * 1024 * 1024}`]]);
  // "N records sent, R records/sec (M MB/sec), …" — the last such line is the summary.
  const summary = p.stdout.split('\n').filter((l) => / records sent, /.test(l)).pop() ?? '';
  const m = /records sent, ([\d.]+) records\/sec/.exec(summary);
  if (m === null) throw new Error(`ProducerPerformance: no summary in\n${p.stdout}`);
  const producerRecords = Number(m[1]);
  const c = await run([[java, '-Xmx512m', '-cp', cp, 'org.apache.kafka.tools.ConsumerPerformance', '--bootstrap-server', brokers, '--topic', topic,
    '--num-records', String(records), '--group', `${topic}-perf`, '--timeout', '120000']]);
  const [head, values] = c.stdout.trim().split('\n').slice(-2).map((l) => l.split(',').map((s) => s.trim()));
  // fetch.nMsg.sec: records per second while fetching, without the group join.
  const consumerRecords = Number(values[head.indexOf('fetch.nMsg.sec')]);
  if (!Number.isFinite(consumerRecords)) throw new Error(`ConsumerPerformance: no fetch.nMsg.sec in\n${c.stdout}`);
  const asAnchor = (name: string, perSecond: number, rss: number | null): Anchor => ({
    name,
    seconds: records / perSecond,
    rowsPerSecond: perSecond * rowsPerMessage,
    mbPerSecond: (perSecond * recordSize) / 1e6,
    rssMB: rss,
  });
  return {
    producer: asAnchor(`Kafka ProducerPerformance (${records} × ${recordSize} B)`, producerRecords, p.rssMB[0]),
    consumer: asAnchor(`Kafka ConsumerPerformance (${records} × ${recordSize} B)`, consumerRecords, c.rssMB[0]),
  };
}

function countFrom(text: string, pattern: RegExp): number {
  const m = pattern.exec(text);
  return m === null ? NaN : Number(m[1]);
}

async function onKafka(n: number, o: Options): Promise<void> {
  const brokers = process.env.KAFKA_BROKERS;
  if (brokers === undefined) throw new Error('KAFKA_BROKERS is not set: source .stack/stack.env (npm run stack:up) or use --only fit|transform');
  const prefix = `bench-${randomBytes(4).toString('hex')}-${n}`;
  const kafka = new Kafka({ clientId: 'vgmflow-bench', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const k = ['--brokers', brokers, '--topic-prefix', prefix];
  const data = o.kafkaData;
  const column = ANCHOR_COLUMN[data];
  try {
    // produce, streamed: the generator's CSV goes straight into `vgmflow produce -`.
    const produce = await run([
      ['node', GENERATE, data, String(n), '--seed', String(SEED), '--report'],
      ['node', VGMFLOW, 'produce', '-', ...k, ...(o.rowsPerMessage === null ? [] : ['--rows-per-message', String(o.rowsPerMessage)])],
    ]);
    const report = JSON.parse(produce.stderr.split('\n').find((l) => l.startsWith('{"generated"')) ?? 'null') as { generated: { rows: number; bytes: number } } | null;
    if (report === null) throw new Error(`the generator did not report its size:\n${produce.stderr}`);
    const bytes = report.generated.bytes;
    const messages = countFrom(produce.stderr, /produced \d+ rows in (\d+) messages/);
    const produced = countFrom(produce.stderr, /produced (\d+) rows/);
    const recordSize = Math.round(bytes / messages);
    // As the rows topic: messages up to 16 MiB.
    await admin.createTopics({
      topics: [{ topic: `${prefix}.perf`, numPartitions: PARTITIONS, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: String(16 * 1024 * 1024) }] }],
      waitForLeaders: true,
    });
    const ceil = await ceiling(brokers, `${prefix}.perf`, messages, recordSize, n / messages, o.tiny ? 5_000 : 50_000);
    record({ step: 'produce, Kafka', data, rows: n, bytes, seconds: produce.seconds, rssMB: produce.rssMB[1], anchor: ceil.producer,
      ok: produced === n, check: `${produced} rows in ${messages} messages of ${recordSize} B on average, ${PARTITIONS} partitions` });

    const model = join(scratch, `${prefix}-model.json`);
    const fit = await run([['node', VGMFLOW, 'fit', ...k, '--all-stages', '--columns', DATASET_COLUMNS[data], '--model', model, '--seed', String(SEED), '--job', `${prefix}-fit`]]);
    const fitted = modelColumn(model, column);
    const count = fitted.count;
    const summary = fitted.summary?.kind === 'binned' ? `binned summary, ${fitted.summary.points} bins of ${fitted.summary.bits} bits` : `exact summary`;
    record({ step: 'ingest + fit, Kafka', data, rows: n, bytes, seconds: fit.seconds, rssMB: fit.rssMB[0], anchor: ceil.consumer,
      ok: count === n, check: `model counts ${count} rows (k-means init, --all-stages); ${summary}` });

    for (const format of o.kafkaFormats) await transformAndInverse(k, prefix, format, n, bytes, ceil.consumer, data);
  } finally {
    // The stack is shared: leave no topic of this run behind.
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
    await admin.disconnect();
  }
}

/** The CLI options of a Kafka format's transform and inverse, and the topics they write. */
function formatRuns(prefix: string, format: KafkaFormat): { transform: string[]; inverse: string[]; label: string } {
  const transformed = `${prefix}.transformed-${format}`;
  const own = (stage: string): string[] => ['--group', `${prefix}-${stage}-${format}`];
  switch (format) {
    case 'block':
      return { label: 'block (lz4 batches)', transform: ['--transformed-topic', transformed, ...own('t')], inverse: ['--encoded-topic', transformed, '--decoded-topic', `${prefix}.decoded-${format}`, ...own('i')] };
    case 'block-none':
      return {
        label: 'block, uncompressed batches',
        transform: ['--transformed-topic', transformed, '--compression', 'none', ...own('t')],
        inverse: ['--encoded-topic', transformed, '--decoded-topic', `${prefix}.decoded-${format}`, '--compression', 'none', ...own('i')],
      };
    case 'avro':
      return {
        label: 'Avro / CSV per row',
        transform: ['--transformed-topic', transformed, '--output-format', 'avro', ...own('t')],
        inverse: ['--encoded-topic', transformed, '--decoded-topic', `${prefix}.decoded-${format}`, '--output-format', 'csv', ...own('i')],
      };
  }
}

/** `vgmflow transform --brokers` then `vgmflow inverse --brokers` of its output, in one format. */
async function transformAndInverse(k: string[], prefix: string, format: KafkaFormat, n: number, bytes: number, anchor: Anchor, data: Dataset): Promise<void> {
  const f = formatRuns(prefix, format);
  const transform = await run([['node', VGMFLOW, 'transform', ...k, ...f.transform]]);
  const encodedRows = countFrom(transform.stderr, /encoded (\d+) rows/);
  const encodedDead = countFrom(transform.stderr, /encoded \d+ rows \((\d+) dead-lettered\)/);
  record({ step: `transform, Kafka, ${f.label}`, data, rows: n, bytes, seconds: transform.seconds, rssMB: transform.rssMB[0], anchor,
    ok: encodedRows === n && encodedDead === 0, check: `${encodedRows} rows encoded, ${encodedDead} dead-lettered; ${stageSeconds(transform.stderr)}` });

  const inverse = await run([['node', VGMFLOW, 'inverse', ...k, ...f.inverse]]);
  const decodedRows = countFrom(inverse.stderr, /decoded (\d+) rows/);
  const decodedDead = countFrom(inverse.stderr, /decoded \d+ rows \((\d+) dead-lettered\)/);
  record({ step: `inverse, Kafka, ${f.label}`, data, rows: n, bytes, seconds: inverse.seconds, rssMB: inverse.rssMB[0], anchor,
    ok: decodedRows === n && decodedDead === 0, check: `${decodedRows} rows decoded, ${decodedDead} dead-lettered; ${stageSeconds(inverse.stderr)}` });
}

/** What the one-shot command says of its own time: from its start (after Node and the modules loaded) and from its first input. */
function stageSeconds(stderr: string): string {
  const total = /rows \(\d+ dead-lettered\) from \S+ to \S+ in ([\d.]+) s/.exec(stderr);
  const busy = /first input after ([\d.]+) s, then ([\d.]+) s at (\d+) rows\/s/.exec(stderr);
  return `the command: ${total?.[1] ?? '?'} s after its start` + (busy === null ? '' : `, first input after ${busy[1]} s, then ${busy[2]} s at ${Number(busy[3]).toLocaleString('en-US')} rows/s`);
}

// ---- report ------------------------------------------------------------------------------

function fmtRate(x: number): string {
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3);
}

function fmtMBs(x: number): string {
  return x >= 10 ? x.toFixed(1) : x.toPrecision(2);
}

function fmtMB(x: number | null): string {
  return x === null ? '—' : x.toFixed(0);
}

function ratio(row: Row): string {
  if (row.anchor === null) return '—';
  const r = row.rowsPerSecond / row.anchor.rowsPerSecond;
  return r >= 10 ? `${r.toFixed(0)}×` : `${r.toPrecision(2)}×`;
}

function table(): string {
  const head = '| step | data | rows | s | rows/s | MB/s | peak RSS MB | anchor | anchor rows/s | anchor MB/s | anchor RSS MB | vgmflow ÷ anchor | check |';
  const sep = '|' + ' --- |'.repeat(13);
  const body = rows.map((r) =>
    [
      r.step, r.data, r.rows.toLocaleString('en-US'), r.seconds.toFixed(2), fmtRate(r.rowsPerSecond), fmtMBs(r.mbPerSecond), fmtMB(r.rssMB),
      r.anchor?.name ?? '—', r.anchor ? fmtRate(r.anchor.rowsPerSecond) : '—', r.anchor ? fmtMBs(r.anchor.mbPerSecond) : '—',
      r.anchor ? fmtMB(r.anchor.rssMB) : '—', ratio(r), `${r.ok ? 'ok' : '**FAILED**'}: ${r.check}`,
    ].join(' | '),
  );
  return [head, sep, ...body.map((b) => `| ${b} |`)].join('\n');
}

/** How time and RSS grow between consecutive sizes of the same step and data. */
function growth(): string {
  const out: string[] = [];
  const keys = [...new Set(rows.map((r) => `${r.step}\u0000${r.data}`))];
  for (const key of keys) {
    const same = rows.filter((r) => `${r.step}\u0000${r.data}` === key).sort((a, b) => a.rows - b.rows);
    for (let i = 1; i < same.length; i++) {
      const [a, b] = [same[i - 1], same[i]];
      const x = (p: number | null | undefined, q: number | null | undefined) => (p && q ? `${(q / p).toFixed(1)}×` : '—');
      out.push(
        `| ${b.step} | ${b.data} | ${a.rows.toLocaleString('en-US')} → ${b.rows.toLocaleString('en-US')} (${x(a.rows, b.rows)}) | ${x(a.seconds, b.seconds)} | ${x(a.rssMB, b.rssMB)} | ` +
          `${x(a.anchor?.seconds, b.anchor?.seconds)} | ${x(a.anchor?.rssMB, b.anchor?.rssMB)} |`,
      );
    }
  }
  if (out.length === 0) return '';
  return ['| step | data | rows | vgmflow time | vgmflow peak RSS | anchor time | anchor peak RSS |', '|' + ' --- |'.repeat(7), ...out].join('\n');
}

// ---- main --------------------------------------------------------------------------------

async function main(): Promise<number> {
  const o = options(process.argv.slice(2));
  mkdirSync(o.out, { recursive: true });
  scratch = join(o.out, 'work');
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const started = new Date();
  const loadBefore = loadavg();
  const wantEmbedded = o.only !== 'kafka';
  const wantKafka = o.only === null || o.only === 'kafka';
  if (wantEmbedded && o.sizes.some((n) => n <= o.maxFileRows)) {
    python = process.env.BENCH_PYTHON ?? (await run([['bash', join(BENCH, 'setup-venv.sh')]])).stdout.trim();
  }
  if (wantKafka) {
    const lib = (await run([['bash', join(ROOT, 'infra/local/stack.sh'), 'lib']])).stdout.trim().split('\t');
    [kafkaLib, java] = [lib[0], lib[1] ?? 'java'];
    versions.java = (await run([[java, '-version']])).stderr.split('\n')[0];
  }
  for (const n of o.sizes) {
    if (wantEmbedded) {
      if (n > o.maxFileRows) {
        process.stderr.write(`[bench] ${n} rows: above --max-file-rows ${o.maxFileRows}, the embedded steps and anchors are skipped\n`);
      } else {
        for (const data of o.data) await embedded(data, n, o.only);
      }
    }
    if (wantKafka) await onKafka(n, o);
  }
  const loadAfter = loadavg();
  const machine = {
    date: started.toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGB: Math.round(totalmem() / 1e9),
    loadAverageBefore: loadBefore.map((x) => Number(x.toFixed(2))),
    loadAverageAfter: loadAfter.map((x) => Number(x.toFixed(2))),
    node: process.version,
    kafka: '4.4.0 (infra/local/pom.xml)',
    ...versions,
  };
  const md = [
    `vgmflow bench, ${machine.date}: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB; load average (1/5/15 min) ` +
      `${machine.loadAverageBefore.join(' / ')} at the start, ${machine.loadAverageAfter.join(' / ')} at the end; node ${machine.node}` +
      (versions.sklearn ? `, scikit-learn ${versions.sklearn}, numpy ${versions.numpy} (${versions.blas})` : '') +
      (versions.java ? `, ${versions.java}, Kafka ${machine.kafka}` : ''),
    '',
    table(),
    '',
    growth(),
    '',
    failures.length === 0 ? 'All correctness checks hold.' : `FAILED checks:\n${failures.map((f) => `- ${f}`).join('\n')}`,
    '',
  ].join('\n');
  writeFileSync(join(o.out, 'results.md'), md);
  writeFileSync(join(o.out, 'results.json'), JSON.stringify({ machine, options: o, rows, failures }, null, 2) + '\n');
  rmSync(scratch, { recursive: true, force: true });
  process.stdout.write(md);
  process.stdout.write(`\n(written to ${join(o.out, 'results.md')} and results.json)\n`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

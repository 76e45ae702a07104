/**
 * The distributed fit on Kafka, run as users run it: `vgmflow produce`, then each stage as its
 * own process (`vgmflow stage ingest|stats|reduce`) and `vgmflow fit --brokers …`, all as child
 * processes of the built CLI (dist/, rebuilt first when stale). The reference is the embedded
 * fit of the same file (`vgmflow fit file.csv`: the same stages over in-memory topics, the same
 * partitioning), or scikit-learn's golden fixture.
 *
 * Every test uses topic prefixes and consumer groups of its own (uniqueName), so runs and other
 * users of the stack do not meet. (The stages' default groups are per prefix too,
 * vgmflow-<prefix>-<stage>: kafkajs's assigner only hands out the leader's topics, so two
 * pipelines sharing a group would starve each other.)
 *
 * Set KEEP_KAFKA_FIT_LOGS=1 to keep the temp dir with every child's log.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { logLevel } from 'kafkajs';
import { readTopicToEnd } from '../../pipeline/runners/read-topic';
import { parseModel } from '../../core/normalization/model-validate';
import { serializeModel, type ColumnModel, type MixtureJson, type TransformerModel } from '../../core/normalization/model';
import { deadLetterCodec, type DeadLetterRecord } from '../../topics/dead-letter';
import { broadcastCodec, partialCodec } from '../../topics/fit-messages';
import { KafkaTransport } from '../../topics/kafka';
import { modelRecordCodec } from '../../topics/model-record';
import { topicNames, topicSpecs } from '../../topics/topology';
import { SUMMARY_SHARDS } from '../../core/normalization/value-shard';
import { MessageBlocks } from '../../core/csv/message-layout';
import { expectAllClose, maxRelativeError } from '../support/close-to';
import { ensureCliBuilt, Processes, ROOT, waitUntil, type Child } from '../support/processes';
import { FIXTURE_DIR, type SklearnFixture } from '../support/sklearn-fixtures';
import { stackConfig, uniqueName } from '../support/stack';

jest.setTimeout(240_000);

const SAMPLE = join(ROOT, 'assets', 'card-transactions.csv');
const COLUMNS = 'Amount:continuous,Tip:mixed(0),Network:categorical,Merchant:categorical';
const PARTITIONS = 6;
/** Rows of the sample the model tests fit (the dead-letter test takes fewer). */
const SLICE_ROWS = 3000;
/**
 * The slice (about 80 KB) in messages of up to 2 KB, so that its rows spread over all six
 * partitions as a large file's do with the default 1 MiB (which would put the slice in one).
 */
const SLICE_LAYOUT = ['--max-message-bytes', '2048'];
const RTOL = 1e-12;

let tmp = '';
let brokers = '';
/** The sample's first SLICE_ROWS rows, and its embedded model (shared by several tests). */
let slice = '';
let embeddedSlice: { model: TransformerModel; text: string } | null = null;
const findings: string[] = [];
const note = (line: string): void => {
  findings.push(line);
};
/** A test failed: keep the temp dir with the children's logs. */
let failed = false;
function tracked(body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (err) {
      failed = true;
      throw err;
    }
  };
}

// ---------------------------------------------------------------------------------------
// Files, processes and topics.

function sampleLines(rows: number): string[] {
  const lines = readFileSync(SAMPLE, 'utf8').split('\n');
  return lines.slice(0, rows + 1);
}

function writeCsv(name: string, lines: readonly string[]): string {
  const path = join(tmp, name);
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
  return path;
}

const kafkaArgs = (prefix: string): string[] => ['--brokers', brokers, '--topic-prefix', prefix];

function transport(): KafkaTransport {
  return new KafkaTransport({ brokers: stackConfig().kafkaBrokers, clientId: uniqueName('kafka-fit-test'), logLevel: logLevel.ERROR });
}

async function withTransport<T>(work: (t: KafkaTransport) => Promise<T>): Promise<T> {
  const t = transport();
  try {
    return await work(t);
  } finally {
    await t.close();
  }
}

/** `vgmflow produce` with its defaults; returns the rows and messages it reports. */
async function produceCounts(procs: Processes, prefix: string, file: string, layout: readonly string[] = []): Promise<{ rows: number; messages: number }> {
  const child = procs.spawn('produce', ['produce', file, ...kafkaArgs(prefix), ...layout]);
  await child.succeeded(60_000);
  const m = /produced (\d+) rows in (\d+) messages/.exec(child.stderr);
  if (m === null) throw new Error(`no row count in the output of produce\n${child.describe()}`);
  return { rows: Number(m[1]), messages: Number(m[2]) };
}

/** `vgmflow produce`; returns the rows it reports. */
async function produce(procs: Processes, prefix: string, file: string, layout: readonly string[] = []): Promise<number> {
  return (await produceCounts(procs, prefix, file, layout)).rows;
}

interface Groups {
  readonly ingest: string;
  readonly stats: string;
}

function newGroups(prefix: string): Groups {
  return { ingest: `${prefix}-ingest`, stats: `${prefix}-stats` };
}

function startIngest(procs: Processes, prefix: string, groups: Groups, columns = COLUMNS): Child {
  return procs.spawn('ingest', ['stage', 'ingest', ...kafkaArgs(prefix), '--columns', columns, '--group', groups.ingest]);
}

function startStats(procs: Processes, prefix: string, group: string, workerId: string): Child {
  return procs.spawn(workerId, ['stage', 'stats', ...kafkaArgs(prefix), '--group', group, '--worker-id', workerId]);
}

function startReduce(procs: Processes, prefix: string): Child {
  return procs.spawn('reduce', ['stage', 'reduce', ...kafkaArgs(prefix)]);
}

interface FitRun {
  readonly job: string;
  readonly modelPath: string;
  readonly child: Child;
}

function startFit(procs: Processes, prefix: string, groups: Groups, job: string, extra: readonly string[] = [], columns = COLUMNS): FitRun {
  const modelPath = join(tmp, `${job}.json`);
  const child = procs.spawn(`fit-${job}`, [
    'fit',
    ...kafkaArgs(prefix),
    '--columns',
    columns,
    '--job',
    job,
    '--model',
    modelPath,
    '--group',
    groups.ingest,
    ...extra,
  ]);
  return { job, modelPath, child };
}

/** Waits for the fit to exit 0 and returns its model (from the file it wrote) and timings. */
async function finishFit(run: FitRun, procs: Processes, timeoutMs = 180_000): Promise<{ model: TransformerModel; text: string; rounds: number; seconds: number }> {
  try {
    await run.child.succeeded(timeoutMs);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- the other processes:\n${procs.describe(25)}`);
  }
  const done = /job \S+: done in ([\d.]+) s, (\d+) rounds/.exec(run.child.stderr);
  if (done === null) throw new Error(`the fit did not report its rounds\n${run.child.describe()}`);
  const text = readFileSync(run.modelPath, 'utf8');
  return { model: parseModel(text, run.modelPath), text, rounds: Number(done[2]), seconds: Number(done[1]) };
}

/** What a stats worker said it owns last (`reads partitions …` or `owns value shards …`), or null before its first assignment. */
function ownedBy(worker: Child, what: 'reads partitions' | 'owns value shards'): number[] | null {
  const all = [...worker.stderr.matchAll(new RegExp(`${what} ([\\d,]+|\\(none\\))`, 'g'))];
  const last = all[all.length - 1];
  if (last === undefined) return null;
  return last[1] === '(none)' ? [] : last[1].split(',').map(Number);
}

/** Whether the lists cover 0..total-1 exactly once, as evenly as the count allows. */
function evenSplit(lists: readonly (number[] | null)[], total: number): boolean {
  if (lists.some((l) => l === null)) return false;
  const flat = (lists as number[][]).flat();
  const sizes = (lists as number[][]).map((l) => l.length);
  return new Set(flat).size === total && flat.length === total && Math.max(...sizes) - Math.min(...sizes) <= 1;
}

/** Waits until the live workers share the input partitions and the value shards evenly (one consistent generation). */
async function waitForSplit(workers: readonly Child[], timeoutMs = 60_000): Promise<void> {
  await waitUntil(
    () =>
      evenSplit(workers.map((w) => ownedBy(w, 'reads partitions')), PARTITIONS) &&
      evenSplit(workers.map((w) => ownedBy(w, 'owns value shards')), SUMMARY_SHARDS),
    `${workers.length} stats workers to share ${PARTITIONS} partitions and ${SUMMARY_SHARDS} value shards`,
    timeoutMs,
    () => workers.map((w) => w.describe(10)).join(''),
  );
}

/** The embedded fit of `file` by the CLI. */
async function embeddedFit(procs: Processes, file: string, extra: readonly string[] = [], columns = COLUMNS): Promise<{ model: TransformerModel; text: string; stderr: string }> {
  const modelPath = join(tmp, `embedded-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const child = procs.spawn('embedded-fit', ['fit', file, '--model', modelPath, '--columns', columns, ...extra]);
  await child.succeeded(120_000);
  const text = readFileSync(modelPath, 'utf8');
  return { model: parseModel(text, modelPath), text, stderr: child.stderr };
}

async function embeddedSliceModel(procs: Processes): Promise<{ model: TransformerModel; text: string }> {
  embeddedSlice ??= await embeddedFit(procs, slice);
  return embeddedSlice;
}

interface PartialCount {
  /** Partial messages of the job on <prefix>.stats. */
  readonly total: number;
  /** Distinct (round, shard) keys. */
  readonly distinct: number;
  /** Highest round answered; rounds 0..maxRound ran. */
  readonly maxRound: number;
  /** Value shards answered per round. */
  readonly shardsOfRound: Map<number, Set<number>>;
  readonly byWorker: Map<string, number>;
}

async function countPartials(prefix: string, job: string): Promise<PartialCount> {
  const records = await withTransport((t) => readTopicToEnd(t, topicNames(prefix).stats));
  const keys = new Set<string>();
  const shardsOfRound = new Map<number, Set<number>>();
  const byWorker = new Map<string, number>();
  let total = 0;
  let maxRound = -1;
  for (const r of records) {
    const p = partialCodec.decode(r.value);
    if (p.job !== job) continue;
    total++;
    keys.add(`${p.round}/${p.shard}`);
    maxRound = Math.max(maxRound, p.round);
    const set = shardsOfRound.get(p.round) ?? new Set<number>();
    set.add(p.shard);
    shardsOfRound.set(p.round, set);
    byWorker.set(p.worker, (byWorker.get(p.worker) ?? 0) + 1);
  }
  return { total, distinct: keys.size, maxRound, shardsOfRound, byWorker };
}

/** Every round 0..maxRound answered for every value shard, exactly once per key. */
function expectEveryRoundAnswered(c: PartialCount): void {
  expect(c.maxRound).toBeGreaterThan(10);
  expect(c.distinct).toBe((c.maxRound + 1) * SUMMARY_SHARDS);
  for (let round = 0; round <= c.maxRound; round++) expect(c.shardsOfRound.get(round)?.size).toBe(SUMMARY_SHARDS);
}

const describeCount = (c: PartialCount): string =>
  `${c.total} partial messages for ${c.maxRound + 1} rounds x ${SUMMARY_SHARDS} shards = ${c.distinct} distinct (${c.total - c.distinct} duplicates); by worker ${JSON.stringify(Object.fromEntries(c.byWorker))}`;

// ---------------------------------------------------------------------------------------
// Model comparison.

function closeArrays(problems: string[], what: string, actual: readonly number[], expected: readonly number[], rtol: number): void {
  if (actual.length !== expected.length) {
    problems.push(`${what}: length ${actual.length}, expected ${expected.length}`);
    return;
  }
  const err = maxRelativeError(actual, expected, 1e-300);
  if (!(err <= rtol)) problems.push(`${what}: max relative error ${err} > ${rtol}\n  actual   ${actual.join(', ')}\n  expected ${expected.join(', ')}`);
}

function same(problems: string[], what: string, actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${what}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

function compareMixtures(problems: string[], what: string, a: MixtureJson, e: MixtureJson, rtol: number): void {
  closeArrays(problems, `${what}.weights`, a.weights, e.weights, rtol);
  closeArrays(problems, `${what}.means`, a.means, e.means, rtol);
  closeArrays(problems, `${what}.variances`, a.variances, e.variances, rtol);
  if (a.lowerBound === null || e.lowerBound === null) same(problems, `${what}.lowerBound`, a.lowerBound, e.lowerBound);
  else closeArrays(problems, `${what}.lowerBound`, [a.lowerBound], [e.lowerBound], rtol);
  same(problems, `${what}.nIter`, a.nIter, e.nIter);
  same(problems, `${what}.converged`, a.converged, e.converged);
  same(problems, `${what}.posterior.priorType`, a.posterior.priorType, e.posterior.priorType);
  closeArrays(problems, `${what}.posterior.weightConcentrationA`, a.posterior.weightConcentrationA, e.posterior.weightConcentrationA, rtol);
  closeArrays(problems, `${what}.posterior.weightConcentrationB`, a.posterior.weightConcentrationB, e.posterior.weightConcentrationB, rtol);
  closeArrays(problems, `${what}.posterior.meanPrecision`, a.posterior.meanPrecision, e.posterior.meanPrecision, rtol);
  closeArrays(problems, `${what}.posterior.degreesOfFreedom`, a.posterior.degreesOfFreedom, e.posterior.degreesOfFreedom, rtol);
  closeArrays(problems, `${what}.posterior.precisionsCholesky`, a.posterior.precisionsCholesky, e.posterior.precisionsCholesky, rtol);
  closeArrays(problems, `${what}.initialMeans`, a.initialMeans, e.initialMeans, rtol);
}

function compareColumns(problems: string[], a: ColumnModel, e: ColumnModel, rtol: number): void {
  const what = `column ${e.name}`;
  same(problems, `${what}: name and type`, [a.name, a.type], [e.name, e.type]);
  if (a.type === 'categorical' && e.type === 'categorical') {
    same(problems, `${what}.categories`, a.categories, e.categories);
    same(problems, `${what}.counts`, a.counts, e.counts);
    return;
  }
  if (a.type === 'categorical' || e.type === 'categorical') return;
  same(problems, `${what}: count, min, max`, [a.count, a.min, a.max], [e.count, e.min, e.max]);
  compareMixtures(problems, `${what}.mixture`, a.mixture, e.mixture, rtol);
  same(problems, `${what}.argmaxCounts`, a.argmaxCounts, e.argmaxCounts);
  same(problems, `${what}.modes`, a.modes, e.modes);
  if (a.type === 'mixed' && e.type === 'mixed') {
    same(problems, `${what}.modalValues`, a.modalValues, e.modalValues);
    same(problems, `${what}.modalCounts`, a.modalCounts, e.modalCounts);
    closeArrays(problems, `${what}.modalAlphas`, a.modalAlphas, e.modalAlphas, rtol);
    compareMixtures(problems, `${what}.modalMixture`, a.modalMixture, e.modalMixture, rtol);
  }
}

/** Asserts the models equal to `rtol` (counts, modes and categories exactly); returns whether they are byte-identical. */
function expectSameModel(actual: TransformerModel, expected: TransformerModel, rtol = RTOL): boolean {
  const problems: string[] = [];
  same(problems, 'rows', actual.rows, expected.rows);
  same(problems, 'options', actual.options, expected.options);
  same(problems, 'columns', actual.columns.map((c) => c.name), expected.columns.map((c) => c.name));
  expected.columns.forEach((e, i) => {
    const a = actual.columns[i];
    if (a !== undefined) compareColumns(problems, a, e, rtol);
  });
  expect(problems).toEqual([]);
  return serializeModel(actual) === serializeModel(expected);
}

// ---------------------------------------------------------------------------------------

beforeAll(() => {
  ensureCliBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'vgmflow-kafka-fit-'));
  brokers = stackConfig().kafkaBrokers.join(',');
  slice = writeCsv('slice.csv', sampleLines(SLICE_ROWS));
});

afterAll(() => {
  if (findings.length > 0) console.log(`kafka-fit findings:\n${findings.map((f) => `  ${f}`).join('\n')}`);
  if (failed || process.env.KEEP_KAFKA_FIT_LOGS) console.log(`logs of every child process kept in ${tmp}`);
  else if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

describe('a fit on Kafka equals the embedded fit of the same file', () => {
  let procs: Processes;
  beforeAll(() => {
    procs = new Processes({ cwd: tmp, logDir: join(tmp, 'equal') });
  });
  afterEach(async () => {
    await procs.killAll();
  });

  test('with 1, then 2, then 3 stats worker processes (one ingest, one reduce; three jobs on one prefix)', tracked(async () => {
    const prefix = uniqueName('kfit-scale');
    const groups = newGroups(prefix);
    expect(await produce(procs, prefix, slice, SLICE_LAYOUT)).toBe(SLICE_ROWS);
    startIngest(procs, prefix, groups);
    startReduce(procs, prefix);
    const expected = await embeddedSliceModel(procs);
    const workers: Child[] = [];
    for (let n = 1; n <= 3; n++) {
      workers.push(startStats(procs, prefix, groups.stats, `w${n}`));
      await waitForSplit(workers);
      const started = Date.now();
      const fit = await finishFit(startFit(procs, prefix, groups, `${prefix}-workers-${n}`), procs);
      const identical = expectSameModel(fit.model, expected.model);
      note(`${n} stats worker(s): ${fit.rounds} rounds, fit ${fit.seconds} s (${((Date.now() - started) / 1000).toFixed(1)} s with process start), model equal to the embedded one to rtol ${RTOL}; byte-identical: ${identical}`);
    }
    // Each worker took part in the last job (2 partitions each).
    const last = await countPartials(prefix, `${prefix}-workers-3`);
    expectEveryRoundAnswered(last);
    expect([...last.byWorker.keys()].sort()).toEqual(['w1', 'w2', 'w3']);
  }));

  test('from a golden fixture\'s initial means, the Kafka fit is scikit-learn\'s (bimodal_outliers, 2 stats workers)', tracked(async () => {
    const f = JSON.parse(readFileSync(join(FIXTURE_DIR, 'bimodal_outliers.json'), 'utf8')) as SklearnFixture;
    const input = writeCsv('bimodal_outliers.csv', ['x', ...f.data.map((v) => String(v))]);
    const init = join(tmp, 'bimodal_outliers-init.json');
    writeFileSync(init, JSON.stringify({ x: f.init_means }));
    const prefix = uniqueName('kfit-sklearn');
    const groups = newGroups(prefix);
    expect(await produce(procs, prefix, input)).toBe(f.data.length);
    startIngest(procs, prefix, groups, 'x:continuous');
    startReduce(procs, prefix);
    const workers = [startStats(procs, prefix, groups.stats, 'w1'), startStats(procs, prefix, groups.stats, 'w2')];
    await waitForSplit(workers);
    const fit = await finishFit(startFit(procs, prefix, groups, `${prefix}-job`, ['--init-means', init], 'x:continuous'), procs);

    expect(fit.model.rows).toBe(f.data.length);
    const column = fit.model.columns[0];
    if (column?.type !== 'continuous') throw new Error('expected one continuous column');
    const m = column.mixture;
    const e = f.expected;
    expectAllClose(m.weights, e.weights, 1e-9, 'weights', 1e-300);
    expectAllClose(m.means, e.means, 1e-9, 'means', 1e-300);
    expectAllClose(m.variances, e.variances, 1e-9, 'variances');
    expect(m.lowerBound).not.toBeNull();
    expectAllClose([m.lowerBound ?? NaN], [e.lower_bound], 1e-9, 'lower bound');
    expect(m.nIter).toBe(e.n_iter);
    expect(m.converged).toBe(e.converged);
    expect(m.initialMeans).toEqual(f.init_means);
    note(`bimodal_outliers on Kafka: ${fit.rounds} rounds, nIter ${m.nIter}, lower bound rel. error ${maxRelativeError([m.lowerBound ?? NaN], [e.lower_bound])}`);
  }));
});

describe('a binned fit (high-cardinality column past --max-bins) on Kafka equals the embedded one', () => {
  let procs: Processes;
  beforeAll(() => {
    procs = new Processes({ cwd: tmp, logDir: join(tmp, 'binned') });
  });
  afterEach(async () => {
    await procs.killAll();
  });

  test('bimodal_outliers (4998 distinct values) with --max-bins 3500 from k-means and from initial means, and forced binned, 2 stats workers: the embedded fit\'s bytes (2 parse threads)', tracked(async () => {
    const f = JSON.parse(readFileSync(join(FIXTURE_DIR, 'bimodal_outliers.json'), 'utf8')) as SklearnFixture;
    const input = writeCsv('binned.csv', ['x', ...f.data.map((v) => String(v))]);
    const init = join(tmp, 'binned-init.json');
    writeFileSync(init, JSON.stringify({ x: f.init_means }));
    const prefix = uniqueName('kfit-binned');
    const groups = newGroups(prefix);
    expect(await produce(procs, prefix, input)).toBe(f.data.length);
    startIngest(procs, prefix, groups, 'x:continuous');
    startReduce(procs, prefix);
    const workers = [startStats(procs, prefix, groups.stats, 'w1'), startStats(procs, prefix, groups.stats, 'w2')];
    await waitForSplit(workers);
    const cases = [['--max-bins', '3500'], ['--max-bins', '3500', '--init-means', init], ['--summary', 'binned', '--bin-bits', '13', '--init-means', init]];
    for (const [i, extra] of cases.entries()) {
      // The streaming embedded fit, its blocks parsed and summarised on 2 threads.
      const expected = await embeddedFit(procs, input, [...extra, '--stats-threads', '2'], 'x:continuous');
      const fit = await finishFit(startFit(procs, prefix, groups, `${prefix}-${i}`, extra, 'x:continuous'), procs);
      const column = fit.model.columns[0];
      if (column?.type !== 'continuous' || column.summary?.kind !== 'binned') throw new Error(`expected a binned continuous column, got ${JSON.stringify(fit.model.columns[0])}`);
      if (extra[0] === '--max-bins') expect(column.summary.points).toBeLessThanOrEqual(3500);
      else expect(column.summary.bits).toBe(13);
      expect(fit.text).toBe(expected.text);
      note(`binned on Kafka (${extra.join(' ')}): ${column.summary.points} bins of ${column.summary.bits} bits, ${fit.rounds} rounds, byte-identical to the embedded fit`);
    }
  }));
});

describe('fault tolerance: the model is unchanged when stages are SIGKILLed mid-fit and restarted', () => {
  let shared: Processes;
  let procs: Processes;
  const prefix = uniqueName('kfit-faults');
  const groups = newGroups(prefix);
  let expected: TransformerModel;

  beforeAll(async () => {
    shared = new Processes({ cwd: tmp, logDir: join(tmp, 'faults-shared') });
    procs = new Processes({ cwd: tmp, logDir: join(tmp, 'faults') });
    expect(await produce(shared, prefix, slice, SLICE_LAYOUT)).toBe(SLICE_ROWS);
    // One ingest process for the three jobs below (each test has its own stats group and reducer).
    startIngest(shared, prefix, groups);
    expected = (await embeddedSliceModel(shared)).model;
  });
  afterEach(async () => {
    await procs.killAll();
  });
  afterAll(async () => {
    await procs.killAll();
    await shared.killAll();
  });

  test('a stats worker SIGKILLed at round 10 and restarted with the same id', tracked(async () => {
    const stats = `${groups.stats}-worker-kill`;
    const job = `${prefix}-worker-kill`;
    startReduce(procs, prefix);
    const w1 = startStats(procs, prefix, stats, 'w1');
    const w2 = startStats(procs, prefix, stats, 'w2');
    await waitForSplit([w1, w2]);
    const run = startFit(procs, prefix, groups, job);
    await run.child.waitFor(/^round 10 /m, { timeoutMs: 120_000 });
    const killedAt = Date.now();
    expect(await w1.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    // A new process with the same worker id joins at once; the dead member holds its partitions
    // until its session times out (10 s), then the two live workers share them.
    const w1again = startStats(procs, prefix, stats, 'w1');
    await waitForSplit([w1again, w2]);
    const fit = await finishFit(run, procs);
    const identical = expectSameModel(fit.model, expected);

    // The restarted worker rebuilt its partitions' summaries and its shards' and answered rounds.
    for (const p of ownedBy(w1again, 'reads partitions') ?? []) expect(w1again.stderr).toMatch(new RegExp(`partition ${p}: summary complete`));
    for (const s of ownedBy(w1again, 'owns value shards') ?? []) expect(w1again.stderr).toMatch(new RegExp(`value shard ${s}: summary complete`));
    const count = await countPartials(prefix, job);
    expectEveryRoundAnswered(count);
    expect(count.total).toBeGreaterThanOrEqual(count.distinct);
    note(`stats worker SIGKILL at round 10: model equal (byte-identical: ${identical}); fit ${fit.seconds} s, ${((Date.now() - killedAt) / 1000).toFixed(1)} s from the kill; ${describeCount(count)}`);
  }));

  test('the reducer SIGKILLed at round 25 and restarted', tracked(async () => {
    const stats = `${groups.stats}-reducer-kill`;
    const job = `${prefix}-reducer-kill`;
    const reduce = startReduce(procs, prefix);
    const workers = [startStats(procs, prefix, stats, 'w1'), startStats(procs, prefix, stats, 'w2')];
    await waitForSplit(workers);
    const run = startFit(procs, prefix, groups, job);
    await run.child.waitFor(/^round 25 /m, { timeoutMs: 120_000 });
    const killedAt = Date.now();
    expect(await reduce.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const modelsBefore = await modelRecords(prefix);
    // The new reducer replays the stats topic (this job's partials and the earlier job's) and
    // the params topic, then goes on from the last round.
    const again = startReduce(procs, prefix);
    const fit = await finishFit(run, procs);
    const identical = expectSameModel(fit.model, expected);
    expect(again.stderr).toMatch(new RegExp(`job ${job}: model default published`));
    const count = await countPartials(prefix, job);
    expectEveryRoundAnswered(count);
    const modelsAfter = await modelRecords(prefix);
    note(
      `reducer SIGKILL at round 25: model equal (byte-identical: ${identical}); fit ${fit.seconds} s, ${((Date.now() - killedAt) / 1000).toFixed(1)} s from the kill; ${describeCount(count)}; ` +
        `models topic before the restart ${JSON.stringify(modelsBefore)}, after ${JSON.stringify(modelsAfter)}`,
    );
  }));

  test('a fit interrupted (SIGINT) at round 10 ends its job as failed, and the next job on the same stages is unaffected', tracked(async () => {
    const stats = `${groups.stats}-interrupt`;
    const first = `${prefix}-interrupted`;
    const second = `${prefix}-after-interrupt`;
    startReduce(procs, prefix);
    const workers = [startStats(procs, prefix, stats, 'w1'), startStats(procs, prefix, stats, 'w2')];
    await waitForSplit(workers);
    const run = startFit(procs, prefix, groups, first);
    await run.child.waitFor(/^round 10 /m, { timeoutMs: 120_000 });
    expect(await run.child.kill('SIGINT')).toEqual({ code: 130, signal: null });
    expect(run.child.stderr).toMatch(new RegExp(`interrupted: job ${first} is marked failed on ${prefix}\\.params`));

    const fit = await finishFit(startFit(procs, prefix, groups, second), procs);
    const identical = expectSameModel(fit.model, expected);
    for (const w of workers) expect(w.running).toBe(true);
    // The cancelled job's last word on params is its failure, so no stage takes it up again.
    // (A round the reducer had under way may follow the cancellation; the reducer then repeats
    // the failure, and it has, since it went on to the job submitted after it.)
    const broadcasts = await withTransport((t) => readTopicToEnd(t, topicNames(prefix).params));
    const statuses = broadcasts.filter((r) => r.key === first).map((r) => broadcastCodec.decode(r.value));
    expect(statuses[statuses.length - 1]).toMatchObject({ status: 'failed', error: 'cancelled: its fit command was interrupted' });
    note(`fit SIGINT at round 10: exit 130, job marked failed; the next job's model equal (byte-identical: ${identical}), ${fit.rounds} rounds in ${fit.seconds} s`);
  }));

  test('a stats worker SIGKILLed and restarted while no reducer runs: its recomputed partials are duplicates, ignored', tracked(async () => {
    const stats = `${groups.stats}-duplicates`;
    const job = `${prefix}-duplicates`;
    const reduce = startReduce(procs, prefix);
    const w1 = startStats(procs, prefix, stats, 'w1');
    const w2 = startStats(procs, prefix, stats, 'w2');
    await waitForSplit([w1, w2]);
    const run = startFit(procs, prefix, groups, job);
    await run.child.waitFor(/^round 15 /m, { timeoutMs: 120_000 });
    await reduce.kill('SIGKILL');
    // With the reducer gone the job stays at its last broadcast round R; the workers answer R
    // for all value shards.
    let stalled = -1;
    await waitUntil(
      async () => {
        const c = await countPartials(prefix, job);
        stalled = c.maxRound;
        return c.shardsOfRound.get(c.maxRound)?.size === SUMMARY_SHARDS;
      },
      'every value shard to answer the last round broadcast before the reducer died',
      60_000,
    );
    // w1 answered round R for its shards and dies; a new w1 rebuilds its partitions and shards and
    // (knowing nothing of what is on the stats topic) answers R again.
    await w1.kill('SIGKILL');
    const w1again = startStats(procs, prefix, stats, 'w1');
    await waitForSplit([w1again, w2]);
    await waitUntil(
      async () => {
        const c = await countPartials(prefix, job);
        return (c.shardsOfRound.get(stalled)?.size ?? 0) === SUMMARY_SHARDS && c.total > c.distinct;
      },
      `recomputed partials of round ${stalled}`,
      60_000,
      () => w1again.describe(15),
    );
    const beforeRestart = await countPartials(prefix, job);
    expect(beforeRestart.maxRound).toBe(stalled);
    startReduce(procs, prefix);
    const fit = await finishFit(run, procs);
    const identical = expectSameModel(fit.model, expected);
    const count = await countPartials(prefix, job);
    expectEveryRoundAnswered(count);
    // More partials than rounds x partitions: the duplicates were there, and the model is still equal.
    expect(count.total).toBeGreaterThan((count.maxRound + 1) * PARTITIONS);
    note(`worker SIGKILL while the reducer was down (round ${stalled}): model equal (byte-identical: ${identical}); ${describeCount(count)}`);
  }));
});

/** Job ids of the records on <prefix>.models, in order. */
async function modelRecords(prefix: string): Promise<string[]> {
  const records = await withTransport((t) => readTopicToEnd(t, topicNames(prefix).models));
  return records.map((r) => modelRecordCodec.decode(r.value, `${topicNames(prefix).models}@${r.offset}`).job);
}

// ---------------------------------------------------------------------------------------

describe('dead letters on Kafka', () => {
  let procs: Processes;
  beforeAll(() => {
    procs = new Processes({ cwd: tmp, logDir: join(tmp, 'dead-letters') });
  });
  afterEach(async () => {
    await procs.killAll();
  });

  /** A malformed record and what its dead letter must say. */
  interface Bad {
    readonly raw: Buffer;
    readonly reason: RegExp;
    readonly column?: string;
  }

  test('every malformed row lands on <prefix>.dlq with its reason; rows in = rows fitted + rows dead-lettered', tracked(async () => {
    const good = sampleLines(1500).slice(1);
    const header = sampleLines(0)[0] ?? '';
    // Bad records that `vgmflow produce` carries faithfully, placed among the good rows.
    const inFile: Bad[] = [
      { raw: Buffer.from('1,2,3'), reason: /^expected 4 fields, got 3$/ },
      { raw: Buffer.from('725,183,mastercard,5814,extra'), reason: /^expected 4 fields, got 5$/ },
      { raw: Buffer.from('abc,0,visa,5812'), reason: /column Amount: "abc" is not a finite number/, column: 'Amount' },
      { raw: Buffer.from('100,12x,visa,5812'), reason: /column Tip: "12x" is not a finite number/, column: 'Tip' },
      { raw: Buffer.from('NaN,0,visa,5812'), reason: /column Amount: "NaN" is not a finite number/, column: 'Amount' },
      { raw: Buffer.from('Infinity,0,visa,5812'), reason: /column Amount: "Infinity" is not a finite number/, column: 'Amount' },
      { raw: Buffer.from('100,-Infinity,visa,5812'), reason: /column Tip: "-Infinity" is not a finite number/, column: 'Tip' },
      { raw: Buffer.from('1e999,0,visa,5812'), reason: /column Amount: "1e999" is not a finite number/, column: 'Amount' },
    ];
    // The unterminated quote goes on the file's last line: the file reader (like any CSV
    // reader) takes a quoted field to run on across line ends until its closing quote, so in
    // the middle of the file it would swallow the lines after it into one record and the
    // expected counts would depend on where the next quote is. On the last line it is exactly
    // one malformed record.
    // (Its reason names the line within its message, checked below.)
    const lastLine: Bad = { raw: Buffer.from('100,0,"visa,5812'), reason: /^unterminated quoted field opened on line \d+$/ };
    // Two malformed records written straight to <prefix>.rows by another producer (as any
    // client may), as the next messages in the produce order: invalid UTF-8 and a >1 MiB
    // record. (`vgmflow produce` carries them too; see the produce tests below.)
    const direct: Bad[] = [
      { raw: Buffer.concat([Buffer.from('100,0,vi'), Buffer.from([0xff, 0xfe]), Buffer.from('sa,5812')]), reason: /^invalid UTF-8 on line 1 at byte 9 of the line \(0xff\)$/ },
      { raw: Buffer.from(`100,0,visa,${'9'.repeat(1_100_000)}`), reason: /^record exceeds maxRecordBytes \(1048576\)/ },
    ];

    // Bad records every 150 good rows, each expected at `message:line`: produce puts whole
    // records in messages of up to 1 MiB (MessageBlocks), one line each here.
    const records: Buffer[] = [];
    const badAt = new Map<number, Bad>();
    let g = 0;
    for (const bad of inFile) {
      for (let k = 0; k < 150; k++) records.push(Buffer.from(good[g++] ?? ''));
      badAt.set(records.length, bad);
      records.push(bad.raw);
    }
    while (g < good.length) records.push(Buffer.from(good[g++] ?? ''));
    badAt.set(records.length, lastLine);
    records.push(lastLine.raw);
    const blocks = new MessageBlocks();
    const expectedAt = new Map<string, Bad>();
    records.forEach((r, i) => {
      blocks.place(r.length);
      const bad = badAt.get(i);
      if (bad !== undefined) expectedAt.set(`${blocks.message}:${blocks.rowInMessage + 1}`, bad);
    });
    const input = join(tmp, 'dead-letters.csv');
    writeFileSync(input, Buffer.concat([Buffer.from(`${header}\n`), ...records.flatMap((r, i) => (i === records.length - 1 ? [r] : [r, Buffer.from('\n')]))]));

    const prefix = uniqueName('kfit-dlq');
    const topics = topicNames(prefix);
    const groups = newGroups(prefix);
    await withTransport((t) => t.ensureTopics(topicSpecs(topics, PARTITIONS).map((s) => (s.name === topics.rows ? { ...s, config: { ...s.config, 'max.message.bytes': String(4 * 1024 * 1024) } } : s))));
    const produced = await produceCounts(procs, prefix, input);
    expect(produced).toEqual({ rows: records.length, messages: blocks.messages });
    await withTransport(async (t) => {
      const producer = await t.producer();
      try {
        await producer.send(direct.map((d, i) => ({ topic: topics.rows, partition: (produced.messages + i) % PARTITIONS, key: null, value: d.raw })));
      } finally {
        await producer.close();
      }
    });
    direct.forEach((d, i) => expectedAt.set(`${produced.messages + i}:1`, d));
    const rowsIn = produced.rows + direct.length;

    startIngest(procs, prefix, groups);
    startReduce(procs, prefix);
    startStats(procs, prefix, groups.stats, 'w1');
    startStats(procs, prefix, groups.stats, 'w2');
    const fit = await finishFit(startFit(procs, prefix, groups, `${prefix}-job`), procs);

    const letters: DeadLetterRecord[] = (await withTransport((t) => readTopicToEnd(t, topics.deadLetters))).map((r) => deadLetterCodec.decode(r.value));
    const located = new Map<string, DeadLetterRecord>();
    for (const d of letters) {
      // Message j of the produce order is at partition j mod P, offset floor(j / P).
      const at = `${d.offset * PARTITIONS + d.partition}:${d.line}`;
      expect(located.has(at)).toBe(false);
      located.set(at, d);
    }
    expect([...located.keys()].sort()).toEqual([...expectedAt.keys()].sort());
    for (const [at, bad] of expectedAt) {
      const d = located.get(at);
      if (d === undefined) continue;
      expect({ at, topic: d.topic, column: d.column, reason: d.reason }).toEqual({
        at,
        topic: topics.rows,
        column: bad.column,
        reason: expect.stringMatching(bad.reason) as unknown as string,
      });
      if (bad === lastLine) expect(d.reason).toBe(`unterminated quoted field opened on line ${d.line}`);
      if (bad.raw.length < 1000) expect(d.raw).toBe(bad.raw.toString('utf8'));
      else expect(d.reason).toMatch(/raw text cut to 65536 of \d+ bytes/);
    }
    const rowsDeadLettered = letters.length;
    expect(rowsDeadLettered).toBe(inFile.length + 1 + direct.length);
    expect(fit.model.rows).toBe(good.length);
    expect(fit.model.rows + rowsDeadLettered).toBe(rowsIn);

    // The rejected rows change nothing else: the model is the embedded fit's of the same file
    // (whose own dead letters are the file's bad records).
    const embedded = await embeddedFit(procs, input, ['--dead-letter', join(tmp, 'dead-letters-embedded.csv')]);
    expect(embedded.stderr).toMatch(new RegExp(`fit ${good.length} rows \\(${inFile.length + 1} dead-lettered\\)`));
    const identical = expectSameModel(fit.model, embedded.model);
    note(`dead letters: ${rowsIn} rows in = ${fit.model.rows} fitted + ${rowsDeadLettered} dead-lettered; model equal to the embedded one (byte-identical: ${identical}); fit ${fit.seconds} s`);
  }));

  // `vgmflow produce` must send each record's bytes as they are in the file, so that ingest
  // (not produce) judges them.
  test('produce sends a record with invalid UTF-8 bytes unchanged, so ingest dead-letters it', async () => {
    const input = join(tmp, 'invalid-utf8.csv');
    const bad = Buffer.concat([Buffer.from('100,0,vi'), Buffer.from([0xff, 0xfe]), Buffer.from('sa,5812')]);
    writeFileSync(input, Buffer.concat([Buffer.from('Amount,Tip,Network,Merchant\n10000,0,discover,5814\n'), bad, Buffer.from('\n')]));
    const prefix = uniqueName('kfit-utf8');
    expect(await produce(procs, prefix, input)).toBe(2);
    const records = await withTransport((t) => readTopicToEnd(t, topicNames(prefix).rows));
    // Both rows fit in one message: the good one, '\n', the bad one's bytes as they are.
    expect(records).toHaveLength(1);
    expect(Buffer.from(records[0]?.value ?? new Uint8Array()).equals(Buffer.concat([Buffer.from('10000,0,discover,5814\n'), bad]))).toBe(true);
  });

  test('produce of a file with a >1 MiB line succeeds', async () => {
    const input = join(tmp, 'long-line.csv');
    writeFileSync(input, `Amount,Tip,Network,Merchant\n10000,0,discover,5814\n100,0,visa,${'9'.repeat(1_100_000)}\n725,183,mastercard,5814\n`);
    const prefix = uniqueName('kfit-long');
    expect(await produce(procs, prefix, input)).toBe(3);
  });
});

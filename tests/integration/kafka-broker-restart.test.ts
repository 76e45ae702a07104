/**
 * Broker restarts (issue 14): the Kafka broker SIGKILLed and restarted with its data kept in the
 * middle of `vgmflow fit --brokers --all-stages`, and again in the middle of `vgmflow transform
 * --brokers` (the CLI as users run it, bin/vgmflow.js over dist/). Both runs must finish (exit 0)
 * with what an undisturbed run gives on a twin pipeline fed the same rows:
 *   - fit: the same model file, byte for byte, and on the batches topic (read_committed) every
 *     input row exactly once — the batches of each partition cover its source offsets without a
 *     gap or an overlap, nothing dead-lettered;
 *   - transform: the transformed topic (read_committed) holds one record per input row, no row id
 *     twice, each equal (Avro body after the schema id) to the undisturbed run's record.
 * Each disturbed run must also show that it noticed the outage (so a run that finished before the
 * kill cannot pass). A fit whose broker is killed and not back within its --broker-timeout, and a
 * stage that cannot reach Kafka at start-up, must exit 1 with one line saying so.
 *
 * The restarts are of the broker of the tests' stack, through infra/local/stack.sh, so they run only when
 * that stack is this checkout's infra/local stack (tests/support/broker-control.ts says why
 * not otherwise); the broker is started again whatever happens. The integration project runs
 * its files one at a time (jest.config.js), so no other file sees the broker go away.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTopicToEnd } from '../../pipeline/runners/read-topic';
import { KafkaTransport } from '../../topics/kafka';
import { rowBatchCodec } from '../../topics/row-batch-codec';
import { stageGroup, topicNames } from '../../topics/topology';
import type { Transport } from '../../topics/transport';
import { localBrokerControl, type BrokerControl } from '../support/broker-control';
import { writeSlice } from '../support/kafka-stages';
import { ensureCliBuilt, Processes, sleep, waitUntil, type Child } from '../support/processes';
import { SAMPLE_COLUMNS, sampleLines } from '../support/sample';
import { stackConfig, uniqueName } from '../support/stack';

jest.setTimeout(900_000);

const ROWS = 30_000;
const PARTITIONS = 6;
/** Both twins' fit job id: their models then carry the same version, and so do their records. */
const JOB = 'restart-fit';
/** How long the broker stays dead before it is started again (which itself takes ~15 s here). */
const DOWN_MS = 5_000;
/** Minutes a run may take; generous, for a loaded 2-core machine. */
const RUN_TIMEOUT_MS = 600_000;

/** Signs in a run's stderr that it saw the broker go away and come back (tests/topics/kafka). */
const NOTICED_OUTAGE = /is not answering|lost its broker|interrupted/;
const NOTICED_RETURN = /answers again|rejoined/;

const broker = localBrokerControl();
const suite = 'control' in broker ? describe : describe.skip;
if (!('control' in broker)) {
  process.stdout.write(`kafka-broker-restart.test.ts skipped: ${broker.reason}\n`);
}

suite(`the broker SIGKILLed and restarted mid-run${'control' in broker ? '' : ` (skipped: ${broker.reason})`}`, () => {
  const control = (broker as { control: BrokerControl }).control;
  const calm = uniqueName('rs-calm');
  const hit = uniqueName('rs-hit');
  let dir: string;
  let procs: Processes;
  let transport: Transport;
  let failed = false;
  /** A test body that records its failure, so that afterAll keeps the runs' logs. */
  const tracked = (body: () => Promise<void>) => async (): Promise<void> => {
    try {
      await body();
    } catch (error) {
      failed = true;
      throw error;
    }
  };

  const kafkaArgs = (prefix: string, timeoutS = 300): string[] => [
    '--brokers',
    stackConfig().kafkaBrokers.join(','),
    '--topic-prefix',
    prefix,
    '--partitions',
    String(PARTITIONS),
    '--broker-timeout',
    String(timeoutS),
  ];
  const fitArgs = (prefix: string, job = JOB, timeoutS?: number): string[] => [
    'fit',
    ...kafkaArgs(prefix, timeoutS),
    '--all-stages',
    '--columns',
    SAMPLE_COLUMNS,
    '--model',
    join(dir, `${prefix}.json`),
    '--job',
    job,
  ];
  // Per-row Avro, not the default blocks: blocks encode these 30 000 rows in about a second,
  // before the broker could be killed; one Avro record per row keeps the transform mid-run. The
  // runner (transactions, redo from the committed offset) is the same for both formats.
  const transformArgs = (prefix: string): string[] => ['transform', ...kafkaArgs(prefix), '--output-format', 'avro', '--registry-url', stackConfig().schemaRegistryUrl];

  /** Kills the broker, waits DOWN_MS, starts it again; the broker is up afterwards even if this throws. */
  async function outage(): Promise<{ killedAt: number; backAt: number }> {
    try {
      await control.kill();
      const killedAt = Date.now();
      await sleep(DOWN_MS);
      await control.start();
      return { killedAt, backAt: Date.now() };
    } finally {
      await control.start();
    }
  }

  async function succeeded(child: Child): Promise<void> {
    const exit = await child.waitForExit(RUN_TIMEOUT_MS);
    if (exit.code !== 0) throw new Error(`${child.name} exited ${String(exit.code)} (signal ${String(exit.signal)})\n${child.describe(80)}`);
  }

  /**
   * The rows on `<prefix>.batches` as `partition:sourceOffset:rowInMessage`, after checking that each
   * partition's batches cover [0, end of the rows partition) without a gap or an overlap.
   */
  async function ingestedRows(prefix: string): Promise<string[]> {
    const topics = topicNames(prefix);
    const rowEnds = await transport.endOffsets(topics.rows);
    const batches = (await readTopicToEnd(transport, topics.batches)).map((r) => rowBatchCodec.decode(r.value));
    const rows: string[] = [];
    for (let p = 0; p < rowEnds.length; p++) {
      const mine = batches.filter((b) => b.sourcePartition === p).sort((a, b) => a.coveredFrom - b.coveredFrom);
      let covered = 0;
      for (const b of mine) {
        if (b.coveredFrom !== covered) throw new Error(`${topics.batches}: partition ${p} has a batch covering [${b.coveredFrom}, ${b.coveredTo}) after ${covered}`);
        covered = b.coveredTo;
        for (let i = 0; i < b.length; i++) rows.push(`${p}:${b.sourceOffsets[i]}:${b.rowInMessage[i]}`);
      }
      expect(covered).toBe(rowEnds[p]);
    }
    return rows.sort();
  }

  beforeAll(async () => {
    ensureCliBuilt();
    dir = mkdtempSync(join(tmpdir(), 'vgmflow-restart-'));
    procs = new Processes({ cwd: dir, logDir: join(dir, 'logs') });
    const input = writeSlice(dir, sampleLines(ROWS));
    transport = new KafkaTransport({ brokers: stackConfig().kafkaBrokers, clientId: uniqueName('restart-test'), log: () => undefined, brokerTimeoutMs: 300_000 });
    // One row per message: 30,000 rows make hundreds of row batches, so the transform is still
    // mid-run when the broker goes (produce's default 1 MiB blocks hold them in a handful of
    // batches, and the transform was done before the kill landed).
    for (const prefix of [calm, hit]) await succeeded(procs.spawn(`produce-${prefix}`, ['produce', input, ...kafkaArgs(prefix), '--rows-per-message', '1']));
  });

  afterAll(async () => {
    // Whatever failed: no child left, and the broker up for whoever comes next.
    await procs?.killAll();
    await control.start();
    await transport?.close();
    // Kept for a look when a test failed (the children's logs are in <dir>/logs).
    if (dir !== undefined && !failed) rmSync(dir, { recursive: true, force: true });
    else if (dir !== undefined) console.log(`kept ${dir} (the runs' logs are in its logs/)`);
  });

  it('fit: the same model and every row ingested exactly once', tracked(async () => {
    await succeeded(procs.spawn('fit-calm', fitArgs(calm)));

    const fit = procs.spawn('fit-hit', fitArgs(hit));
    // Mid-ingest: some rows committed, most not yet (the job watches ingest catch up while the workers summarise).
    await fit.waitFor(/waiting for ingest: (\d+) input/, { timeoutMs: 120_000 });
    await waitUntil(
      () => [...fit.stderr.matchAll(/waiting for ingest: (\d+) input/g)].some((m) => Number(m[1]) <= ROWS * 0.9) || !fit.running,
      'the fit to ingest a tenth of its rows',
      120_000,
      () => fit.describe(),
    );
    expect(fit.running).toBe(true);
    const { killedAt, backAt } = await outage();
    await succeeded(fit);
    const stderr = fit.stderr;
    expect(stderr).toMatch(NOTICED_OUTAGE);
    expect(stderr).toMatch(NOTICED_RETURN);
    expect(stderr).toMatch(new RegExp(`${ROWS} rows fitted`));

    expect(readFileSync(join(dir, `${hit}.json`))).toEqual(readFileSync(join(dir, `${calm}.json`)));
    const [calmRows, hitRows] = [await ingestedRows(calm), await ingestedRows(hit)];
    expect(hitRows).toHaveLength(ROWS);
    expect(new Set(hitRows).size).toBe(ROWS);
    expect(hitRows).toEqual(calmRows);
    expect(await readTopicToEnd(transport, topicNames(hit).deadLetters)).toHaveLength(0);
    console.log(`fit: broker down ${((backAt - killedAt) / 1000).toFixed(1)} s; the fit ended ${((Date.now() - backAt) / 1000).toFixed(1)} s after it was back`);
  }));

  it('transform: exactly the records of an undisturbed run', tracked(async () => {
    // Needs the models of the test above (the same job id on both twins).
    await succeeded(procs.spawn('transform-calm', transformArgs(calm)));

    const group = stageGroup(topicNames(hit), 'transform');
    const batchesTopic = topicNames(hit).batches;
    const transform = procs.spawn('transform-hit', transformArgs(hit));
    // Mid-way: once its first transactions have committed offsets.
    const ends = await transport.endOffsets(batchesTopic);
    await waitUntil(
      async () => {
        if (!transform.running) return true;
        const committed = await transport.committedOffsets(group, batchesTopic);
        return committed.some((c) => c > 0);
      },
      'the transform to commit its first batches',
      120_000,
      () => transform.describe(),
    );
    expect(transform.running).toBe(true);
    const committedAtKill = await transport.committedOffsets(group, batchesTopic);
    const { killedAt, backAt } = await outage();
    await succeeded(transform);
    expect(transform.stderr).toMatch(NOTICED_OUTAGE);
    expect(transform.stderr).toMatch(NOTICED_RETURN);

    const bodies = async (prefix: string): Promise<Map<string, string>> => {
      const records = await readTopicToEnd(transport, topicNames(prefix).transformed);
      const byKey = new Map<string, string>();
      for (const r of records) {
        const key = r.key ?? '';
        if (byKey.has(key)) throw new Error(`${topicNames(prefix).transformed}: row ${key} twice`);
        // After the magic byte and the schema id, which the two twins' subjects may number apart.
        byKey.set(key, Buffer.from(r.value.subarray(5)).toString('base64'));
      }
      expect(records).toHaveLength(ROWS);
      return byKey;
    };
    const [calmOut, hitOut] = [await bodies(calm), await bodies(hit)];
    expect(hitOut.size).toBe(ROWS);
    for (const [key, body] of calmOut) {
      if (hitOut.get(key) !== body) throw new Error(`row ${key}: the disturbed transform wrote another record than the undisturbed one`);
    }
    console.log(
      `transform: killed with ${committedAtKill.reduce((a, b) => a + Math.max(0, b), 0)} of ${ends.reduce((a, b) => a + b, 0)} batch offsets committed; ` +
        `broker down ${((backAt - killedAt) / 1000).toFixed(1)} s; the transform ended ${((Date.now() - backAt) / 1000).toFixed(1)} s after it was back`,
    );
  }));

  it('a fit whose broker stays away longer than --broker-timeout exits 1 with one line', tracked(async () => {
    const fit = procs.spawn('fit-stranded', fitArgs(hit, 'restart-stranded', 10));
    await fit.waitFor(/job restart-stranded: input/, { timeoutMs: 120_000 });
    try {
      await control.kill();
      const exit = await fit.waitForExit(180_000);
      expect(exit.code).toBe(1);
    } finally {
      await control.start();
    }
    const lines = fit.stderr.trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(/^vgmflow: Kafka \(.*\) unreachable or failing for more than 10 s: /);
    // No stack traces or kafkajs noise: the reason is said once, in that line.
    expect(fit.stderr).not.toMatch(/\[kafkajs\]|\n\s+at /);
  }));
});

describe('Kafka unreachable at start-up', () => {
  const procs = new Processes();

  afterAll(() => procs.killAll());

  it('a stage exits 1 with one line once --broker-timeout has passed', async () => {
    ensureCliBuilt();
    // A port nothing listens on: one that was free a moment ago.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));

    const stage = procs.spawn('ingest-nowhere', ['stage', 'ingest', '--brokers', `127.0.0.1:${port}`, '--columns', 'Amount:continuous', '--broker-timeout', '3']);
    const exit = await stage.waitForExit(120_000);
    expect(exit.code).toBe(1);
    expect(stage.stdout).toBe('');
    expect(stage.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^vgmflow: Kafka \\(127\\.0\\.0\\.1:${port}\\) unreachable or failing for more than 3 s: Connection error: connect ECONNREFUSED`)),
    ]);
  });
});

/**
 * Topics written by other clients with every compression.type Kafka has (none, gzip, snappy, lz4,
 * zstd) are read by vgmflow (issue 11: kafkajs alone reads none and gzip and stops on the rest).
 * The writer is a real Python producer, confluent-kafka (librdkafka) from a pinned venv that
 * tests/support/python-venv.sh makes (.ci/run makes it before the tests; here it is reused, or
 * made when missing). Each codec gets a fresh topic; KafkaTransport reads it back and every row
 * must arrive exactly once with identical bytes. Then `vgmflow fit --all-stages` ingests and
 * fits one compressed topic (lz4), and vgmflow's own producer writes each codec for
 * confluent-kafka to read back (the `compression` option of the Kafka transport).
 */
import { execFile, execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import { logLevel } from 'kafkajs';
import { COMPRESSIONS, KafkaTransport, type Compression } from '../../topics/kafka';
import { lz4Codec, snappyCodec, zstdCodec, type KafkaJsCodec } from '../../topics/kafka/compression';
import type { InRecord, OutRecord } from '../../topics/transport';
import { ensureCliBuilt, Processes, ROOT } from '../support/processes';
import { stackConfig, uniqueName } from '../support/stack';
import { Reader, waitFor } from '../support/transport-contract';

jest.setTimeout(240_000);

const run = promisify(execFile);
const SUPPORT = join(ROOT, 'tests', 'support');
const COLUMNS = 'Amount:continuous,Tip:mixed(0),Network:categorical,Merchant:categorical';
const ROWS = 3000;
const PARTITIONS = 3;

let tmp = '';
let python = '';
let csvPath = '';
/** The data rows of the CSV file, as the messages carry them (text and "\n"). */
let rows: Buffer[] = [];
const brokers = (): string => stackConfig().kafkaBrokers.join(',');
const topics = new Map<Compression, string>();
/** The codecs registered with kafkajs (gzip is kafkajs's own); spied on to show batches really are compressed. */
const OURS: Partial<Record<Compression, KafkaJsCodec>> = { snappy: snappyCodec, lz4: lz4Codec, zstd: zstdCodec };

function transport(compression?: Compression): KafkaTransport {
  return new KafkaTransport({
    brokers: stackConfig().kafkaBrokers,
    clientId: uniqueName('kafka-compression-test'),
    logLevel: logLevel.ERROR,
    ...(compression === undefined ? {} : { compression }),
  });
}

/** Reads `count` records of `topic` (all partitions, from the start), or fails with the subscription's error. */
async function readAll(t: KafkaTransport, topic: string, count: number): Promise<InRecord[]> {
  const reader = await Reader.subscribe(t, { topic, group: null });
  let failure: unknown = null;
  reader.subscription.done.catch((error: unknown) => {
    failure = error;
  });
  await waitFor(
    () => {
      if (failure !== null) throw failure;
      return reader.records.length >= count;
    },
    () => `${count} records of ${topic} (have ${reader.records.length})`,
    60_000,
  );
  // Nothing more arrives (no duplicates behind the last one).
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  if (failure !== null) throw failure;
  await reader.subscription.stop();
  return reader.records;
}

/** Every row exactly once, under its row number's key, byte for byte. */
function expectEveryRowOnce(records: readonly InRecord[]): void {
  expect(records.length).toBe(rows.length);
  const byKey = new Map<number, InRecord>();
  for (const record of records) {
    const n = Number(record.key);
    expect(byKey.has(n)).toBe(false);
    byKey.set(n, record);
  }
  const mismatched = rows.filter((row, n) => {
    const got = byKey.get(n);
    return got === undefined || !Buffer.from(got.value).equals(row);
  });
  expect(mismatched.length).toBe(0);
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vgmflow-compression-'));
  python = execFileSync('bash', [join(SUPPORT, 'python-venv.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const lines = readFileSync(join(ROOT, 'assets', 'card-transactions.csv'), 'utf8').split('\n').slice(0, ROWS + 1);
  csvPath = join(tmp, 'rows.csv');
  writeFileSync(csvPath, lines.map((l) => `${l}\n`).join(''));
  rows = lines.slice(1).map((l) => Buffer.from(`${l}\n`));
  // Written once for the read tests and the fit below.
  const t = transport();
  try {
    for (const compression of COMPRESSIONS) {
      const topic = uniqueName(`kc-${compression}`);
      await t.ensureTopics([{ name: topic, partitions: PARTITIONS, config: {} }]);
      topics.set(compression, topic);
    }
  } finally {
    await t.close();
  }
  await Promise.all(
    COMPRESSIONS.map((compression) =>
      run(python, [join(SUPPORT, 'python', 'produce_csv.py'), brokers(), topics.get(compression) ?? '', compression, csvPath], { timeout: 120_000 }),
    ),
  );
});

afterAll(() => {
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

describe('topics a Python producer (confluent-kafka) compressed', () => {
  let t: KafkaTransport;
  beforeEach(() => {
    t = transport();
  });
  afterEach(async () => {
    await t.close();
  });

  it.each([...COMPRESSIONS])('reads every row of compression.type=%s exactly once, byte for byte', async (compression) => {
    const topic = topics.get(compression) ?? '';
    const codec = OURS[compression];
    const decompress = codec === undefined ? null : jest.spyOn(codec, 'decompress');
    try {
      expectEveryRowOnce(await readAll(t, topic, rows.length));
      // librdkafka compressed the batches: they went through our codec.
      if (decompress !== null) expect(decompress.mock.calls.length).toBeGreaterThan(0);
    } finally {
      decompress?.mockRestore();
    }
  });
});

it('`vgmflow fit --all-stages` ingests and fits an lz4-compressed topic', async () => {
  ensureCliBuilt();
  const procs = new Processes({ cwd: tmp, logDir: join(tmp, 'logs') });
  try {
    const prefix = uniqueName('kc-fit');
    const topic = topics.get('lz4') ?? '';
    const fit = procs.spawn('fit', [
      'fit', '--brokers', brokers(), '--topic-prefix', prefix, '--topic', topic, '--partitions', String(PARTITIONS),
      '--columns', COLUMNS, '--all-stages', '--model', join(tmp, 'model.json'),
    ]);
    await fit.succeeded(180_000);
    expect(fit.stderr).toContain(`published to ${prefix}.models`);
    const model = JSON.parse(readFileSync(join(tmp, 'model.json'), 'utf8')) as { columns?: unknown[] };
    expect(model.columns?.length).toBe(4);
  } finally {
    await procs.killAll();
  }
});

describe('vgmflow\'s own producer with the `compression` option', () => {
  it.each([...COMPRESSIONS])('writes compression %s that confluent-kafka reads back byte for byte', async (compression) => {
    const topic = uniqueName(`kc-out-${compression}`);
    const t = transport(compression);
    const codec = OURS[compression];
    const compress = codec === undefined ? null : jest.spyOn(codec, 'compress');
    try {
      await t.ensureTopics([{ name: topic, partitions: PARTITIONS, config: {} }]);
      const producer = await t.producer();
      const records: OutRecord[] = rows.map((row, n) => ({ topic, key: String(n), value: row }));
      await producer.send(records);
      await producer.close();
      if (compress !== null) expect(compress.mock.calls.length).toBeGreaterThan(0);
      // And kafkajs reads what it wrote.
      expectEveryRowOnce(await readAll(t, topic, rows.length));
    } finally {
      compress?.mockRestore();
      await t.close();
    }
    const { stdout } = await run(python, [join(SUPPORT, 'python', 'consume_topic.py'), brokers(), topic, String(rows.length)], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    const got = stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { key: string; value: string });
    expect(got.length).toBe(rows.length);
    const byKey = new Map(got.map((m) => [Number(m.key), Buffer.from(m.value, 'hex')]));
    expect(byKey.size).toBe(rows.length);
    expect(rows.filter((row, n) => !(byKey.get(n)?.equals(row) ?? false)).length).toBe(0);
  });
});

/**
 * Topics written by other clients with every compression.type Kafka has (none, gzip, snappy, lz4,
 * zstd) are read by vgmflow (issue 11: kafkajs alone reads none and gzip and stops on the rest).
 * The writer is a real Python producer, confluent-kafka (librdkafka) from a pinned venv that
 * tests/support/python-venv.sh makes (.ci/run makes it before the tests; here it is reused, or
 * made when missing). Each codec gets a fresh topic; KafkaTransport reads it back and every row
 * must arrive exactly once with identical bytes. Then `vgmflow fit --all-stages` fits every
 * compressed topic, and other layouts of the same rows, to the embedded fit's model byte for
 * byte; and vgmflow's own producer writes each codec for confluent-kafka to read back (the
 * `compression` option of the Kafka transport).
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

/**
 * The model is a function of the rows alone (issue 11): the same rows, one per message or in
 * blocks, from vgmflow or from confluent-kafka, over 1, 3 or 6 partitions, with any codec, give
 * the embedded fit's model byte for byte.
 */
describe('the fitted model depends on the rows only', () => {
  let procs: Processes;
  let embedded = '';

  /** `vgmflow fit --all-stages` of an existing topic → the model file's text. */
  async function fitTopic(topic: string, partitions: number, name: string): Promise<string> {
    const model = join(tmp, `${name}.json`);
    const fit = procs.spawn(name, [
      'fit', '--brokers', brokers(), '--topic-prefix', uniqueName(`kc-${name}`), '--topic', topic, '--partitions', String(partitions),
      '--columns', COLUMNS, '--all-stages', '--model', model,
    ]);
    await fit.succeeded(180_000);
    return readFileSync(model, 'utf8');
  }

  beforeAll(async () => {
    ensureCliBuilt();
    procs = new Processes({ cwd: tmp, logDir: join(tmp, 'logs') });
    const model = join(tmp, 'embedded.json');
    await procs.spawn('embedded', ['fit', csvPath, '--columns', COLUMNS, '--model', model]).succeeded(180_000);
    embedded = readFileSync(model, 'utf8');
    expect(JSON.parse(embedded).rows).toBe(ROWS);
  });

  afterAll(async () => {
    await procs.killAll();
  });

  it.each([...COMPRESSIONS])(`confluent-kafka, one row per message keyed by row over ${PARTITIONS} partitions, compression %s`, async (compression) => {
    expect(await fitTopic(topics.get(compression) ?? '', PARTITIONS, `python-${compression}`)).toBe(embedded);
  });

  it('confluent-kafka, 100-row blocks into one partition (lz4), and vgmflow produce, 250-row blocks over 6 partitions', async () => {
    const oneTopic = uniqueName('kc-blocks');
    const t = transport();
    try {
      await t.ensureTopics([{ name: oneTopic, partitions: 1, config: {} }]);
    } finally {
      await t.close();
    }
    await run(python, [join(SUPPORT, 'python', 'produce_csv.py'), brokers(), oneTopic, 'lz4', csvPath, '100'], { timeout: 120_000 });
    expect(await fitTopic(oneTopic, 1, 'python-blocks')).toBe(embedded);

    const prefix = uniqueName('kc-vgm-blocks');
    await procs.spawn('produce', ['produce', csvPath, '--brokers', brokers(), '--topic-prefix', prefix, '--rows-per-message', '250']).succeeded(120_000);
    expect(await fitTopic(`${prefix}.rows`, 6, 'vgmflow-blocks')).toBe(embedded);
  });
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

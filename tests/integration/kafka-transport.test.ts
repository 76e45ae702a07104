// The transport contract against the real Kafka broker of the stack, plus what only Kafka shows
// (uncommitted reads, transaction markers in the offsets).
import { logLevel } from 'kafkajs';
import { KafkaTransport, type KafkaConsumerTuning } from '../../topics/kafka';
import type { OutRecord } from '../../topics/transport';
import { stackConfig, uniqueName } from '../support/stack';
import { Reader, describeTransportContract, enc, sleep, waitFor } from '../support/transport-contract';

// Rebalances and transactions take seconds on Kafka.
jest.setTimeout(60_000);

const LEVELS: Record<string, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

function createTransport(consumer?: KafkaConsumerTuning): KafkaTransport {
  return new KafkaTransport({
    ...(consumer === undefined ? {} : { consumer }),
    brokers: stackConfig().kafkaBrokers,
    clientId: uniqueName('kafka-transport-test'),
    logLevel: LEVELS[(process.env.KAFKAJS_LOG_LEVEL ?? 'warn').toLowerCase()] ?? logLevel.WARN,
    kafka: { connectionTimeout: 5000, retry: { retries: 8, initialRetryTime: 200 } },
  });
}

const range6 = (): number[] => [0, 1, 2, 3, 4, 5];

describeTransportContract({
  name: 'kafka',
  create: async () => createTransport(),
  uniqueName,
  patienceMs: 30_000,
  settleMs: 1_500,
});

describe('KafkaTransport specifics', () => {
  let transport: KafkaTransport;

  beforeEach(() => {
    transport = createTransport();
  });

  afterEach(async () => {
    await transport.close();
  });

  it('sends more than the topic\'s max.message.bytes (1 MiB default) to one partition, in and out of a transaction, in order', async () => {
    const topic = uniqueName('kt-large');
    await transport.ensureTopics([{ name: topic, partitions: 1, config: {} }]);
    // 2 × 3000 records of ~500 bytes: 1.5 MiB per send, more than one record batch may hold.
    const records = (from: number): OutRecord[] =>
      Array.from({ length: 3000 }, (_, i) => ({ topic, partition: 0, key: `k${from + i}`, value: enc(`${from + i}:${'x'.repeat(490)}`) }));
    const producer = await transport.producer({ transactionalId: uniqueName('kt-large-tx') });
    await producer.transaction(async (tx) => tx.send(records(0)));
    await producer.send(records(3000));
    const reader = await Reader.subscribe(transport, { topic, group: null });
    await reader.waitForCount(6000, 60_000);
    expect(reader.records.map((r) => Number(new TextDecoder().decode(r.value).split(':')[0]))).toEqual(Array.from({ length: 6000 }, (_, i) => i));
  });

  it('shows aborted records to readCommitted: false readers only, and counts transaction markers in end offsets', async () => {
    const topic = uniqueName('kt-isolation');
    await transport.ensureTopics([{ name: topic, partitions: 1, config: {} }]);
    const producer = await transport.producer({ transactionalId: uniqueName('kt-isolation-tx') });
    await expect(
      producer.transaction(async (tx) => {
        await tx.send([{ topic, key: null, value: enc('aborted') }]);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await producer.transaction(async (tx) => {
      await tx.send([{ topic, key: null, value: enc('committed') }]);
    });

    // aborted record, abort marker, committed record, commit marker. The markers are written just
    // after commit() returns, so the end offset (the last stable offset) gets there shortly.
    await waitFor(async () => (await transport.endOffsets(topic))[0] === 4, 'the end offset to pass the commit marker', 10_000);
    expect(await transport.endOffsets(topic)).toEqual([4]);

    const committedView = await Reader.subscribe(transport, { topic, group: null });
    const everything = await Reader.subscribe(transport, { topic, group: null, readCommitted: false });
    await committedView.waitForCount(1, 30_000);
    await everything.waitForCount(2, 30_000);
    await sleep(1_000);
    expect(committedView.records.map((r) => [r.offset, new TextDecoder().decode(r.value)])).toEqual([[2, 'committed']]);
    expect(everything.records.map((r) => [r.offset, new TextDecoder().decode(r.value)])).toEqual([
      [0, 'aborted'],
      [2, 'committed'],
    ]);
  });

  it('evicts a member that stops heartbeating (stuck in eachBatch) within the session timeout', async () => {
    const fast = createTransport({ sessionTimeout: 6_000, heartbeatInterval: 500 });
    try {
      const topic = uniqueName('kt-evict');
      await fast.ensureTopics([{ name: topic, partitions: 6, config: {} }]);
      const group = uniqueName('kt-evict-group');
      let release!: () => void;
      const stuck = new Promise<void>((resolve) => {
        release = resolve;
      });
      const a = await Reader.subscribe(fast, { topic, group, eachBatch: () => stuck });
      const b = await Reader.subscribe(fast, { topic, group, commit: true });
      await waitFor(() => a.lastAssignment?.length === 3 && b.lastAssignment?.length === 3, 'a 3/3 split', 30_000);
      const ofA = a.lastAssignment ?? [];

      const producer = await fast.producer();
      await producer.send(range6().map((p) => ({ topic, partition: p, key: null, value: enc(`p${p}`) })));
      await waitFor(() => a.running === 1, 'a to get stuck', 30_000);
      const stuckAt = Date.now();
      await waitFor(() => b.lastAssignment?.length === 6, 'b to take over all 6 partitions', 30_000);
      const detectedAfter = Date.now() - stuckAt;
      await waitFor(() => ofA.every((p) => b.partition(p).length === 1), 'b to read the partitions of a', 30_000);
      expect(detectedAfter).toBeLessThan(15_000);
      release();
    } finally {
      await fast.close();
    }
  });

  it('fences an older producer with the same transactional id', async () => {
    const topic = uniqueName('kt-fence');
    await transport.ensureTopics([{ name: topic, partitions: 1, config: {} }]);
    const id = uniqueName('kt-fence-tx');
    const old = await transport.producer({ transactionalId: id });
    await old.transaction(async (tx) => tx.send([{ topic, key: null, value: enc('old') }]));
    const fresh = await transport.producer({ transactionalId: id });
    await expect(old.transaction(async (tx) => tx.send([{ topic, key: null, value: enc('zombie') }]))).rejects.toThrow();
    await fresh.transaction(async (tx) => tx.send([{ topic, key: null, value: enc('fresh') }]));

    const reader = await Reader.subscribe(transport, { topic, group: null });
    await reader.waitForCount(2, 30_000);
    await sleep(1_000);
    expect(reader.values()).toEqual(['old', 'fresh']);
  });
});

// Smoke test of the stack's Kafka broker through kafkajs: plain produce/consume, and the
// exactly-once pattern the pipeline relies on (consume-transform-produce in a transaction that
// also commits the consumer's offsets), read back with read_committed.
import type { Admin, Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import { kafkaClient, stackConfig, uniqueName } from '../support/stack';

// jest.config.js sets testTimeout per project, which jest ignores (it is a global option);
// the stack's services need more than the 5 s default under load.
jest.setTimeout(120_000);

// A consumer's disconnect waits for its pending fetch; short fetches keep teardown quick.
const FETCH_WAIT_MS = 500;

interface Received {
  key: string;
  value: string;
  partition: number;
  offset: string;
}

/** Runs `consumer` on `topic` from the beginning until `count` messages arrived (or the time is up). */
async function collect(consumer: Consumer, topic: string, count: number, timeoutMs = 30_000): Promise<Received[]> {
  const received: Received[] = [];
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`got ${received.length} of ${count} messages from ${topic} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    void consumer
      .run({
        eachMessage: async ({ message, partition }: EachMessagePayload) => {
          received.push({
            key: message.key?.toString() ?? '',
            value: message.value?.toString() ?? '',
            partition,
            offset: message.offset,
          });
          if (received.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  return received;
}

describe('Kafka (smoke)', () => {
  let kafka: Kafka;
  let admin: Admin;
  const toDisconnect: Array<{ disconnect(): Promise<void> }> = [];

  beforeAll(async () => {
    kafka = kafkaClient('smoke-kafka');
    admin = kafka.admin();
    await admin.connect();
  });

  afterEach(async () => {
    await Promise.allSettled(toDisconnect.splice(0).map((c) => c.disconnect()));
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  it('names at least one broker and a cluster', async () => {
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.length).toBeGreaterThanOrEqual(1);
    expect(cluster.clusterId).toMatch(/\S+/);
    expect(stackConfig().kafkaBrokers.length).toBeGreaterThanOrEqual(1);
  });

  it('produces and consumes messages in order', async () => {
    const topic = uniqueName('smoke-plain');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });

    const producer = kafka.producer();
    toDisconnect.push(producer);
    await producer.connect();
    const sent = [0, 1, 2, 3, 4].map((i) => ({ key: `k${i}`, value: `value-${i}-${'x'.repeat(i * 10)}` }));
    const meta = await producer.send({ topic, messages: sent });
    expect(meta).toHaveLength(1);
    expect(meta[0].errorCode).toBe(0);

    const consumer = kafka.consumer({ groupId: uniqueName('smoke-plain-group'), maxWaitTimeInMs: FETCH_WAIT_MS });
    toDisconnect.push(consumer);
    await consumer.connect();
    const received = await collect(consumer, topic, sent.length);

    expect(received.map(({ key, value }) => ({ key, value }))).toEqual(sent);
    expect(received.map((m) => m.offset)).toEqual(['0', '1', '2', '3', '4']);
  });

  it('commits consume-transform-produce transactions with their offsets; read_committed skips an aborted one', async () => {
    const input = uniqueName('smoke-tx-in');
    const output = uniqueName('smoke-tx-out');
    const groupId = uniqueName('smoke-tx-group');
    await admin.createTopics({
      topics: [
        { topic: input, numPartitions: 1 },
        { topic: output, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });

    const plain = kafka.producer();
    toDisconnect.push(plain);
    await plain.connect();
    const inputs = [3, 1, 4, 1, 5, 9];
    await plain.send({ topic: input, messages: inputs.map((n, i) => ({ key: `n${i}`, value: String(n) })) });

    const txProducer = kafka.producer({
      transactionalId: uniqueName('smoke-tx-id'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    toDisconnect.push(txProducer);
    await txProducer.connect();

    // One transaction per input message: the squared value goes out, and the input offset is
    // committed for the consumer group inside the same transaction.
    const processor = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: FETCH_WAIT_MS });
    toDisconnect.push(processor);
    await processor.connect();
    await processor.subscribe({ topic: input, fromBeginning: true });
    let processed = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`processed ${processed} of ${inputs.length} within 60 s`)),
        60_000,
      );
      void processor
        .run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            const n = Number(message.value?.toString());
            const tx = await txProducer.transaction();
            try {
              await tx.send({ topic: output, messages: [{ key: message.key, value: String(n * n) }] });
              await tx.sendOffsets({
                consumerGroupId: groupId,
                topics: [{ topic, partitions: [{ partition, offset: (BigInt(message.offset) + 1n).toString() }] }],
              });
              await tx.commit();
            } catch (err) {
              await tx.abort();
              throw err;
            }
            processed += 1;
            if (processed === inputs.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await processor.disconnect();

    // A transaction that is aborted must never reach a read_committed reader.
    const aborted = await txProducer.transaction();
    await aborted.send({ topic: output, messages: [{ key: 'aborted', value: 'must-not-be-read' }] });
    await aborted.abort();
    // A committed marker after the aborted batch: reading it proves the reader got past the abort.
    const last = await txProducer.transaction();
    await last.send({ topic: output, messages: [{ key: 'end', value: 'end' }] });
    await last.commit();

    const committedReader = kafka.consumer({
      groupId: uniqueName('smoke-tx-rc'),
      readUncommitted: false,
      maxWaitTimeInMs: FETCH_WAIT_MS,
    });
    toDisconnect.push(committedReader);
    await committedReader.connect();
    const committed = await collect(committedReader, output, inputs.length + 1);
    expect(committed.map((m) => m.value)).toEqual([...inputs.map((n) => String(n * n)), 'end']);
    expect(committed.map((m) => m.key)).toEqual([...inputs.map((_, i) => `n${i}`), 'end']);

    // The uncommitted view does contain the aborted record: the isolation above is real.
    const uncommittedReader = kafka.consumer({
      groupId: uniqueName('smoke-tx-ru'),
      readUncommitted: true,
      maxWaitTimeInMs: FETCH_WAIT_MS,
    });
    toDisconnect.push(uncommittedReader);
    await uncommittedReader.connect();
    const everything = await collect(uncommittedReader, output, inputs.length + 2);
    expect(everything.map((m) => m.value)).toContain('must-not-be-read');

    // The offsets committed through the transaction are the group's committed position.
    const offsets = await admin.fetchOffsets({ groupId, topics: [input] });
    expect(offsets).toEqual([
      { topic: input, partitions: [expect.objectContaining({ partition: 0, offset: String(inputs.length) })] },
    ]);
  });
});

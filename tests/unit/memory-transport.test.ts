import { MAX_BATCH_RECORDS, MemoryTransport, partitionForKey } from '../../topics/memory';
import type { Transaction, Transport } from '../../topics/transport';
import { Reader, describeTransportContract, enc, sleep, waitFor } from '../support/transport-contract';

let counter = 0;
const unique = (prefix: string): string => `${prefix}-${(counter += 1)}`;

describeTransportContract({
  name: 'memory',
  create: async () => new MemoryTransport(),
  uniqueName: unique,
  patienceMs: 2_000,
  settleMs: 20,
});

describe('key partitioning (kafkajs DefaultPartitioner, Java compatible)', () => {
  // org.apache.kafka.common.utils.Utils.murmur2 of these UTF-8 strings, as Kafka's own UtilsTest
  // has them; the Java client's DefaultPartitioner puts a key in toPositive(murmur2) % partitions.
  const javaMurmur2: ReadonlyArray<readonly [string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  const javaPartition = (hash: number, partitions: number): number => (hash & 0x7fffffff) % partitions;

  it('puts keys in the partitions the Java client picks', () => {
    for (const partitions of [1, 2, 3, 6, 7, 16, 100, 1000]) {
      for (const [key, hash] of javaMurmur2) {
        expect({ key, partitions, partition: partitionForKey(key, partitions) }).toEqual({
          key,
          partitions,
          partition: javaPartition(hash, partitions),
        });
      }
    }
  });

  it('gives the Java partitions written out for a few keys', () => {
    // toPositive(murmur2) of '21', 'foobar', 'abc': 1173551340, 1357151166, 479470107.
    expect(['21', 'foobar', 'abc'].map((key) => partitionForKey(key, 4))).toEqual([0, 2, 3]);
    expect(['21', 'foobar', 'abc'].map((key) => partitionForKey(key, 10))).toEqual([0, 6, 7]);
  });

  it('is stable for one key and keeps every key inside the topic', () => {
    const keys = ['', 'a', 'é', 'ünïcødé-ключ-键-🔑', ...Array.from({ length: 300 }, (_, i) => `key-${i}-${'x'.repeat(i % 13)}`)];
    for (const partitions of [1, 3, 16]) {
      for (const key of keys) {
        const partition = partitionForKey(key, partitions);
        expect(partitionForKey(key, partitions)).toBe(partition);
        expect(partition >= 0 && partition < partitions).toBe(true);
      }
    }
  });
});

describe('MemoryTransport', () => {
  let transport: MemoryTransport;

  beforeEach(() => {
    transport = new MemoryTransport();
  });

  afterEach(async () => {
    await transport.close();
  });

  async function topic(partitions: number): Promise<string> {
    const name = unique('mem');
    await transport.ensureTopics([{ name, partitions, config: {} }]);
    return name;
  }

  async function fill(t: string, partition: number, values: readonly string[], via?: Transport): Promise<void> {
    const producer = await (via ?? transport).producer();
    await producer.send(values.map((value) => ({ topic: t, partition, key: null, value: enc(value) })));
  }

  it('keeps the partition count of the first ensureTopics', async () => {
    const t = await topic(2);
    await transport.ensureTopics([{ name: t, partitions: 5, config: {} }]);
    expect(await transport.endOffsets(t)).toEqual([0, 0]);
  });

  it('rejects unknown topics, partitions out of range and bad offsets', async () => {
    const t = await topic(2);
    const producer = await transport.producer();
    await expect(producer.send([{ topic: 'nope', key: null, value: enc('x') }])).rejects.toThrow(/unknown topic nope/);
    await expect(producer.send([{ topic: t, partition: 2, key: null, value: enc('x') }])).rejects.toThrow(/no partition 2/);
    await expect(transport.subscribe({ topic: 'nope', group: null, eachBatch: async () => undefined })).rejects.toThrow(/unknown topic/);
    await expect(transport.endOffsets('nope')).rejects.toThrow(/unknown topic/);
    const reader = await Reader.subscribe(transport, { topic: t, group: 'g' });
    expect(() => reader.subscription.seek(0, -1)).toThrow(RangeError);
    expect(() => reader.subscription.seek(3, 0)).toThrow(RangeError);
    await expect(reader.subscription.commit([{ topic: t, partition: 0, offset: 1.5 }])).rejects.toThrow(RangeError);
  });

  it(`hands out at most ${MAX_BATCH_RECORDS} records per batch`, async () => {
    const t = await topic(1);
    await fill(t, 0, Array.from({ length: 1200 }, (_, i) => `v${i}`));
    const reader = await Reader.subscribe(transport, { topic: t, group: null });
    await reader.waitForCount(1200, 2000);
    expect(reader.batches.map((b) => b.records.length)).toEqual([500, 500, 200]);
    expect(reader.records.map((r) => r.offset)).toEqual(Array.from({ length: 1200 }, (_, i) => i));
  });

  it('lets partitions take turns', async () => {
    const t = await topic(2);
    await fill(t, 0, Array.from({ length: 1500 }, (_, i) => `a${i}`));
    await fill(t, 1, Array.from({ length: 1500 }, (_, i) => `b${i}`));
    const reader = await Reader.subscribe(transport, { topic: t, group: null });
    await reader.waitForCount(3000, 2000);
    expect(reader.batches.map((b) => b.partition)).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('waits for records without timers or polling', async () => {
    const t = await topic(3);
    const reader = await Reader.subscribe(transport, { topic: t, group: 'idle' });
    await waitFor(() => reader.assignments.length === 1, 'assignment', 1000);
    const timers = [jest.spyOn(global, 'setTimeout'), jest.spyOn(global, 'setInterval'), jest.spyOn(global, 'setImmediate')];
    try {
      // Let the loop run as long as it would: with nothing to read it must be parked on a promise.
      for (let i = 0; i < 50; i += 1) await Promise.resolve();
      for (const timer of timers) expect(timer).not.toHaveBeenCalled();
      await fill(t, 1, ['wake up']);
      for (let i = 0; i < 50 && reader.records.length === 0; i += 1) await Promise.resolve();
      expect(reader.values()).toEqual(['wake up']);
      for (const timer of timers) expect(timer).not.toHaveBeenCalled();
    } finally {
      for (const timer of timers) timer.mockRestore();
    }
  });

  it('copies values when sent', async () => {
    const t = await topic(1);
    const value = enc('original');
    const producer = await transport.producer();
    await producer.send([{ topic: t, key: null, value }]);
    value.fill(0);
    const reader = await Reader.subscribe(transport, { topic: t, group: null });
    await reader.waitForCount(1, 1000);
    expect(reader.values()).toEqual(['original']);
  });

  it('shows readCommitted: false readers only committed data too', async () => {
    const t = await topic(1);
    const producer = await transport.producer({ transactionalId: 'tx' });
    const reader = await Reader.subscribe(transport, { topic: t, group: null, readCommitted: false });
    let inside = -1;
    await expect(
      producer.transaction(async (tx) => {
        await tx.send([{ topic: t, key: null, value: enc('never') }]);
        await sleep(10);
        inside = reader.records.length;
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(inside).toBe(0);
    expect(await transport.endOffsets(t)).toEqual([0]);
    await producer.transaction(async (tx) => {
      await tx.send([{ topic: t, key: null, value: enc('once') }]);
    });
    await reader.waitForCount(1, 1000);
    expect(reader.values()).toEqual(['once']);
  });

  describe('groups', () => {
    it('deal partitions round-robin in join order and rebalance on join and stop', async () => {
      const t = await topic(6);
      const a = await Reader.subscribe(transport, { topic: t, group: 'g' });
      const b = await Reader.subscribe(transport, { topic: t, group: 'g' });
      const c = await Reader.subscribe(transport, { topic: t, group: 'g' });
      await waitFor(() => c.assignments.length === 1, 'c assigned', 1000);
      expect(a.assignments).toEqual([[0, 1, 2, 3, 4, 5], [0, 2, 4], [0, 3]]);
      expect(b.assignments).toEqual([[1, 3, 5], [1, 4]]);
      expect(c.assignments).toEqual([[2, 5]]);

      await b.subscription.stop();
      await waitFor(() => c.assignments.length === 2, 'c reassigned', 1000);
      expect(a.lastAssignment).toEqual([0, 2, 4]);
      expect(c.lastAssignment).toEqual([1, 3, 5]);
      expect(b.assignments).toHaveLength(2);
    });

    it('give members beyond the partition count nothing', async () => {
      const t = await topic(1);
      const a = await Reader.subscribe(transport, { topic: t, group: 'g' });
      const b = await Reader.subscribe(transport, { topic: t, group: 'g' });
      await waitFor(() => b.assignments.length === 1 && a.assignments.length === 2, 'assignments', 1000);
      expect(a.lastAssignment).toEqual([0]);
      expect(b.lastAssignment).toEqual([]);
    });

    it('are separate per topic and per group', async () => {
      const t1 = await topic(2);
      const t2 = await topic(2);
      const a = await Reader.subscribe(transport, { topic: t1, group: 'g' });
      const b = await Reader.subscribe(transport, { topic: t2, group: 'g' });
      const c = await Reader.subscribe(transport, { topic: t1, group: 'h' });
      await waitFor(() => [a, b, c].every((r) => r.assignments.length > 0), 'assignments', 1000);
      for (const reader of [a, b, c]) expect(reader.assignments).toEqual([[0, 1]]);
    });

    it('wait for the running eachBatch of every member before a rebalance', async () => {
      const t = await topic(2);
      await fill(t, 0, ['a0']);
      let open!: () => void;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      const a = await Reader.subscribe(transport, { topic: t, group: 'g', eachBatch: () => gate });
      await waitFor(() => a.running === 1, 'a busy', 1000);
      let joined = false;
      const joining = Reader.subscribe(transport, { topic: t, group: 'g' }).then((reader) => {
        joined = true;
        return reader;
      });
      await sleep(30);
      expect(joined).toBe(false);
      expect(a.assignments).toHaveLength(1);
      open();
      const b = await joining;
      await waitFor(() => b.assignments.length === 1 && a.assignments.length === 2, 'rebalanced', 1000);
      expect(a.lastAssignment).toEqual([0]);
      expect(b.lastAssignment).toEqual([1]);
    });

    it('restart every partition at the committed offset after a rebalance (uncommitted records come again)', async () => {
      const t = await topic(2);
      await fill(t, 0, ['a0', 'a1', 'a2']);
      await fill(t, 1, ['b0', 'b1']);
      const a = await Reader.subscribe(transport, { topic: t, group: 'g' });
      await a.waitForCount(5, 1000);
      await a.subscription.commit([{ topic: t, partition: 0, offset: 2 }]);
      const b = await Reader.subscribe(transport, { topic: t, group: 'g' });
      await b.waitForCount(2, 1000);
      await a.waitForCount(6, 1000);
      expect(a.values().slice(5)).toEqual(['a2']);
      expect(b.values()).toEqual(['b0', 'b1']);
    });

    it('hand the partitions of a failed member to the others', async () => {
      const t = await topic(2);
      await fill(t, 1, ['poison']);
      const a = await Reader.subscribe(transport, { topic: t, group: 'g' });
      const b = await Reader.subscribe(transport, {
        topic: t,
        group: 'g',
        eachBatch: async () => {
          throw new Error('bad record');
        },
      });
      await expect(b.subscription.done).rejects.toThrow('bad record');
      await waitFor(() => a.lastAssignment?.length === 2, 'a to take over', 1000);
      await a.waitForCount(1, 1000);
      expect(a.values()).toEqual(['poison']);
    });

    it('let a callback subscribe another member of its own group without deadlock', async () => {
      const t = await topic(2);
      await fill(t, 0, ['x']);
      let second: Reader | null = null;
      const first = await Reader.subscribe(transport, {
        topic: t,
        group: 'g',
        eachBatch: async () => {
          if (second === null) second = await Reader.subscribe(transport, { topic: t, group: 'g' });
        },
      });
      await waitFor(() => second !== null && first.assignments.length === 2, 'second member', 1000);
      expect(first.lastAssignment).toEqual([0]);
    });
  });

  describe('transactions', () => {
    it('fence an older producer with the same transactional id', async () => {
      const t = await topic(1);
      const old = await transport.producer({ transactionalId: 'stage-0' });
      await old.transaction(async (tx) => tx.send([{ topic: t, key: null, value: enc('old') }]));
      const fresh = await transport.producer({ transactionalId: 'stage-0' });
      await expect(old.transaction(async (tx) => tx.send([{ topic: t, key: null, value: enc('zombie') }]))).rejects.toThrow(/fenced/);
      await fresh.transaction(async (tx) => tx.send([{ topic: t, key: null, value: enc('fresh') }]));
      const reader = await Reader.subscribe(transport, { topic: t, group: null });
      await reader.waitForCount(2, 1000);
      expect(reader.values()).toEqual(['old', 'fresh']);
    });

    it('fence a producer whose transaction is open when a newer one appears', async () => {
      const t = await topic(1);
      const old = await transport.producer({ transactionalId: 'stage-1' });
      const attempt = old.transaction(async (tx) => {
        await tx.send([{ topic: t, key: null, value: enc('zombie') }]);
        await transport.producer({ transactionalId: 'stage-1' });
      });
      await expect(attempt).rejects.toThrow(/fenced/);
      expect(await transport.endOffsets(t)).toEqual([0]);
    });

    it('run one after another on one producer', async () => {
      const t = await topic(1);
      const producer = await transport.producer({ transactionalId: 'serial' });
      const log: string[] = [];
      const run = (label: string): Promise<void> =>
        producer.transaction(async (tx) => {
          log.push(`${label}:start`);
          await sleep(5);
          await tx.send([{ topic: t, key: null, value: enc(label) }]);
          log.push(`${label}:end`);
        });
      await Promise.all([run('one'), run('two')]);
      expect(log).toEqual(['one:start', 'one:end', 'two:start', 'two:end']);
    });

    it('reject use of the transaction after it ended', async () => {
      const t = await topic(1);
      const producer = await transport.producer({ transactionalId: 'late' });
      const leaked: { tx?: Transaction } = {};
      await producer.transaction(async (tx) => {
        leaked.tx = tx;
      });
      await expect(leaked.tx?.send([])).rejects.toThrow(/ended/);
      expect(await transport.endOffsets(t)).toEqual([0]);
    });
  });

  it('close() stops every subscription and refuses new work', async () => {
    const t = await topic(1);
    const a = await Reader.subscribe(transport, { topic: t, group: null });
    const b = await Reader.subscribe(transport, { topic: t, group: 'g' });
    await transport.close();
    await expect(a.subscription.done).resolves.toBeUndefined();
    await expect(b.subscription.done).resolves.toBeUndefined();
    await expect(transport.subscribe({ topic: t, group: null, eachBatch: async () => undefined })).rejects.toThrow(/closed/);
  });
});

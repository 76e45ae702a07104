// The behaviour every Transport must show, written once and run against each implementation:
// tests/unit/memory-transport.test.ts (MemoryTransport) and
// tests/integration/kafka-transport.test.ts (KafkaTransport on the real broker).
import { partitionForKey } from '../../topics/memory';
import type {
  InRecord,
  OutRecord,
  RecordBatch,
  SubscribeOptions,
  Subscription,
  Transport,
} from '../../topics/transport';

export interface TransportHarness {
  readonly name: string;
  /** A fresh transport for one test; the contract closes it afterwards. */
  create(): Promise<Transport>;
  /** A name no other test (or earlier run against the same cluster) has used. */
  uniqueName(prefix: string): string;
  /** How long to wait for a delivery or a rebalance before failing. */
  readonly patienceMs: number;
  /**
   * How long after subscribe() a member's start positions may still be unresolved (Kafka looks
   * up "latest" at the first fetch, after the join); also how long to watch for records that
   * must not come.
   */
  readonly settleMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const enc = (text: string): Uint8Array => encoder.encode(text);
export const dec = (bytes: Uint8Array): string => decoder.decode(bytes);

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await sleep(20);
  }
}

type ReaderOptions = Omit<SubscribeOptions, 'eachBatch' | 'onAssign'> & {
  /** Runs after the batch has been recorded. */
  readonly eachBatch?: (batch: RecordBatch, reader: Reader) => Promise<void>;
  readonly onAssign?: (partitions: readonly number[], reader: Reader) => void | Promise<void>;
  /** Commit each batch's next offset through the subscription (group readers). */
  readonly commit?: boolean;
};

/** A subscription that records what it was given. */
export class Reader {
  readonly records: InRecord[] = [];
  readonly batches: RecordBatch[] = [];
  readonly assignments: number[][] = [];
  /** 'assign:0,1' and 'batch:p' entries in the order they happened. */
  readonly events: string[] = [];
  running = 0;
  maxRunning = 0;
  private subscriptionValue: Subscription | null = null;
  private readonly ready: Promise<void>;
  private markReady!: () => void;

  private constructor() {
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
  }

  static async subscribe(transport: Transport, options: ReaderOptions): Promise<Reader> {
    const reader = new Reader();
    const subscription = await transport.subscribe({
      topic: options.topic,
      group: options.group,
      ...(options.fromBeginning === undefined ? {} : { fromBeginning: options.fromBeginning }),
      ...(options.readCommitted === undefined ? {} : { readCommitted: options.readCommitted }),
      ...(options.onPosition === undefined ? {} : { onPosition: options.onPosition }),
      onAssign: async (partitions) => {
        reader.assignments.push([...partitions]);
        reader.events.push(`assign:${partitions.join(',')}`);
        await options.onAssign?.(partitions, reader);
      },
      eachBatch: async (batch) => {
        reader.running += 1;
        reader.maxRunning = Math.max(reader.maxRunning, reader.running);
        try {
          reader.batches.push(batch);
          reader.records.push(...batch.records);
          reader.events.push(`batch:${batch.partition}`);
          await options.eachBatch?.(batch, reader);
          if (options.commit) {
            await reader.ready;
            const last = batch.records[batch.records.length - 1];
            await reader.subscription.commit([{ topic: batch.topic, partition: batch.partition, offset: last.offset + 1 }]);
          }
        } finally {
          reader.running -= 1;
        }
      },
    });
    reader.subscriptionValue = subscription;
    reader.markReady();
    return reader;
  }

  get subscription(): Subscription {
    if (this.subscriptionValue === null) throw new Error('not subscribed yet');
    return this.subscriptionValue;
  }

  /** Resolves once subscribe() has returned (for use inside callbacks). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  get lastAssignment(): number[] | undefined {
    return this.assignments[this.assignments.length - 1];
  }

  values(): string[] {
    return this.records.map((record) => dec(record.value));
  }

  partition(partition: number): InRecord[] {
    return this.records.filter((record) => record.partition === partition);
  }

  async waitForCount(count: number, timeoutMs: number): Promise<void> {
    await waitFor(() => this.records.length >= count, () => `${count} records (have ${this.records.length}: ${this.values().join(' ')})`, timeoutMs);
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function toPartition(topic: string, partition: number, values: readonly string[]): OutRecord[] {
  return values.map((value) => ({ topic, partition, key: null, value: enc(value) }));
}

export function describeTransportContract(harness: TransportHarness): void {
  const { patienceMs, settleMs } = harness;
  const name = (prefix: string): string => harness.uniqueName(prefix);

  describe(`Transport contract (${harness.name})`, () => {
    let transport: Transport;

    beforeEach(async () => {
      transport = await harness.create();
    });

    afterEach(async () => {
      await transport.close();
    });

    async function topic(prefix: string, partitions: number, config: Record<string, string> = {}): Promise<string> {
      const topicName = name(prefix);
      await transport.ensureTopics([{ name: topicName, partitions, config }]);
      return topicName;
    }

    describe('topics', () => {
      it('creates missing topics with their partition counts, idempotently', async () => {
        const a = name('ct-topics-a');
        const b = name('ct-topics-b');
        await transport.ensureTopics([
          { name: a, partitions: 3, config: { 'retention.ms': '-1' } },
          { name: b, partitions: 1, config: { 'cleanup.policy': 'compact' } },
        ]);
        await transport.ensureTopics([{ name: a, partitions: 3, config: { 'retention.ms': '-1' } }]);

        expect(await transport.endOffsets(a)).toEqual([0, 0, 0]);
        expect(await transport.startOffsets(a)).toEqual([0, 0, 0]);
        expect(await transport.endOffsets(b)).toEqual([0]);
        expect(await transport.committedOffsets(name('ct-nobody'), a)).toEqual([-1, -1, -1]);
      });
    });

    describe('producing', () => {
      it('routes records: explicit partition, key hash as Kafka (murmur2), round-robin without key', async () => {
        const t = await topic('ct-route', 4);
        const producer = await transport.producer();
        await producer.send([{ topic: t, partition: 2, key: 'pinned', value: enc('pinned') }]);
        const keys = range(24).map((i) => `key-${i}-${'é'.repeat(i % 3)}`);
        await producer.send(keys.map((key) => ({ topic: t, key, value: enc(key) })));
        await producer.send(range(8).map((i) => ({ topic: t, key: null, value: enc(`rr-${i}`) })));

        const reader = await Reader.subscribe(transport, { topic: t, group: null });
        await reader.waitForCount(33, patienceMs);

        const pinned = reader.records.find((record) => dec(record.value) === 'pinned');
        expect(pinned?.partition).toBe(2);
        for (const key of keys) {
          const record = reader.records.find((r) => r.key === key);
          expect({ key, partition: record?.partition }).toEqual({ key, partition: partitionForKey(key, 4) });
        }
        const roundRobin = reader.records.filter((record) => record.key === null && dec(record.value).startsWith('rr-'));
        expect(range(4).map((p) => roundRobin.filter((r) => r.partition === p).length)).toEqual([2, 2, 2, 2]);

        const ends = await transport.endOffsets(t);
        expect(ends).toEqual(range(4).map((p) => reader.partition(p).length));
      });

      it('keeps per-partition order, offsets, keys, binary values and headers', async () => {
        const t = await topic('ct-order', 2);
        const producer = await transport.producer();
        const binary = Uint8Array.from(range(256));
        const sent: OutRecord[] = [];
        for (let i = 0; i < 40; i += 1) {
          sent.push({
            topic: t,
            partition: i % 2,
            key: i % 5 === 0 ? null : `k${i}`,
            value: i === 7 ? binary : enc(`v${i}`),
            ...(i % 3 === 0 ? { headers: { 'x-index': String(i), 'content-type': 'text/plain' } } : {}),
          });
        }
        await producer.send(sent.slice(0, 25));
        await producer.send(sent.slice(25));

        const reader = await Reader.subscribe(transport, { topic: t, group: null });
        await reader.waitForCount(40, patienceMs);

        for (const p of [0, 1]) {
          const got = reader.partition(p);
          const expected = sent.filter((record) => record.partition === p);
          expect(got.map((r) => r.offset)).toEqual(range(expected.length));
          expect(got.map((r) => ({ key: r.key, value: Array.from(r.value), headers: r.headers, topic: r.topic }))).toEqual(
            expected.map((r) => ({ key: r.key, value: Array.from(r.value), headers: r.headers ?? {}, topic: t })),
          );
        }
        const binaryRecord = reader.records.find((r) => r.key === 'k7');
        expect(binaryRecord?.value).toBeInstanceOf(Uint8Array);
        expect(Array.from(binaryRecord?.value ?? [])).toEqual(range(256));
      });
    });

    describe('broadcast subscriptions', () => {
      it('assign every partition before the first batch, read from offset 0, and wake up for new records', async () => {
        const t = await topic('ct-broadcast', 3);
        const producer = await transport.producer();
        await producer.send(range(3).flatMap((p) => toPartition(t, p, [`early-${p}`])));

        const first = await Reader.subscribe(transport, { topic: t, group: null });
        const second = await Reader.subscribe(transport, { topic: t, group: null, fromBeginning: false });
        for (const reader of [first, second]) {
          await reader.waitForCount(3, patienceMs);
          expect(reader.assignments[0]).toEqual([0, 1, 2]);
          expect(reader.events[0]).toBe('assign:0,1,2');
        }

        await sleep(settleMs);
        await producer.send(range(3).flatMap((p) => toPartition(t, p, [`late-${p}`])));
        for (const reader of [first, second]) {
          await reader.waitForCount(6, patienceMs);
          expect(reader.values().sort()).toEqual(['early-0', 'early-1', 'early-2', 'late-0', 'late-1', 'late-2']);
        }
      });

      it('cannot commit offsets', async () => {
        const t = await topic('ct-broadcast-commit', 1);
        const reader = await Reader.subscribe(transport, { topic: t, group: null });
        await expect(reader.subscription.commit([{ topic: t, partition: 0, offset: 0 }])).rejects.toThrow(/broadcast/);
      });
    });

    describe('consumer groups', () => {
      it('resume from the committed offsets, which committedOffsets reports', async () => {
        const t = await topic('ct-resume', 2);
        const group = name('ct-resume-group');
        const producer = await transport.producer();
        await producer.send([...toPartition(t, 0, range(5).map((i) => `a${i}`)), ...toPartition(t, 1, range(5).map((i) => `b${i}`))]);

        const first = await Reader.subscribe(transport, { topic: t, group });
        await first.waitForCount(10, patienceMs);
        await first.subscription.commit([
          { topic: t, partition: 0, offset: 3 },
          { topic: t, partition: 1, offset: 5 },
        ]);
        await first.subscription.stop();
        await first.subscription.done;
        expect(await transport.committedOffsets(group, t)).toEqual([3, 5]);

        const second = await Reader.subscribe(transport, { topic: t, group });
        await second.waitForCount(2, patienceMs);
        await producer.send(toPartition(t, 1, ['b5']));
        await second.waitForCount(3, patienceMs);
        await sleep(settleMs);
        expect(second.records.map((r) => [r.partition, r.offset, dec(r.value)])).toEqual(
          expect.arrayContaining([
            [0, 3, 'a3'],
            [0, 4, 'a4'],
            [1, 5, 'b5'],
          ]),
        );
        expect(second.records).toHaveLength(3);
      });

      it('groupMembers counts the members of a group, and none once they have left', async () => {
        const t = await topic('ct-members', 2);
        const group = name('ct-members-group');
        expect(await transport.groupMembers(group)).toBe(0);
        const first = await Reader.subscribe(transport, { topic: t, group });
        await waitFor(async () => (await transport.groupMembers(group)) === 1, 'one member', patienceMs);
        const second = await Reader.subscribe(transport, { topic: t, group });
        await waitFor(async () => (await transport.groupMembers(group)) === 2, 'two members', patienceMs);
        await first.subscription.stop();
        await second.subscription.stop();
        await waitFor(async () => (await transport.groupMembers(group)) === 0, 'no members after both stopped', patienceMs);
      });

      it('start at the end without committed offsets when fromBeginning is false', async () => {
        const t = await topic('ct-latest', 1);
        const producer = await transport.producer();
        await producer.send(toPartition(t, 0, ['old-0', 'old-1', 'old-2']));

        const reader = await Reader.subscribe(transport, { topic: t, group: name('ct-latest-group'), fromBeginning: false });
        await sleep(settleMs);
        await producer.send(toPartition(t, 0, ['new-0', 'new-1']));
        await reader.waitForCount(2, patienceMs);
        await sleep(settleMs);
        expect(reader.values()).toEqual(['new-0', 'new-1']);
        expect(reader.records.map((r) => r.offset)).toEqual([3, 4]);
      });

      it('two members split six partitions; when one stops, the other gets all six', async () => {
        const t = await topic('ct-split', 6);
        const group = name('ct-split-group');
        const a = await Reader.subscribe(transport, { topic: t, group, commit: true });
        await waitFor(() => a.assignments.length > 0, 'the first assignment of a', patienceMs);
        expect(a.lastAssignment).toEqual([0, 1, 2, 3, 4, 5]);
        const b = await Reader.subscribe(transport, { topic: t, group, commit: true });

        const split = (): boolean => {
          const ours = a.lastAssignment ?? [];
          const theirs = b.lastAssignment ?? [];
          return ours.length === 3 && theirs.length === 3 && [...ours, ...theirs].sort().join() === '0,1,2,3,4,5';
        };
        await waitFor(split, () => `a 3/3 split (a: ${a.lastAssignment}, b: ${b.lastAssignment})`, patienceMs);
        const ofA = new Set(a.lastAssignment);

        const producer = await transport.producer();
        await producer.send(range(6).flatMap((p) => toPartition(t, p, [`before-${p}-0`, `before-${p}-1`])));
        await waitFor(() => a.records.length + b.records.length >= 12, 'the 12 records split between a and b', patienceMs);
        expect(a.records.every((r) => ofA.has(r.partition))).toBe(true);
        expect(b.records.every((r) => !ofA.has(r.partition))).toBe(true);
        expect(a.maxRunning).toBe(1);
        expect(b.maxRunning).toBe(1);

        await a.subscription.stop();
        await a.subscription.done;
        await waitFor(() => b.lastAssignment?.length === 6, () => `b to own all 6 (b: ${b.lastAssignment})`, patienceMs);
        expect(b.lastAssignment).toEqual([0, 1, 2, 3, 4, 5]);

        await producer.send(range(6).flatMap((p) => toPartition(t, p, [`after-${p}`])));
        await waitFor(
          () => b.values().filter((v) => v.startsWith('after-')).length >= 6,
          () => `b to read the 6 "after" records (has ${b.values().join(' ')})`,
          patienceMs,
        );
        expect(new Set(b.records.filter((r) => dec(r.value).startsWith('after-')).map((r) => r.partition))).toEqual(new Set(range(6)));
        // Everything a committed was left alone: b only took over from the committed offsets.
        const fromA = new Set(a.values());
        expect(b.values().filter((v) => fromA.has(v))).toEqual([]);
      });

      it('call onAssign before any batch, so that it can seek', async () => {
        const t = await topic('ct-assign-seek', 2);
        const producer = await transport.producer();
        await producer.send([...toPartition(t, 0, ['a0', 'a1', 'a2']), ...toPartition(t, 1, ['b0', 'b1', 'b2'])]);

        let seeked = false;
        const reader = await Reader.subscribe(transport, {
          topic: t,
          group: name('ct-assign-seek-group'),
          onAssign: async (partitions, self) => {
            await self.whenReady();
            for (const p of partitions) self.subscription.seek(p, 1);
            seeked = true;
          },
        });
        await reader.waitForCount(4, patienceMs);
        await sleep(settleMs);
        expect(seeked).toBe(true);
        expect(reader.events[0]).toBe('assign:0,1');
        expect(reader.values().sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
      });
    });

    describe('reading', () => {
      it('seek re-reads a partition from the given offset', async () => {
        const t = await topic('ct-seek', 2);
        const producer = await transport.producer();
        await producer.send([...toPartition(t, 0, ['a0', 'a1', 'a2', 'a3']), ...toPartition(t, 1, ['b0', 'b1'])]);
        const reader = await Reader.subscribe(transport, { topic: t, group: null });
        await reader.waitForCount(6, patienceMs);

        reader.subscription.seek(0, 2);
        await reader.waitForCount(8, patienceMs);
        await sleep(settleMs);
        expect(reader.records.slice(6).map((r) => [r.partition, r.offset, dec(r.value)])).toEqual([
          [0, 2, 'a2'],
          [0, 3, 'a3'],
        ]);
        expect(reader.records).toHaveLength(8);
      });

      it('never runs two eachBatch calls of one subscription at the same time', async () => {
        const t = await topic('ct-serial', 3);
        const producer = await transport.producer();
        for (let round = 0; round < 5; round += 1) {
          await producer.send(range(3).flatMap((p) => toPartition(t, p, [`r${round}-p${p}`])));
        }
        const reader = await Reader.subscribe(transport, {
          topic: t,
          group: name('ct-serial-group'),
          eachBatch: () => sleep(5),
        });
        await reader.waitForCount(15, patienceMs);
        expect(reader.maxRunning).toBe(1);
      });

      it('done rejects with the error eachBatch threw, and no batch follows', async () => {
        const t = await topic('ct-throw', 1);
        const producer = await transport.producer();
        await producer.send(toPartition(t, 0, ['boom']));
        let calls = 0;
        const reader = await Reader.subscribe(transport, {
          topic: t,
          group: name('ct-throw-group'),
          eachBatch: async () => {
            calls += 1;
            throw new Error('eachBatch failed on purpose');
          },
        });
        await expect(reader.subscription.done).rejects.toThrow('eachBatch failed on purpose');
        await producer.send(toPartition(t, 0, ['more']));
        await sleep(settleMs);
        expect(calls).toBe(1);
        await reader.subscription.stop();
      });

      it('stop() resolves only after the running eachBatch has finished', async () => {
        const t = await topic('ct-stop', 1);
        const producer = await transport.producer();
        await producer.send(toPartition(t, 0, ['slow']));
        let open!: () => void;
        const gate = new Promise<void>((resolve) => {
          open = resolve;
        });
        let finished = false;
        const reader = await Reader.subscribe(transport, {
          topic: t,
          group: name('ct-stop-group'),
          eachBatch: async () => {
            await gate;
            finished = true;
          },
        });
        await waitFor(() => reader.running === 1, 'eachBatch to start', patienceMs);
        let stopped = false;
        const stopping = reader.subscription.stop().then(() => {
          stopped = true;
        });
        await sleep(200);
        expect(stopped).toBe(false);
        open();
        await stopping;
        expect(finished).toBe(true);
        await expect(reader.subscription.done).resolves.toBeUndefined();
      });

      it('stop() from inside eachBatch returns without deadlock', async () => {
        const t = await topic('ct-self-stop', 1);
        const producer = await transport.producer();
        await producer.send(toPartition(t, 0, ['first']));
        const reader = await Reader.subscribe(transport, {
          topic: t,
          group: name('ct-self-stop-group'),
          eachBatch: async (_batch, self) => {
            await self.whenReady();
            await self.subscription.stop();
          },
        });
        await expect(reader.subscription.done).resolves.toBeUndefined();
        await producer.send(toPartition(t, 0, ['second']));
        await sleep(settleMs);
        expect(reader.values()).toEqual(['first']);
      });
    });

    describe('transactions', () => {
      it('make sends and offsets visible together, and an aborted one leaves neither', async () => {
        const input = await topic('ct-tx-in', 1);
        const output = await topic('ct-tx-out', 2);
        const group = name('ct-tx-group');
        const producer = await transport.producer({ transactionalId: name('ct-tx-id') });

        await expect(
          producer.transaction(async (tx) => {
            await tx.send([{ topic: output, partition: 0, key: 'x', value: enc('aborted') }]);
            await tx.sendOffsets(group, [{ topic: input, partition: 0, offset: 5 }]);
            throw new Error('abort this one');
          }),
        ).rejects.toThrow('abort this one');
        expect(await transport.committedOffsets(group, input)).toEqual([-1]);

        await producer.transaction(async (tx) => {
          await tx.send([{ topic: output, partition: 0, key: 'y', value: enc('committed') }]);
          await tx.send([{ topic: output, partition: 1, key: 'z', value: enc('committed-too') }]);
          await tx.sendOffsets(group, [{ topic: input, partition: 0, offset: 2 }]);
        });
        expect(await transport.committedOffsets(group, input)).toEqual([2]);

        // Read past the aborted record: 'committed' comes after it in partition 0.
        const broadcast = await Reader.subscribe(transport, { topic: output, group: null });
        const grouped = await Reader.subscribe(transport, { topic: output, group: name('ct-tx-reader'), readCommitted: true });
        for (const reader of [broadcast, grouped]) {
          await reader.waitForCount(2, patienceMs);
        }
        await sleep(settleMs);
        for (const reader of [broadcast, grouped]) {
          expect(reader.values().sort()).toEqual(['committed', 'committed-too']);
        }
      });

      it('consume-transform-produce: output and input offsets commit together, retried after an abort', async () => {
        const input = await topic('ct-ctp-in', 3);
        const output = await topic('ct-ctp-out', 3);
        const group = name('ct-ctp-group');
        const numbers = range(12).map((i) => i + 1);
        const plain = await transport.producer();
        await plain.send(numbers.map((n) => ({ topic: input, key: `n${n}`, value: enc(String(n)) })));

        const producer = await transport.producer({ transactionalId: name('ct-ctp-id') });
        let aborted = 0;
        const stage = await Reader.subscribe(transport, {
          topic: input,
          group,
          eachBatch: async (batch) => {
            for (let attempt = 0; ; attempt += 1) {
              try {
                await producer.transaction(async (tx) => {
                  await tx.send(
                    batch.records.map((r) => ({ topic: output, key: r.key, value: enc(String(Number(dec(r.value)) ** 2)) })),
                  );
                  const last = batch.records[batch.records.length - 1];
                  await tx.sendOffsets(group, [{ topic: input, partition: batch.partition, offset: last.offset + 1 }]);
                  if (attempt === 0 && batch.records.some((r) => dec(r.value) === '7')) throw new Error('transient');
                });
                return;
              } catch (error) {
                if (attempt > 0) throw error;
                aborted += 1;
              }
            }
          },
        });

        const ends = await transport.endOffsets(input);
        await waitFor(
          async () => (await transport.committedOffsets(group, input)).join() === ends.join(),
          'the stage to commit every input offset',
          patienceMs,
        );
        expect(aborted).toBe(1);
        await stage.subscription.stop();
        await stage.subscription.done;

        const reader = await Reader.subscribe(transport, { topic: output, group: null });
        await reader.waitForCount(numbers.length, patienceMs);
        await sleep(settleMs);
        expect(reader.values().map(Number).sort((x, y) => x - y)).toEqual(numbers.map((n) => n * n));
        for (const record of reader.records) {
          expect(record.partition).toBe(partitionForKey(record.key ?? '', 3));
        }
      });

      it('onPosition reaches the end offsets, past commit markers and aborted records', async () => {
        const t = await topic('ct-pos', 3);
        const producer = await transport.producer({ transactionalId: name('ct-pos-id') });
        await producer.transaction(async (tx) => tx.send(toPartition(t, 0, ['a', 'b'])));
        await expect(
          producer.transaction(async (tx) => {
            await tx.send(toPartition(t, 0, ['aborted-0']));
            await tx.send(toPartition(t, 1, ['aborted-1']));
            throw new Error('abort');
          }),
        ).rejects.toThrow('abort');
        await producer.transaction(async (tx) => tx.send(toPartition(t, 0, ['c'])));
        // Partition 0 ends with a commit marker, partition 1 holds only an aborted record and
        // its marker (Kafka), partition 2 is empty.
        const ends = await transport.endOffsets(t);
        const positions = new Map<number, number[]>();
        const reader = await Reader.subscribe(transport, {
          topic: t,
          group: name('ct-pos-group'),
          readCommitted: true,
          onPosition: (partition, next) => positions.set(partition, [...(positions.get(partition) ?? []), next]),
        });
        const reached = (p: number): boolean => (ends[p] === 0 ? true : (positions.get(p) ?? []).includes(ends[p]));
        await waitFor(() => range(3).every(reached), () => `positions ${JSON.stringify([...positions])} to reach ${ends.join()}`, patienceMs);
        await sleep(settleMs);
        expect(reader.values()).toEqual(['a', 'b', 'c']);
        for (const [p, seen] of positions) {
          // Non-decreasing and ending exactly at the end offset.
          expect([...seen].sort((x, y) => x - y)).toEqual(seen);
          expect(Math.max(...seen)).toBe(ends[p]);
        }
        expect(positions.has(2)).toBe(false);
      });

      it('need a transactional id', async () => {
        const producer = await transport.producer();
        await expect(producer.transaction(async () => undefined)).rejects.toThrow(/transactionalId/);
      });
    });
  });
}

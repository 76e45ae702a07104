import { runIngest, type IngestHandle, type IngestOptions, type IngestProgress } from '../../stages/ingest/ingest-stage';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { CellValue } from '../../core/normalization/column-summary';
import { deadLetterCodec, type DeadLetterRecord } from '../../topics/dead-letter';
import { MemoryTransport } from '../../topics/memory';
import { rowCells, type RowBatch } from '../../topics/row-batch';
import { rowBatchCodec } from '../../topics/row-batch-codec';
import { topicNames, topicSpecs, type TopicNames } from '../../topics/topology';
import type { InRecord, OutRecord, Transport } from '../../topics/transport';

const COLUMNS: ColumnSpec[] = [
  { name: 'Amount', type: 'continuous' },
  { name: 'Network', type: 'categorical' },
];
const GROUP = 'ingest-test';
const enc = new TextEncoder();

let counter = 0;

async function setup(partitions = 2): Promise<{ transport: MemoryTransport; topics: TopicNames }> {
  const transport = new MemoryTransport();
  const topics = topicNames(`t${(counter += 1)}`);
  await transport.ensureTopics(topicSpecs(topics, partitions));
  return { transport, topics };
}

async function produce(transport: Transport, topic: string, messages: [number, string | Uint8Array][]): Promise<void> {
  const producer = await transport.producer();
  const records: OutRecord[] = messages.map(([partition, value]) => ({
    topic,
    partition,
    key: null,
    value: typeof value === 'string' ? enc.encode(value) : value,
  }));
  await producer.send(records);
  await producer.close();
}

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits until the group has committed every record of the rows topic. */
async function caughtUp(transport: Transport, topics: TopicNames, group = GROUP): Promise<void> {
  await waitFor(async () => {
    const [committed, end] = await Promise.all([transport.committedOffsets(group, topics.rows), transport.endOffsets(topics.rows)]);
    return end.every((e, p) => (committed[p] ?? -1) === e);
  }, 'the ingest group to commit every row');
}

/** Every record of a topic, read by a broadcast subscription. */
async function readTopic(transport: Transport, topic: string): Promise<InRecord[]> {
  const end = await transport.endOffsets(topic);
  const total = end.reduce((a, b) => a + b, 0);
  const records: InRecord[] = [];
  const sub = await transport.subscribe({
    topic,
    group: null,
    eachBatch: async (batch) => {
      records.push(...batch.records);
    },
  });
  await waitFor(async () => records.length >= total, `${total} records of ${topic}`);
  await sub.stop();
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

interface Row {
  readonly partition: number;
  readonly offset: number;
  readonly row: number;
  readonly cells: CellValue[];
}

async function readBatches(transport: Transport, topics: TopicNames): Promise<{ records: InRecord[]; batches: RowBatch[]; rows: Row[] }> {
  const records = await readTopic(transport, topics.batches);
  const batches = records.map((r) => rowBatchCodec.decode(r.value));
  const rows: Row[] = [];
  records.forEach((record, k) => {
    const b = batches[k] as RowBatch;
    expect(record.partition).toBe(b.sourcePartition);
    expect(record.key).toBe(`${b.sourcePartition}:${b.coveredFrom}`);
    expect(b.sourceTopic).toBe(topics.rows);
    for (let i = 0; i < b.length; i++) {
      rows.push({ partition: b.sourcePartition, offset: b.sourceOffsets[i] as number, row: b.rowInMessage[i] as number, cells: rowCells(b, i) });
    }
  });
  return { records, batches, rows };
}

async function readDeadLetters(transport: Transport, topics: TopicNames): Promise<DeadLetterRecord[]> {
  const records = await readTopic(transport, topics.deadLetters);
  return records.map((r) => {
    const d = deadLetterCodec.decode(r.value);
    expect(r.partition).toBe(d.partition);
    expect(r.key).toBe(`${d.partition}:${d.offset}`);
    return d;
  });
}

/** Per partition, the batches cover [0, end) contiguously. */
function expectContiguous(batches: readonly RowBatch[], end: readonly number[]): void {
  end.forEach((e, p) => {
    let covered = 0;
    for (const b of batches.filter((x) => x.sourcePartition === p)) {
      expect(b.coveredFrom).toBe(covered);
      covered = b.coveredTo;
    }
    expect(covered).toBe(e);
  });
}

function start(options: Omit<IngestOptions, 'columns' | 'group'> & Partial<Pick<IngestOptions, 'columns' | 'group'>>): Promise<IngestHandle> {
  return runIngest({ columns: COLUMNS, group: GROUP, ...options });
}

describe('runIngest over the memory transport', () => {
  it('publishes row batches and dead letters per source partition, and commits the offsets', async () => {
    const { transport, topics } = await setup();
    await produce(transport, topics.rows, [
      [0, 'Amount,Network\n1,a\n2,b\n'],
      [0, 'x,c\r\n3,"d,e"'],
      [1, '4,e\r\n5,"multi\nline"\n'],
      [1, new Uint8Array([...enc.encode('6,ok\n7,b'), 0xff, ...enc.encode('ad\n')])],
      [1, '8,h,extra\n'],
      [1, 'Amount,Network\n'],
    ]);
    const progress: IngestProgress[] = [];
    const handle = await start({ transport, topics, header: true, onProgress: (p) => progress.push(p) });
    await caughtUp(transport, topics);
    await handle.stop();
    await handle.done;

    const { batches, rows } = await readBatches(transport, topics);
    expect(rows).toEqual([
      { partition: 0, offset: 0, row: 0, cells: [1, 'a'] },
      { partition: 0, offset: 0, row: 1, cells: [2, 'b'] },
      { partition: 0, offset: 1, row: 1, cells: [3, 'd,e'] },
      { partition: 1, offset: 0, row: 0, cells: [4, 'e'] },
      { partition: 1, offset: 0, row: 1, cells: [5, 'multi\nline'] },
      { partition: 1, offset: 1, row: 0, cells: [6, 'ok'] },
    ]);
    expectContiguous(batches, [2, 4]);

    const dead = await readDeadLetters(transport, topics);
    expect(dead).toEqual([
      { raw: 'x,c', reason: 'column Amount: "x" is not a finite number', topic: topics.rows, partition: 0, offset: 1, line: 1, column: 'Amount' },
      { raw: '7,b\uFFFDad', reason: 'invalid UTF-8 on line 2 at byte 4 of the line (0xff)', topic: topics.rows, partition: 1, offset: 1, line: 2 },
      { raw: '8,h,extra', reason: 'expected 2 fields, got 3', topic: topics.rows, partition: 1, offset: 2, line: 1 },
    ]);
    expect(handle.stats()).toEqual({ rows: 6, deadLettered: 3 });
    expect(progress[progress.length - 1]).toEqual({ rows: 6, deadLettered: 3 });
    await transport.close();
  });

  it('resumes where the group left off, without duplicates', async () => {
    const { transport, topics } = await setup();
    await produce(transport, topics.rows, [
      [0, '1,a\n2,b\n'],
      [1, '3,c\n'],
    ]);
    const first = await start({ transport, topics });
    await caughtUp(transport, topics);
    await first.stop();

    await produce(transport, topics.rows, [
      [0, '4,d\n'],
      [1, 'bad\n5,e\n'],
      [1, 'bad'],
    ]);
    const second = await start({ transport, topics });
    await caughtUp(transport, topics);
    await second.stop();
    await second.done;
    expect(second.stats()).toEqual({ rows: 2, deadLettered: 2 });

    const { batches, rows } = await readBatches(transport, topics);
    expect(rows.map((r) => [r.partition, r.offset, r.cells[0]])).toEqual([
      [0, 0, 1],
      [0, 0, 2],
      [0, 1, 4],
      [1, 0, 3],
      [1, 1, 5],
    ]);
    // The second run continues each partition's coverage, the all-bad message included.
    expectContiguous(batches, [2, 3]);
    expect((await readDeadLetters(transport, topics)).map((d) => [d.partition, d.offset, d.line])).toEqual([
      [1, 1, 1],
      [1, 2, 1],
    ]);
    await transport.close();
  });

  it('publishes nothing from a transaction that fails, and a restart redoes it exactly once', async () => {
    const { transport, topics } = await setup(1);
    await produce(transport, topics.rows, [
      [0, '1,a\n'],
      [0, 'bad\n'],
      [0, '2,b\n'],
    ]);
    // A transport whose first transaction fails after everything was sent (a crash before commit).
    let failures = 1;
    const faulty: Transport = {
      ensureTopics: (s) => transport.ensureTopics(s),
      endOffsets: (t) => transport.endOffsets(t),
      startOffsets: (t) => transport.startOffsets(t),
      committedOffsets: (g, t) => transport.committedOffsets(g, t),
      groupMembers: (g) => transport.groupMembers(g),
      subscribe: (o) => transport.subscribe(o),
      close: () => transport.close(),
      producer: async (o) => {
        const p = await transport.producer(o);
        return {
          send: (r) => p.send(r),
          close: () => p.close(),
          transaction: (work) =>
            p.transaction(async (tx) => {
              await work(tx);
              if (failures > 0) {
                failures -= 1;
                throw new Error('crash before commit');
              }
            }),
        };
      },
    };
    const crashed = await start({ transport: faulty, topics });
    await expect(crashed.done).rejects.toThrow('crash before commit');
    await crashed.stop();
    expect(await transport.endOffsets(topics.batches)).toEqual([0]);
    expect(await transport.endOffsets(topics.deadLetters)).toEqual([0]);
    expect(await transport.committedOffsets(GROUP, topics.rows)).toEqual([-1]);

    const again = await start({ transport, topics });
    await caughtUp(transport, topics);
    await again.stop();
    const { batches, rows } = await readBatches(transport, topics);
    expect(rows.map((r) => r.cells)).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    expectContiguous(batches, [3]);
    expect((await readDeadLetters(transport, topics)).map((d) => d.offset)).toEqual([1]);
    await transport.close();
  });

  it('refuses a batches or dead-letter topic with fewer partitions than the rows topic', async () => {
    const transport = new MemoryTransport();
    const topics = topicNames(`t${(counter += 1)}`);
    await transport.ensureTopics(topicSpecs(topics, 3).map((s) => (s.name === topics.batches ? { ...s, partitions: 2 } : s)));
    await expect(start({ transport, topics })).rejects.toThrow(/has 2 partitions but .* has 3/);
    await transport.close();
  });

  it('refuses bad columns and options before subscribing', async () => {
    const { transport, topics } = await setup();
    await expect(start({ transport, topics, columns: [] })).rejects.toThrow(/at least one column/);
    await expect(start({ transport, topics, columns: [{ name: '_row_in_message', type: 'continuous' }] })).rejects.toThrow(/reserved/);
    await expect(start({ transport, topics, maxRecordBytes: 0 })).rejects.toThrow(/maxRecordBytes/);
    await transport.close();
  });
});

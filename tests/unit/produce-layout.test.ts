/**
 * `vgmflow produce`'s default layout (blocks of whole records up to a byte bound) and the file
 * jobs' copy of it: a row of a file must get, embedded, the row id that ingest gives it on
 * Kafka after produce (same message, same index in it), whatever the file holds — invalid
 * UTF-8, blank lines, CRLF, quoted line breaks, a record larger than the bound. And a dead
 * letter's line within its message must map back to the file's line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { MessageBlocks } from '../../core/csv/message-layout';
import { parseRow } from '../../core/csv/row-parser';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import { produceFile, type ProduceFileReport } from '../../pipeline/jobs/produce-file';
import { readTopicToEnd } from '../../pipeline/runners/read-topic';
import { ingestMessages } from '../../stages/ingest/ingest-batch';
import { readPlacedCsvRecordChunks } from '../../topics/files/csv-file';
import { MemoryTransport } from '../../topics/memory';
import type { InRecord } from '../../topics/transport';

const COLUMNS: ColumnSpec[] = [
  { name: 'Amount', type: 'continuous' },
  { name: 'Network', type: 'categorical' },
];
const PARTITIONS = 6;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'produce-layout-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function produced(path: string, limits: { maxMessageBytes?: number; rowsPerMessage?: number }): Promise<{ report: ProduceFileReport; records: InRecord[] }> {
  const transport = new MemoryTransport();
  await transport.ensureTopics([{ name: 'rows', partitions: PARTITIONS, config: {} }]);
  const report = await produceFile({ transport, topic: 'rows', input: path, trackLines: true, ...limits });
  const records = await readTopicToEnd(transport, 'rows');
  await transport.close();
  // In produce order: message j is partition j mod P, offset floor(j / P).
  records.sort((a, b) => a.offset * PARTITIONS + a.partition - (b.offset * PARTITIONS + b.partition));
  return { report, records };
}

describe('MessageBlocks', () => {
  it('fills a message up to the bound, counting the newline between records, and gives a larger record its own', () => {
    const blocks = new MessageBlocks({ maxMessageBytes: 10 });
    const starts = [3, 3, 2, 1, 20, 1, 10, 10].map((n) => blocks.place(n));
    // 3+1+3 = 7, +1+2 = 10 fits; +1+1 = 12 does not.
    expect(starts).toEqual([true, false, false, true, true, true, true, true]);
    expect(blocks.messages).toBe(6);
  });

  it('with rowsPerMessage, counts rows whatever their size', () => {
    const blocks = new MessageBlocks({ rowsPerMessage: 2 });
    expect([1, 1e9, 5, 5, 5].map((n) => blocks.place(n))).toEqual([true, false, true, false, true]);
  });
});

describe('produce blocks and the file jobs\' row ids', () => {
  // Records of several sizes and kinds; the bound of 40 bytes makes many messages.
  const body = [
    Buffer.from('1.5,visa\n2,"master\ncard"\r\n\n\n3,amex\n'),
    Buffer.concat([Buffer.from('4,vi'), Buffer.from([0xff, 0xfe]), Buffer.from('sa\n')]),
    Buffer.from(`5,${'x'.repeat(60)}\n`),
    Buffer.from('6,a\r7,b\n,\n8\n9,"q""q"\n'),
    Buffer.from(Array.from({ length: 30 }, (_, i) => `${10 + i},n${i % 4}\n`).join('')),
    Buffer.from('40,"open\n41,last'),
  ];
  const file = (): string => {
    const path = join(dir, 'mixed.csv');
    writeFileSync(path, Buffer.concat([Buffer.from('\uFEFFAmount,Network\n'), ...body]));
    return path;
  };

  it('sends whole records, joined by \\n, at most the bound per message unless one record is larger', async () => {
    const { report, records } = await produced(file(), { maxMessageBytes: 40 });
    expect(report.header).toEqual(['Amount', 'Network']);
    expect(report.messages).toBe(records.length);
    for (const r of records) {
      const text = Buffer.from(r.value).toString('latin1');
      const isLong = text.includes('x'.repeat(60));
      if (!isLong) expect(r.value.length).toBeLessThanOrEqual(40);
      else expect(text).toBe(`5,${'x'.repeat(60)}`);
    }
    // Every byte of every record is there, invalid UTF-8 included; CRLF and blank lines become one \n.
    const all = Buffer.concat(records.flatMap((r, i) => (i === 0 ? [Buffer.from(r.value)] : [Buffer.from('\n'), Buffer.from(r.value)])));
    expect(all.includes(Buffer.from([0x34, 0x2c, 0x76, 0x69, 0xff, 0xfe]))).toBe(true);
    expect(all.toString('latin1').startsWith('1.5,visa\n2,"master\ncard"\n3,amex\n4,vi')).toBe(true);
  });

  it.each([[{ maxMessageBytes: 40 }], [{ maxMessageBytes: 1 }], [{}], [{ rowsPerMessage: 3 }]])('gives every row the id ingest gives it after produce (%j)', async (limits) => {
    const path = file();
    const { report, records } = await produced(path, limits);
    const ingested = ingestMessages(records, COLUMNS);
    const onKafka: string[] = [];
    for (const b of ingested.batches) for (let i = 0; i < b.length; i++) onKafka.push(`${b.sourcePartition}:${b.sourceOffsets[i]}:${b.rowInMessage[i]}`);

    const embedded: string[] = [];
    const letterIds: string[] = [];
    for await (const placed of readPlacedCsvRecordChunks(path, limits, { header: true })) {
      placed.records.forEach((r, k) => {
        const j = placed.messages[k] as number;
        if (j < 0) return;
        const id = `${j % PARTITIONS}:${Math.floor(j / PARTITIONS)}:${placed.rowsInMessage[k]}`;
        const good = r.kind === 'record' && parseRow(COLUMNS, [0, 1], r.fields, 2).ok;
        (good ? embedded : letterIds).push(id);
      });
    }
    // Ingest emits batches by partition, the file in produce order: compare as sets (ids are unique).
    expect(embedded.sort()).toEqual(onKafka.sort());
    expect(new Set(embedded).size).toBe(embedded.length);
    // And every dead letter's line maps back to its line in the file (the header is line 1).
    const located = ingested.deadLetters.map((d) => report.lines?.fileLine(d.offset * PARTITIONS + d.partition, d.line));
    expect(located).toEqual([8, 12, 13, 45]);
    expect(ingested.rows + ingested.deadLetters.length).toBe(report.rows);
    expect(letterIds).toHaveLength(ingested.deadLetters.length);
  });
});

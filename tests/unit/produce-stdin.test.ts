/**
 * `vgmflow produce -` reads the CSV text from standard input (the bench pipes its generator
 * in, so a 100M-row input never sits on disk). It must land exactly as the same text read
 * from a file does: message j at partition j mod P, the header dropped, the bytes kept.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Readable } from 'stream';
import { produceFile } from '../../pipeline/jobs/produce-file';
import { readTopicToEnd } from '../../pipeline/runners/read-topic';
import { MemoryTransport } from '../../topics/memory';

const TEXT = 'Amount,Tip\n1.5,0\n2.25,1\n"3",2\n4e3,0\n5,0\n6,0\n7,0\n8,9\n';

async function landed(input: string, stdin?: Readable): Promise<{ partitions: string[][]; rows: number; messages: number; header: string[] | null }> {
  const transport = new MemoryTransport();
  await transport.ensureTopics([{ name: 'rows', partitions: 3, config: {} }]);
  const report = await produceFile({ transport, topic: 'rows', input, rowsPerMessage: 2, stdin });
  const partitions: string[][] = [[], [], []];
  for (const r of await readTopicToEnd(transport, 'rows')) partitions[r.partition][r.offset] = Buffer.from(r.value).toString('latin1');
  await transport.close();
  return { partitions, rows: report.rows, messages: report.messages, header: report.header };
}

test('produce - reads standard input and lays it out as the same file would', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'produce-stdin-'));
  try {
    const path = join(dir, 'in.csv');
    writeFileSync(path, TEXT);
    const fromFile = await landed(path);
    // Chunks that split records mid-field, as a pipe may.
    const chunks = [TEXT.slice(0, 5), TEXT.slice(5, 17), TEXT.slice(17)].map((t) => Buffer.from(t, 'latin1'));
    const fromStdin = await landed('-', Readable.from(chunks));
    expect(fromStdin).toEqual(fromFile);
    expect(fromStdin.rows).toBe(8);
    expect(fromStdin.messages).toBe(4);
    expect(fromStdin.header).toEqual(['Amount', 'Tip']);
    expect(fromStdin.partitions[0]).toEqual(['1.5,0\n2.25,1', '7,0\n8,9']);
    expect(fromStdin.partitions[1]).toEqual(['"3",2\n4e3,0']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

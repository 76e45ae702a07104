/**
 * Writes a CSV file to the input topic: the header line is dropped (column names and
 * types come from configuration), each record's raw text is sent as is (malformed ones
 * too: ingest dead-letters them with a reason), `rowsPerMessage` records per message.
 * Message j goes to partition j mod P, so the same file always lands the same way.
 */
import { readCsvRecords } from '../../stages/ingest/csv-file';
import type { OutRecord, Transport } from '../../topics/transport';
import { assertReadable } from './read-table';

export interface ProduceFileOptions {
  readonly transport: Transport;
  readonly topic: string;
  readonly input: string;
  readonly rowsPerMessage?: number;
  /** Keep the header line (the file has none); default false. */
  readonly noHeader?: boolean;
  readonly onProgress?: (rows: number) => void;
  /** Record the file line of each message's first row (for dead-letter reports). */
  readonly trackLines?: boolean;
}

export interface ProduceFileReport {
  readonly header: string[] | null;
  readonly rows: number;
  readonly messages: number;
  readonly partitions: number;
  /** With trackLines: the file line of message j's first row; message j is at partition j mod P, offset ⌊j/P⌋ of a new topic. */
  readonly messageLines: number[];
}

const SEND_BATCH = 500;

export async function produceFile(o: ProduceFileOptions): Promise<ProduceFileReport> {
  await assertReadable(o.input);
  const rowsPerMessage = o.rowsPerMessage ?? 1;
  if (!Number.isInteger(rowsPerMessage) || rowsPerMessage < 1) throw new RangeError('rowsPerMessage must be a positive integer');
  const partitions = (await o.transport.endOffsets(o.topic)).length;
  if (partitions === 0) throw new RangeError(`topic ${o.topic} does not exist`);
  const producer = await o.transport.producer();
  let header: string[] | null = null;
  let pendingRows: string[] = [];
  const messageLines: number[] = [];
  let out: OutRecord[] = [];
  let rows = 0;
  let messages = 0;
  const flushMessage = () => {
    if (pendingRows.length === 0) return;
    out.push({ topic: o.topic, partition: messages % partitions, key: null, value: Buffer.from(pendingRows.join('\n'), 'utf8') });
    messages++;
    pendingRows = [];
  };
  try {
    let first = !o.noHeader;
    for await (const record of readCsvRecords(o.input)) {
      if (first) {
        first = false;
        header = record.kind === 'record' ? record.fields : null;
        continue;
      }
      if (o.trackLines && pendingRows.length === 0) messageLines.push(record.line);
      pendingRows.push(record.raw);
      rows++;
      if (pendingRows.length >= rowsPerMessage) flushMessage();
      if (out.length >= SEND_BATCH) {
        await producer.send(out);
        out = [];
        o.onProgress?.(rows);
      }
    }
    flushMessage();
    if (out.length > 0) await producer.send(out);
  } finally {
    await producer.close();
  }
  return { header, rows, messages, partitions, messageLines };
}

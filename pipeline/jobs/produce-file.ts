/**
 * Writes a CSV file to the input topic: the header line is dropped (column names and
 * types come from configuration), each record's bytes are sent exactly as they are in
 * the file — malformed ones too, invalid UTF-8 included, since ingest dead-letters them
 * with a reason — `rowsPerMessage` records per message. Message j goes to partition
 * j mod P, so the same file always lands the same way. The input `-` is standard input
 * (or `o.stdin`), so a generator can be piped in without the file ever being on disk.
 */
import { createReadStream } from 'fs';
import type { Readable } from 'stream';
import { CsvParser, type CsvRecord } from '../../core/csv/csv';
import type { OutRecord, Transport } from '../../topics/transport';
import { assertReadable } from './read-table';

export interface ProduceFileOptions {
  readonly transport: Transport;
  readonly topic: string;
  /** A file path, or `-` for standard input. */
  readonly input: string;
  /** What `-` reads; default process.stdin (a test passes its own stream). */
  readonly stdin?: Readable;
  readonly rowsPerMessage?: number;
  /** The file has no header line; default false. */
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
/**
 * Records are split here only to be sent, never rejected: the limit is far above ingest's
 * (1 MiB), so an over-long record reaches ingest whole and is dead-lettered there.
 */
const PRODUCE_MAX_RECORD_BYTES = 15 * 1024 * 1024;

/**
 * The file's records with their exact bytes. The parser runs over latin1 text, where
 * every byte is one character: the CSV syntax is ASCII, so records split as in UTF-8,
 * and `Buffer.from(raw, 'latin1')` gives back the original bytes, valid UTF-8 or not.
 */
async function* byteRecords(source: Readable): AsyncGenerator<CsvRecord, void, undefined> {
  const parser = new CsvParser({ maxRecordBytes: PRODUCE_MAX_RECORD_BYTES });
  for await (const chunk of source) {
    yield* parser.push((chunk as Buffer).toString('latin1'));
  }
  yield* parser.end();
}

export async function produceFile(o: ProduceFileOptions): Promise<ProduceFileReport> {
  const fromStdin = o.input === '-';
  if (!fromStdin) await assertReadable(o.input);
  const rowsPerMessage = o.rowsPerMessage ?? 1;
  if (!Number.isInteger(rowsPerMessage) || rowsPerMessage < 1) throw new RangeError('rowsPerMessage must be a positive integer');
  const partitions = (await o.transport.endOffsets(o.topic)).length;
  if (partitions === 0) throw new RangeError(`topic ${o.topic} does not exist`);
  const producer = await o.transport.producer();
  let header: string[] | null = null;
  let pendingRows: Buffer[] = [];
  const messageLines: number[] = [];
  let out: OutRecord[] = [];
  let rows = 0;
  let messages = 0;
  const newline = Buffer.from('\n');
  const flushMessage = () => {
    if (pendingRows.length === 0) return;
    const parts = pendingRows.flatMap((r, i) => (i === 0 ? [r] : [newline, r]));
    out.push({ topic: o.topic, partition: messages % partitions, key: null, value: Buffer.concat(parts) });
    messages++;
    pendingRows = [];
  };
  try {
    let first = !o.noHeader;
    for await (const record of byteRecords(fromStdin ? (o.stdin ?? process.stdin) : createReadStream(o.input))) {
      if (first) {
        first = false;
        header = record.kind === 'record' ? record.fields.map((f) => Buffer.from(f, 'latin1').toString('utf8').replace(/^\uFEFF/, '')) : null;
        continue;
      }
      if (o.trackLines && pendingRows.length === 0) messageLines.push(record.line);
      pendingRows.push(Buffer.from(record.raw, 'latin1'));
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

/**
 * Writes a CSV file to the input topic: the header line is dropped (column names and types
 * come from configuration); each record's bytes are sent exactly as they are in the file —
 * malformed ones too, invalid UTF-8 included, since ingest dead-letters them with a reason —
 * joined by '\n' into messages of whole records: by default as many as fit in 1 MiB, or
 * `rowsPerMessage` each (core/csv/message-layout.ts, the rule every file job shares
 * for row ids). Message j goes to partition j mod P, so the same file always lands the same
 * way. The input `-` is standard input (or `o.stdin`), so a generator can be piped in without
 * the file ever being on disk.
 */
import { createReadStream } from 'fs';
import type { Readable } from 'stream';
import { CsvRecordSplitter } from '../../core/csv/record-splitter';
import { MessageBlocks, PRODUCE_MAX_RECORD_BYTES, type MessageLimits } from '../../core/csv/message-layout';
import type { OutRecord, Producer, Transport } from '../../topics/transport';
import { MessageBuffer, headerFields } from './message-buffer';
import { MessageLineMap } from './message-lines';
import { assertReadable } from './read-table';

export interface ProduceFileOptions extends MessageLimits {
  readonly transport: Transport;
  readonly topic: string;
  /** A file path, or `-` for standard input. */
  readonly input: string;
  /** What `-` reads; default process.stdin (a test passes its own stream). */
  readonly stdin?: Readable;
  /** The file has no header line; default false. */
  readonly noHeader?: boolean;
  readonly onProgress?: (rows: number) => void;
  /** Record where each message's lines are in the file (for dead-letter reports). */
  readonly trackLines?: boolean;
}

export interface ProduceFileReport {
  readonly header: string[] | null;
  readonly rows: number;
  readonly messages: number;
  readonly partitions: number;
  /** With trackLines: the file line of each message's lines; message j is at partition j mod P, offset ⌊j/P⌋ of a new topic. */
  readonly lines: MessageLineMap | null;
}

/** Bytes handed to one send (one in flight while the next are read): large enough to keep the broker busy. */
const SEND_BYTES = 4 * 1024 * 1024;
/** Messages handed to one send at most (small messages, e.g. one row each). */
const SEND_MESSAGES = 2000;
const READ_CHUNK_BYTES = 1024 * 1024;

/** Sends in order with one send in flight, so reading the file overlaps sending. */
class PipelinedSender {
  private batch: OutRecord[] = [];
  private bytes = 0;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly producer: Producer) {}

  add(record: OutRecord): boolean {
    this.batch.push(record);
    this.bytes += record.value.length;
    return this.bytes >= SEND_BYTES || this.batch.length >= SEND_MESSAGES;
  }

  /** Waits for the send in flight, then starts sending what was added since. */
  async flush(): Promise<void> {
    await this.inFlight;
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.bytes = 0;
    this.inFlight = this.producer.send(batch);
    // A failure surfaces at the next flush; until then it must not count as unhandled.
    this.inFlight.catch(() => undefined);
  }

  async finish(): Promise<void> {
    await this.flush();
    await this.inFlight;
  }
}

export async function produceFile(o: ProduceFileOptions): Promise<ProduceFileReport> {
  const fromStdin = o.input === '-';
  if (!fromStdin) await assertReadable(o.input);
  if (o.rowsPerMessage !== undefined && o.maxMessageBytes !== undefined) {
    throw new RangeError('give rowsPerMessage or maxMessageBytes, not both');
  }
  const blocks = new MessageBlocks(o);
  const partitions = (await o.transport.endOffsets(o.topic)).length;
  if (partitions === 0) throw new RangeError(`topic ${o.topic} does not exist`);
  const producer = await o.transport.producer();
  const sender = new PipelinedSender(producer);
  const lines = o.trackLines ? new MessageLineMap() : null;
  const message = new MessageBuffer();
  let header: string[] | null = null;
  let expectHeader = !o.noHeader;
  let rows = 0;
  let messages = 0;
  let full = false;
  const closeMessage = (): void => {
    if (message.rows === 0) return;
    if (sender.add({ topic: o.topic, partition: messages % partitions, key: null, value: message.take() })) full = true;
    messages++;
  };
  const onRecord = (bytes: Uint8Array, from: number, to: number, line: number, lastLine: number): void => {
    if (expectHeader) {
      expectHeader = false;
      header = headerFields(bytes.subarray(from, to));
      return;
    }
    if (blocks.place(to - from)) {
      closeMessage();
      lines?.startMessage();
    }
    message.append(bytes, from, to);
    lines?.addRecord(line, lastLine);
    rows++;
  };
  try {
    const splitter = new CsvRecordSplitter({ maxRecordBytes: PRODUCE_MAX_RECORD_BYTES });
    const source = fromStdin ? (o.stdin ?? process.stdin) : createReadStream(o.input, { highWaterMark: READ_CHUNK_BYTES });
    for await (const chunk of source) {
      splitter.push(chunk as Buffer, onRecord);
      message.flushRun();
      if (full) {
        full = false;
        await sender.flush();
        o.onProgress?.(rows);
      }
    }
    splitter.end(onRecord);
    message.flushRun();
    closeMessage();
    await sender.finish();
  } finally {
    await producer.close();
  }
  return { header, rows, messages, partitions, lines };
}

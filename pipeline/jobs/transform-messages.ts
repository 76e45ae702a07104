/**
 * The embedded transform's fast path for clean files. The file is read as `vgmflow produce`
 * sends it (the same record splitter and MessageBlocks, so the same messages and row ids), each
 * message is parsed by the ingest stage's own function into a row batch of typed columns, and
 * the batch is encoded as the transform stage encodes one: the output is the Kafka transform's
 * by construction, without a row object or a cell string per row. The messages are parsed,
 * encoded and written out as text on worker threads (./line-encoders.ts), while this thread
 * splits the file and writes the texts in order.
 *
 * It takes only what it can do row for row as the row path would: a header that is the model's
 * columns in order, no rejected record, no row the encoder refuses. At the first thing outside
 * that it gives up (null), and the caller transforms the file again on the row path
 * (./transform-file.ts), which reports each bad row as a dead letter or stops at it.
 */
import { createReadStream } from 'node:fs';
import { MessageBlocks, PRODUCE_MAX_RECORD_BYTES, type MessageLimits } from '../../core/csv/message-layout';
import { CsvRecordSplitter, type RecordSink } from '../../core/csv/record-splitter';
import type { TransformerModel } from '../../core/normalization/model';
import type { CsvFileWriter } from '../../topics/files/csv-file';
import { lineEncoders } from './line-encoders';
import type { ClipCounts, FileMessage, MessageLines } from './message-line-encoder';
import { headerFields, MessageBuffer } from './message-buffer';

export interface CleanTransformResult extends ClipCounts {
  readonly rowsRead: number;
  readonly rowsEncoded: number;
}

/** A message sent to be encoded: what the output and the progress need once its lines are back. */
interface InFlight {
  readonly records: number;
  readonly bytes: number;
  readonly lines: Promise<MessageLines | null>;
}

/**
 * Transforms a clean file into `out` (after its header line, which the caller writes), its
 * messages encoded on `threads` worker threads (0: this thread) and written in order; null,
 * having written an unknown part of the output, when the file is not clean.
 */
export async function transformCleanFile(
  input: string,
  model: TransformerModel,
  out: CsvFileWriter,
  limits: MessageLimits,
  onProgress: (rows: number, bytes: number) => void,
  threads: number,
): Promise<CleanTransformResult | null> {
  const names = model.columns.map((c) => c.name);
  const splitter = new CsvRecordSplitter({ maxRecordBytes: PRODUCE_MAX_RECORD_BYTES });
  const blocks = new MessageBlocks(limits);
  const message = new MessageBuffer();
  /** Messages complete and not yet sent to be encoded, in order; `closed` counts every message completed. */
  const ready: FileMessage[] = [];
  let closed = 0;
  const closeMessage = (): void => {
    if (message.rows === 0) return;
    const records = message.rows;
    ready.push({ index: closed++, records, value: message.take() });
  };
  /** Unknown until the header is read; false for a header that is not the model's columns in order. */
  let headerIsModel: boolean | undefined;
  let rowsRead = 0;
  let rowsEncoded = 0;
  let bytesRead = 0;
  const sink: RecordSink = (bytes, from, to) => {
    if (headerIsModel === undefined) {
      const header = headerFields(bytes.subarray(from, to));
      headerIsModel = header !== null && header.length === names.length && header.every((h, i) => h === names[i]);
      return;
    }
    if (blocks.place(to - from)) closeMessage();
    message.append(bytes, from, to);
  };
  const encoders = lineEncoders({ model, source: input }, threads);
  const inFlight: InFlight[] = [];
  /** Writes the oldest message's lines; false when it was not clean. */
  const settleOldest = async (): Promise<boolean> => {
    const oldest = inFlight.shift() as InFlight;
    const lines = await oldest.lines;
    if (lines === null) return false;
    await out.writeText(lines.text);
    rowsEncoded += lines.rows;
    rowsRead += oldest.records;
    bytesRead += oldest.bytes;
    onProgress(rowsRead, bytesRead);
    return true;
  };
  /** Sends the finished messages to be encoded, writing the oldest as it goes; false at the first thing the path does not take. */
  const drain = async (): Promise<boolean> => {
    if (headerIsModel === false) return false;
    for (const m of ready.splice(0)) {
      // Read before the message's bytes move to a thread.
      const bytes = m.value.length + 1;
      const lines = encoders.encode(m);
      // Failures surface through settleOldest, in order; until then they must not be unhandled.
      lines.catch(() => undefined);
      inFlight.push({ records: m.records, bytes, lines });
      while (inFlight.length >= encoders.parallelism) if (!(await settleOldest())) return false;
    }
    return true;
  };
  try {
    for await (const chunk of createReadStream(input, { highWaterMark: 1 << 20 })) {
      splitter.push(chunk as Buffer, sink);
      // The message's records are still views of this chunk: copy them before the next one.
      message.flushRun();
      if (!(await drain())) return null;
    }
    splitter.end(sink);
    closeMessage();
    if (headerIsModel !== true || !(await drain())) return null;
    while (inFlight.length > 0) if (!(await settleOldest())) return null;
    return { rowsRead, rowsEncoded, ...(await encoders.clipCounts()) };
  } finally {
    await encoders.close();
  }
}

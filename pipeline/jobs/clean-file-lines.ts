/**
 * The fast path of the embedded transform and inverse, for clean files. The file is read as
 * `vgmflow produce` sends it (the same record splitter and MessageBlocks, so the same messages
 * and, for the transform, the same row ids), and each message becomes its output lines on a
 * worker thread (./line-coders.ts): for the transform, parsed by the ingest stage's own function
 * and encoded as the transform stage encodes a row batch, so the output is the Kafka
 * transform's by construction; for the inverse, read as vectors and decoded. This thread only
 * splits the file and writes the lines in order.
 *
 * It takes only what it can do row for row as the row path would: a header that is the one
 * expected (the model's columns in order; the encoded layout's), and messages the coder takes
 * whole (no rejected record, no row the encoder or decoder refuses). At the first thing outside
 * that it gives up (null), and the caller reads the file again on its row path
 * (./transform-file.ts, ./inverse-file.ts), which reports each bad row as a dead letter or stops at it.
 */
import { createReadStream } from 'node:fs';
import { MessageBlocks, PRODUCE_MAX_RECORD_BYTES, type MessageLimits } from '../../core/csv/message-layout';
import { CsvRecordSplitter, type RecordSink } from '../../core/csv/record-splitter';
import { CsvFileWriter } from '../../topics/files/csv-file';
import type { ColumnCounts, FileMessage, MessageLines } from './file-messages';
import { lineCoders, type LineThreadData } from './line-coders';
import { deadLetterSink } from './dead-letters';
import type { ModelFileJobOptions } from './file-job';
import { headerFields, MessageBuffer } from './message-buffer';
import { progressEvery } from './ordered-output';

export interface CleanFileResult {
  readonly rowsRead: number;
  readonly rowsWritten: number;
  /** The coders' counts, summed (values clipped, say). */
  readonly counts: ColumnCounts;
}

/** A message sent to its coder: what the output and the progress need once its lines are back. */
interface InFlight {
  readonly records: number;
  readonly bytes: number;
  readonly lines: Promise<MessageLines | null>;
}

/**
 * The lines of a clean file with the header `names` into `out` (after the output's header line,
 * which the caller writes), its messages coded as `coding` says on `threads` worker threads (0:
 * this thread) and written in order; null, having written an unknown part of the output, when
 * the file is not clean.
 */
export async function cleanFileLines(
  input: string,
  names: readonly string[],
  coding: LineThreadData,
  out: CsvFileWriter,
  limits: MessageLimits,
  onProgress: (rows: number, bytes: number) => void,
  threads: number,
): Promise<CleanFileResult | null> {
  const splitter = new CsvRecordSplitter({ maxRecordBytes: PRODUCE_MAX_RECORD_BYTES });
  const blocks = new MessageBlocks(limits);
  const message = new MessageBuffer();
  /** Messages complete and not yet sent to a coder, in order; `closed` counts every message completed. */
  const ready: FileMessage[] = [];
  let closed = 0;
  const closeMessage = (): void => {
    if (message.rows === 0) return;
    const records = message.rows;
    ready.push({ index: closed++, records, value: message.take() });
  };
  /** Unknown until the header is read; false for a header other than `names`. */
  let headerAsExpected: boolean | undefined;
  let rowsRead = 0;
  let rowsWritten = 0;
  let bytesRead = 0;
  const sink: RecordSink = (bytes, from, to) => {
    if (headerAsExpected === undefined) {
      const header = headerFields(bytes.subarray(from, to));
      headerAsExpected = header !== null && header.length === names.length && header.every((h, i) => h === names[i]);
      return;
    }
    if (blocks.place(to - from)) closeMessage();
    message.append(bytes, from, to);
  };
  const coders = lineCoders(coding, threads);
  const inFlight: InFlight[] = [];
  /** Writes the oldest message's lines; false when it was not clean. */
  const settleOldest = async (): Promise<boolean> => {
    const oldest = inFlight.shift() as InFlight;
    const lines = await oldest.lines;
    if (lines === null) return false;
    await out.writeText(lines.text);
    rowsWritten += lines.rows;
    rowsRead += oldest.records;
    bytesRead += oldest.bytes;
    onProgress(rowsRead, bytesRead);
    return true;
  };
  /** Sends the finished messages to their coders, writing the oldest as it goes; false at the first thing the path does not take. */
  const drain = async (): Promise<boolean> => {
    if (headerAsExpected === false) return false;
    for (const m of ready.splice(0)) {
      // Read before the message's bytes move to a thread.
      const bytes = m.value.length + 1;
      const lines = coders.lines(m);
      // Failures surface through settleOldest, in order; until then they must not be unhandled.
      lines.catch(() => undefined);
      inFlight.push({ records: m.records, bytes, lines });
      while (inFlight.length >= coders.parallelism) if (!(await settleOldest())) return false;
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
    if (headerAsExpected !== true || !(await drain())) return null;
    while (inFlight.length > 0) if (!(await settleOldest())) return null;
    return { rowsRead, rowsWritten, counts: await coders.counts() };
  } finally {
    await coders.close();
  }
}

/** What a file job's message path is given: the input's header, the output's, and the coding. */
export interface CleanFileJob {
  readonly inputHeader: readonly string[];
  readonly outputHeader: readonly string[];
  readonly coding: LineThreadData;
  readonly limits?: MessageLimits;
  readonly threads: number;
}

/**
 * A file job (transform, inverse) on the message path: the output's header, then the clean
 * file's lines; and, since a clean file has no bad row, the dead-letter file with its header
 * only, as the row path leaves it. Null when the file is not clean: the caller then runs its
 * row path, which writes the output (and dead letters) anew.
 */
export async function cleanFileJob(job: ModelFileJobOptions, how: CleanFileJob): Promise<CleanFileResult | null> {
  const out = new CsvFileWriter(job.output);
  let clean: CleanFileResult | null;
  try {
    await out.writeRow(how.outputHeader);
    clean = await cleanFileLines(job.input, how.inputHeader, how.coding, out, how.limits ?? {}, progressEvery(1000, job.onProgress), how.threads);
  } finally {
    await out.close();
  }
  if (clean !== null) await deadLetterSink(job.deadLetterPath).close();
  return clean;
}

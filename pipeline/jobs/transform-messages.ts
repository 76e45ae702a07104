/**
 * The embedded transform's fast path for clean files. The file is read as `vgmflow produce`
 * sends it (the same record splitter and MessageBlocks, so the same messages and row ids), each
 * message is parsed by the ingest stage's own function into a row batch of typed columns, and
 * the batch is encoded as the transform stage encodes one: the output is the Kafka transform's
 * by construction, without a row object or a cell string per row.
 *
 * It takes only what it can do row for row as the row path would: a header that is the model's
 * columns in order, no rejected record, no row the encoder refuses. At the first thing outside
 * that it gives up (null), and the caller transforms the file again on the row path
 * (./transform-file.ts), which reports each bad row as a dead letter or stops at it.
 */
import { createReadStream } from 'node:fs';
import { parseCsvText } from '../../core/csv/csv';
import { MessageBlocks, PRODUCE_MAX_RECORD_BYTES, type MessageLimits } from '../../core/csv/message-layout';
import { CsvRecordSplitter, type RecordSink } from '../../core/csv/record-splitter';
import type { BatchEncoder } from '../../core/normalization/batch-encoder';
import { specsOfModel } from '../../core/normalization/model-specs';
import { FILE_ROW_PARTITIONS } from '../../core/normalization/row-id';
import type { TransformerModel } from '../../core/normalization/model';
import type { CsvFileWriter } from '../../topics/files/csv-file';
import { ingestMessages } from '../../stages/ingest/ingest-batch';
import type { EncodedLineFormat } from './encoded-line';

const LF = Uint8Array.of(0x0a);

/** One produced message: its index in the file's messages, its bytes and its record count. */
interface FileMessage {
  readonly index: number;
  readonly value: Uint8Array;
  readonly records: number;
}

/** Builds the file's messages as produce does: whole records joined by LF, laid out by MessageBlocks. */
class MessageWriter {
  private bytes = new Uint8Array(1 << 20);
  private used = 0;
  private records = 0;
  /** The index of the message being written. */
  private current = -1;
  private readonly blocks: MessageBlocks;
  readonly done: FileMessage[] = [];

  constructor(limits: MessageLimits) {
    this.blocks = new MessageBlocks(limits);
  }

  add(source: Uint8Array, from: number, to: number): void {
    if (this.blocks.place(to - from)) {
      this.finish();
      this.current = this.blocks.message;
    } else {
      this.append(LF, 0, 1);
    }
    this.append(source, from, to);
    this.records++;
  }

  /** Ends the message being written, if any. */
  finish(): void {
    if (this.records === 0) return;
    this.done.push({ index: this.current, value: this.bytes.slice(0, this.used), records: this.records });
    this.used = 0;
    this.records = 0;
  }

  private append(source: Uint8Array, from: number, to: number): void {
    const length = to - from;
    if (this.used + length > this.bytes.length) {
      const grown = new Uint8Array(Math.max(2 * this.bytes.length, this.used + length));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    this.bytes.set(source.subarray(from, to), this.used);
    this.used += length;
  }
}

export interface CleanTransformResult {
  readonly rowsRead: number;
  readonly rowsEncoded: number;
}

/** The header's fields when they decode and parse cleanly; null otherwise. */
function headerFields(bytes: Uint8Array): string[] | null {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  const records = parseCsvText(text);
  const first = records[0];
  return records.length === 1 && first !== undefined && first.kind === 'record' ? first.fields : null;
}

/**
 * Transforms a clean file into `out` (after its header line, which the caller writes) with
 * `encoder`; null, having written an unknown part of the output, when the file is not clean.
 */
export async function transformCleanFile(
  input: string,
  model: TransformerModel,
  encoder: BatchEncoder,
  format: EncodedLineFormat,
  out: CsvFileWriter,
  limits: MessageLimits,
  onProgress: (rows: number, bytes: number) => void,
): Promise<CleanTransformResult | null> {
  const specs = specsOfModel(model);
  const names = model.columns.map((c) => c.name);
  const splitter = new CsvRecordSplitter({ maxRecordBytes: PRODUCE_MAX_RECORD_BYTES });
  const messages = new MessageWriter(limits);
  let header: string[] | null | undefined;
  let rowsRead = 0;
  let rowsEncoded = 0;
  let bytesRead = 0;
  const sink: RecordSink = (bytes, from, to) => {
    if (header === undefined) {
      header = headerFields(bytes.subarray(from, to));
      return;
    }
    messages.add(bytes, from, to);
  };
  /** Encodes and writes the finished messages; false at the first thing the path does not take. */
  const drain = async (): Promise<boolean> => {
    if (header === null || (header !== undefined && (header.length !== names.length || header.some((h, i) => h !== names[i])))) return false;
    for (const m of messages.done.splice(0)) {
      const partition = m.index % FILE_ROW_PARTITIONS;
      const parsed = ingestMessages([{ topic: input, partition, offset: Math.floor(m.index / FILE_ROW_PARTITIONS), key: null, value: m.value, headers: {} }], specs);
      if (parsed.deadLetters.length > 0 || parsed.headersSkipped > 0 || parsed.rows !== m.records) return false;
      for (const batch of parsed.batches) {
        const n = batch.length;
        if (n === 0) continue;
        const rowIds = { partition: new Int32Array(n).fill(partition), offset: batch.sourceOffsets, rowInMessage: batch.rowInMessage };
        const encoded = encoder.encode({ length: n, columns: specs.map((_, c) => batch.numeric[c] ?? (batch.text[c] as readonly string[])), rowIds });
        if (encoded.rejections.length > 0) return false;
        const lines = new Array<string>(n);
        for (let i = 0; i < n; i++) lines[i] = format.line(encoded, i);
        await out.writeLines(lines);
        rowsEncoded += n;
      }
      rowsRead += m.records;
      bytesRead += m.value.length + 1;
      onProgress(rowsRead, bytesRead);
    }
    return true;
  };
  for await (const chunk of createReadStream(input, { highWaterMark: 1 << 20 })) {
    splitter.push(chunk as Buffer, sink);
    if (!(await drain())) return null;
  }
  splitter.end(sink);
  messages.finish();
  if (header === undefined || !(await drain())) return null;
  return { rowsRead, rowsEncoded };
}

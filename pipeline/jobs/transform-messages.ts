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
import { MessageBlocks, PRODUCE_MAX_RECORD_BYTES, type MessageLimits } from '../../core/csv/message-layout';
import { CsvRecordSplitter, type RecordSink } from '../../core/csv/record-splitter';
import type { BatchEncoder } from '../../core/normalization/batch-encoder';
import { specsOfModel } from '../../core/normalization/model-specs';
import { FILE_ROW_PARTITIONS } from '../../core/normalization/row-id';
import type { TransformerModel } from '../../core/normalization/model';
import type { CsvFileWriter } from '../../topics/files/csv-file';
import { ingestMessages } from '../../stages/ingest/ingest-batch';
import type { EncodedLineFormat } from './encoded-line';
import { headerFields, MessageBuffer } from './message-buffer';

/** One produced message: its index among the file's messages, its bytes and its record count. */
interface FileMessage {
  readonly index: number;
  readonly value: Uint8Array;
  readonly records: number;
}

export interface CleanTransformResult {
  readonly rowsRead: number;
  readonly rowsEncoded: number;
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
  const blocks = new MessageBlocks(limits);
  const message = new MessageBuffer();
  /** Messages complete and not yet encoded, in order; `closed` counts every message completed. */
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
  /** Encodes and writes the finished messages; false at the first thing the path does not take. */
  const drain = async (): Promise<boolean> => {
    if (headerIsModel === false) return false;
    for (const m of ready.splice(0)) {
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
    // The message's records are still views of this chunk: copy them before the next one.
    message.flushRun();
    if (!(await drain())) return null;
  }
  splitter.end(sink);
  closeMessage();
  if (headerIsModel !== true || !(await drain())) return null;
  return { rowsRead, rowsEncoded };
}

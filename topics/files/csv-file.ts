/**
 * File-level CSV I/O on top of the pure codec in ./csv.
 *
 * Reading decodes UTF-8 itself rather than letting the stream do it: a decoding stream would
 * silently turn invalid bytes into U+FFFD and the damaged row would flow on as data. Here every
 * physical line that is not valid UTF-8 is remembered, and any record touching it is turned
 * into an error record, while the other records of the file are unaffected.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { countLineBreaks, CsvParser, DEFAULT_MAX_RECORD_BYTES, formatCsvRow, type CsvParserOptions, type CsvRecord } from '../../core/csv/csv';
import { firstInvalidUtf8 } from '../../core/csv/utf8';
import { ProducedRecordPlacer, type MessageLimits } from '../../core/csv/message-layout';

export interface CsvReadOptions extends CsvParserOptions {
  /** Bytes per read from the file. Default 64 KiB. */
  readonly highWaterMark?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const EMPTY = Buffer.alloc(0);

/**
 * Bytes → text, one physical line at a time when needed, counting lines exactly as CsvParser
 * does (LF, CRLF and lone CR each end one line) so that invalid lines can be matched to the
 * records the parser reports.
 */
class LineCheckedUtf8Decoder {
  private readonly fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private readonly lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  private carry: Buffer = EMPTY;
  private line = 1;
  private lastWasCR = false;
  // A line already longer than any acceptable record is passed through lossily and unchecked:
  // the parser rejects its record for length anyway, and buffering it whole would be unbounded.
  private inLongLine = false;
  /** Invalid lines not yet matched to a record: line number → reason. */
  readonly badLines = new Map<number, string>();

  constructor(private readonly longLineBytes: number) {}

  push(buf: Buffer): string {
    let text = '';
    let data = buf;
    if (this.inLongLine) {
      const t = firstTerminator(data);
      if (t < 0) return this.lossy.decode(data, { stream: true });
      text += this.lossy.decode(data.subarray(0, t), { stream: true }) + this.lossy.decode();
      this.inLongLine = false;
      data = data.subarray(t);
    }
    if (this.carry.length > 0) data = Buffer.concat([this.carry, data]);
    const last = lastTerminator(data);
    if (last < 0) {
      this.carry = data;
      if (data.length > this.longLineBytes) {
        this.inLongLine = true;
        this.carry = EMPTY;
        text += this.lossy.decode(data, { stream: true });
      }
      return text;
    }
    this.carry = data.subarray(last + 1);
    return text + this.decodeLines(data.subarray(0, last + 1));
  }

  end(): string {
    if (this.inLongLine) {
      this.inLongLine = false;
      return this.lossy.decode();
    }
    const rest = this.carry;
    this.carry = EMPTY;
    return rest.length > 0 ? this.decodeLines(rest) : '';
  }

  /** Decodes whole lines (the last may lack its terminator only at end of input). */
  private decodeLines(bytes: Buffer): string {
    const startLine = this.line;
    const startCR = this.lastWasCR;
    this.countLines(bytes);
    try {
      return this.fatal.decode(bytes);
    } catch {
      // Rare path: find which lines are broken and decode each on its own.
      this.line = startLine;
      this.lastWasCR = startCR;
      return this.decodeLineByLine(bytes);
    }
  }

  private decodeLineByLine(bytes: Buffer): string {
    let text = '';
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      const c = i < bytes.length ? bytes[i] : -1;
      if (c !== CR && c !== LF && i < bytes.length) continue;
      const content = bytes.subarray(start, i);
      try {
        text += this.fatal.decode(content);
      } catch {
        const at = firstInvalidUtf8(content);
        const where = at < 0 ? '' : ` at byte ${at + 1} of the line (0x${(content[at] as number).toString(16).padStart(2, '0')})`;
        if (!this.badLines.has(this.line)) this.badLines.set(this.line, `invalid UTF-8 on line ${this.line}${where}`);
        text += this.lossy.decode(content);
      }
      if (i < bytes.length) {
        text += c === CR ? '\r' : '\n';
        this.countLines(bytes.subarray(i, i + 1));
      }
      start = i + 1;
    }
    return text;
  }

  private countLines(bytes: Uint8Array): void {
    let line = this.line;
    let lastWasCR = this.lastWasCR;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i];
      if (c === CR) {
        line++;
        lastWasCR = true;
      } else {
        if (c === LF && !lastWasCR) line++;
        lastWasCR = false;
      }
    }
    this.line = line;
    this.lastWasCR = lastWasCR;
  }
}

function firstTerminator(bytes: Buffer): number {
  const lf = bytes.indexOf(LF);
  const cr = bytes.indexOf(CR);
  if (lf < 0) return cr;
  if (cr < 0) return lf;
  return Math.min(lf, cr);
}

function lastTerminator(bytes: Buffer): number {
  return Math.max(bytes.lastIndexOf(LF), bytes.lastIndexOf(CR));
}

/** Replaces a record by an error when one of the lines it spans was not valid UTF-8. */
function checkEncoding(record: CsvRecord, badLines: Map<number, string>): CsvRecord {
  if (badLines.size === 0) return record;
  const last = record.line + countLineBreaks(record.raw);
  let reason: string | undefined;
  for (const [line, why] of badLines) {
    if (line > last) continue;
    if (line >= record.line && reason === undefined) reason = why;
    badLines.delete(line);
  }
  return reason === undefined ? record : { kind: 'error', line: record.line, raw: record.raw, reason };
}

/**
 * Streams the records of a UTF-8 CSV file, the records of each read from the file together
 * (one await per read rather than per record). Never throws for bad content (that becomes
 * error records); throws only for I/O failures such as a missing file. `onBytes` sees each read
 * before its records are parsed.
 */
export async function* readCsvRecordChunks(
  path: string,
  options: CsvReadOptions = {},
  onBytes?: (chunk: Buffer) => void,
): AsyncGenerator<CsvRecord[], void, undefined> {
  const parser = new CsvParser(options);
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  // +4: the parser does not count a leading BOM, and decoded text is never shorter in UTF-8.
  const decoder = new LineCheckedUtf8Decoder(maxRecordBytes + 4);
  const stream = createReadStream(path, { highWaterMark: options.highWaterMark ?? 64 * 1024 });
  for await (const chunk of stream) {
    onBytes?.(chunk as Buffer);
    const records = [...parser.push(decoder.push(chunk as Buffer))].map((record) => checkEncoding(record, decoder.badLines));
    if (records.length > 0) yield records;
  }
  const records = [...parser.push(decoder.end()), ...parser.end()];
  if (records.length > 0) yield records.map((record) => checkEncoding(record, decoder.badLines));
}

/** The records of one read, each with where `vgmflow produce` would send it. */
export interface PlacedRecords {
  readonly records: CsvRecord[];
  /** Per record: the index of its message among the file's produced messages (-1: the header, which is not sent). */
  readonly messages: Int32Array;
  /** Per record: its index in that message (the row in message of its row id). */
  readonly rowsInMessage: Int32Array;
}

/**
 * readCsvRecordChunks, each record placed in the message `vgmflow produce` with `limits` would
 * send it in (core/csv/message-layout.ts), so a file job gives every row the id it has on Kafka.
 */
export async function* readPlacedCsvRecordChunks(
  path: string,
  limits: MessageLimits,
  options: CsvReadOptions & { readonly header: boolean },
): AsyncGenerator<PlacedRecords, void, undefined> {
  const placer = new ProducedRecordPlacer(limits, options.header);
  let headerPending = options.header;
  const place = (records: CsvRecord[]): PlacedRecords => {
    const messages = new Int32Array(records.length);
    const rowsInMessage = new Int32Array(records.length);
    for (let k = 0; k < records.length; k++) {
      if (headerPending) {
        headerPending = false;
        messages[k] = -1;
        rowsInMessage[k] = -1;
        continue;
      }
      placer.place((records[k] as CsvRecord).line);
      messages[k] = placer.message;
      rowsInMessage[k] = placer.rowInMessage;
    }
    return { records, messages, rowsInMessage };
  };
  const chunks = readCsvRecordChunks(path, options, (chunk) => placer.pushBytes(chunk));
  let pending: CsvRecord[] | null = null;
  // The last records are parsed only at the end of the file: place them after the splitter's end.
  for await (const records of chunks) {
    if (pending !== null) yield place(pending);
    pending = records;
  }
  placer.endBytes();
  if (pending !== null) yield place(pending);
}

/** The records of readCsvRecordChunks one by one. */
export async function* readCsvRecords(path: string, options: CsvReadOptions = {}): AsyncGenerator<CsvRecord, void, undefined> {
  for await (const records of readCsvRecordChunks(path, options)) yield* records;
}

export interface CsvWriteOptions {
  /** Line terminator. Default '\n'. */
  readonly eol?: '\n' | '\r\n';
  /** Characters buffered before a write to the file. Default 64 Ki. */
  readonly bufferSize?: number;
}

/**
 * Buffered CSV file writer. Await writeRow so the file's backpressure is honoured; close() must
 * be awaited before the file is complete. The first I/O error is reported by the next call.
 */
export class CsvFileWriter {
  private readonly stream: WriteStream;
  private readonly eol: string;
  private readonly bufferSize: number;
  private buffer: string[] = [];
  private buffered = 0;
  private failure: Error | null = null;
  private closing: Promise<void> | null = null;

  constructor(path: string, options: CsvWriteOptions = {}) {
    this.eol = options.eol ?? '\n';
    this.bufferSize = options.bufferSize ?? 64 * 1024;
    this.stream = createWriteStream(path, { encoding: 'utf8' });
    // Without a listener an error event would crash the process instead of reaching the caller.
    this.stream.on('error', (err: Error) => {
      this.failure ??= err;
    });
  }

  async writeRow(fields: readonly string[]): Promise<void> {
    await this.writeLines([formatCsvRow(fields)]);
  }

  /**
   * Writes rows already formatted by formatCsvRow (without terminators): one await for many
   * rows, where writeRow costs one per row.
   */
  async writeLines(lines: readonly string[]): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closing) throw new Error('CsvFileWriter: writeRow after close');
    for (const line of lines) {
      const text = line + this.eol;
      this.buffer.push(text);
      this.buffered += text.length;
    }
    if (this.buffered >= this.bufferSize && !this.flushBuffer()) await this.drain();
  }

  /**
   * Writes text already made of formatted rows, each with its terminator, as bytes (UTF-8):
   * rows formatted elsewhere, on a worker thread, cost no string here.
   */
  async writeText(bytes: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closing) throw new Error('CsvFileWriter: writeText after close');
    // The rows buffered so far go first.
    const flushed = this.flushBuffer();
    if (!this.stream.write(bytes) || !flushed) await this.drain();
  }

  /** Flushes, ends the file and resolves once it is closed on disk. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    if (this.failure) {
      this.stream.destroy();
      throw this.failure;
    }
    this.flushBuffer();
    const closed = this.stream.closed ? Promise.resolve() : once(this.stream, 'close').then(() => undefined);
    this.stream.end();
    try {
      await closed;
    } catch (err) {
      this.failure ??= err as Error;
    }
    if (this.failure) throw this.failure;
  }

  /** Hands the buffer to the stream; false when the stream asks us to wait for 'drain'. */
  private flushBuffer(): boolean {
    if (this.buffer.length === 0) return true;
    const text = this.buffer.join('');
    this.buffer = [];
    this.buffered = 0;
    return this.stream.write(text);
  }

  private async drain(): Promise<void> {
    const stream = this.stream;
    if (!this.failure && !stream.destroyed) {
      // 'close' too: a stream destroyed without an error would otherwise never wake us.
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stream.off('drain', done).off('error', done).off('close', done);
          resolve();
        };
        stream.on('drain', done).on('error', done).on('close', done);
      });
    }
    if (this.failure) throw this.failure;
    if (stream.destroyed) throw new Error('CsvFileWriter: file stream was closed unexpectedly');
  }
}

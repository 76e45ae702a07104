/**
 * One message of CSV bytes → its rows as typed columns (a RowBlock) and its dead letters.
 *
 * Two paths give the same result. The fast one takes a line at a record boundary that cannot
 * be anything but one plain record — no quote, no lone CR, valid UTF-8, within the record size
 * limit — and reads its fields straight from the bytes: numbers into Float64Arrays
 * (core/csv/decimal.ts, falling back to the text for anything unusual), categorical values into
 * dictionary ids (core/csv/category-dictionary.ts), with no string per cell. Anything else
 * (quotes, lone CRs, invalid UTF-8, over-long records, a header to check) goes line by line
 * through CsvParser, resumed at that line, until it is between records again; then the fast
 * path takes over. Line numbers, raw text and reasons are CsvParser's either way, so a
 * message's rows and dead letters do not depend on which path read them.
 */
import { isUtf8 } from 'node:buffer';
import { countLineBreaks, type CsvParser, type CsvRecord } from '../../core/csv/csv';
import { parseDecimalBytes } from '../../core/csv/decimal';
import { parseCell, parseRow } from '../../core/csv/row-parser';
import { firstInvalidUtf8 } from '../../core/csv/utf8';
import type { CategoryDictionary } from '../../core/csv/category-dictionary';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { CellValue } from '../../core/normalization/column-summary';
import { cutRaw, type DeadLetterRecord } from '../../topics/dead-letter';
import { NUMBER_BYTES, ROW_ID_BYTES, textBytes, type RowBlock } from '../../topics/row-batch';
import type { InRecord } from '../../topics/transport';

const CR = 0x0d;
const LF = 0x0a;
const QUOTE = 0x22;
const COMMA = 0x2c;

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** What every message of one ingest call is read against. */
export interface MessageContext {
  readonly columns: readonly ColumnSpec[];
  readonly names: readonly string[];
  readonly nameSet: ReadonlySet<string>;
  /** Field index of each column (field i is column i). */
  readonly fieldOfColumn: readonly number[];
  readonly header: boolean;
  readonly maxRecordBytes: number;
  readonly maxBatchBytes: number;
  readonly maxRawBytes: number;
  /** Shared by all messages: reset for each. */
  readonly parser: CsvParser;
}

/** Why a line's bytes are not UTF-8, as decodeMessageText says it, or null when they are. */
export function invalidUtf8Reason(content: Uint8Array, line: number): string | null {
  const at = firstInvalidUtf8(content);
  if (at < 0) {
    // firstInvalidUtf8 only says where; TextDecoder decides whether (they agree on well-formed input).
    try {
      fatalDecoder.decode(content);
      return null;
    } catch {
      return `invalid UTF-8 on line ${line}`;
    }
  }
  return `invalid UTF-8 on line ${line} at byte ${at + 1} of the line (0x${(content[at] as number).toString(16).padStart(2, '0')})`;
}

function sameNames(fields: readonly string[], names: readonly string[]): boolean {
  return fields.length === names.length && fields.every((f, i) => f.trim() === names[i]);
}

function quoteList(items: readonly string[]): string {
  const text = items.join(',');
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

/**
 * Parses one message into `block` (reset first; its rows are numbered within the message) and
 * appends its dead letters to `letters`. Returns the header lines skipped (0 or 1).
 */
export function parseMessage(
  message: InRecord,
  context: MessageContext,
  dictionaries: readonly (CategoryDictionary | null)[],
  block: RowBlock,
  letters: DeadLetterRecord[],
): number {
  return new MessageReader(message, context, dictionaries, block, letters).read();
}

class MessageReader {
  private readonly bytes: Uint8Array;
  private readonly width: number;
  /** Field boundaries of the current fast line: field f is [starts[f], ends[f]). */
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private row = 0;
  /** No record of the message seen yet (the header check looks at the first one). */
  private first = true;
  private headersSkipped = 0;
  /** Lines of the message that are not valid UTF-8 → reason (only lines read by the slow path). */
  private readonly badLines = new Map<number, string>();

  constructor(
    private readonly message: InRecord,
    private readonly context: MessageContext,
    private readonly dictionaries: readonly (CategoryDictionary | null)[],
    private readonly block: RowBlock,
    private readonly letters: DeadLetterRecord[],
  ) {
    this.bytes = message.value;
    this.width = context.columns.length;
    this.starts = new Int32Array(this.width);
    this.ends = new Int32Array(this.width);
  }

  read(): number {
    const v = this.bytes;
    const n = v.length;
    this.block.reset();
    let pos = 0;
    let line = 1;
    // A leading byte-order mark is not part of the first record (CsvParser drops it).
    const bom = n >= 3 && v[0] === 0xef && v[1] === 0xbb && v[2] === 0xbf ? 3 : 0;
    let nextLF = -2;
    let nextQuote = -2;
    let nextCR = -2;
    // Checked once for the whole message (natively); line by line only when it fails.
    const valid = isUtf8(v);
    while (pos < n) {
      if (nextLF !== -1 && nextLF < pos) nextLF = v.indexOf(LF, pos);
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = v.indexOf(QUOTE, pos);
      if (nextCR !== -1 && nextCR < pos) nextCR = v.indexOf(CR, pos);
      const lineEnd = nextLF < 0 ? n : nextLF;
      const contentEnd = nextCR === lineEnd - 1 && lineEnd > pos ? lineEnd - 1 : lineEnd;
      const start = pos === 0 ? bom : pos;
      const plain =
        (nextQuote < 0 || nextQuote >= contentEnd) &&
        (nextCR < 0 || nextCR >= contentEnd) &&
        contentEnd - start <= this.context.maxRecordBytes &&
        !(this.context.header && this.first) &&
        (valid || isUtf8(v.subarray(pos, contentEnd)));
      if (plain) {
        if (contentEnd > start) this.plainRecord(start, contentEnd, line);
        line++;
        pos = lineEnd + 1;
        continue;
      }
      const resumed = this.readWithParser(pos, line);
      pos = resumed.pos;
      line = resumed.line;
    }
    return this.headersSkipped;
  }

  /**
   * Reads from `pos` (a record boundary on line `line`) line by line through CsvParser until it
   * is between records again (or the message ends); returns where the fast path resumes.
   */
  private readWithParser(pos: number, line: number): { pos: number; line: number } {
    const v = this.bytes;
    const n = v.length;
    const parser = this.context.parser;
    if (pos === 0) parser.end();
    else parser.resumeAt(line);
    for (;;) {
      let t = pos;
      while (t < n && v[t] !== CR && v[t] !== LF) t++;
      const content = v.subarray(pos, t);
      let text: string;
      try {
        text = fatalDecoder.decode(content);
      } catch {
        this.badLines.set(line, invalidUtf8Reason(content, line) ?? `invalid UTF-8 on line ${line}`);
        text = lossyDecoder.decode(content);
      }
      if (t >= n) {
        this.parsedRecords(parser.push(text));
        this.parsedRecords(parser.end());
        return { pos: n, line };
      }
      const crlf = v[t] === CR && v[t + 1] === LF;
      this.parsedRecords(parser.push(text + (crlf ? '\r\n' : v[t] === CR ? '\r' : '\n')));
      pos = t + (crlf ? 2 : 1);
      line++;
      if (parser.betweenRecords) {
        if (pos >= n) parser.end();
        return { pos, line };
      }
    }
  }

  /** A plain line, bytes[from, to): its fields straight from the bytes. */
  private plainRecord(from: number, to: number, line: number): void {
    this.first = false;
    const v = this.bytes;
    const width = this.width;
    let fields = 0;
    let fieldStart = from;
    for (let i = from; i < to; i++) {
      if (v[i] !== COMMA) continue;
      if (fields < width) {
        this.starts[fields] = fieldStart;
        this.ends[fields] = i;
      }
      fields++;
      fieldStart = i + 1;
    }
    if (fields < width) {
      this.starts[fields] = fieldStart;
      this.ends[fields] = to;
    }
    fields++;
    const row = this.row++;
    if (fields !== width) {
      this.reject(from, to, line, `expected ${width} fields, got ${fields}`, null);
      return;
    }
    const block = this.block;
    block.reserve();
    const at = block.length;
    let bytes = ROW_ID_BYTES;
    const columns = this.context.columns;
    for (let c = 0; c < width; c++) {
      const f = this.context.fieldOfColumn[c] as number;
      const s = this.starts[f] as number;
      const e = this.ends[f] as number;
      const numbers = block.numeric[c];
      if (numbers) {
        let value = parseDecimalBytes(v, s, e);
        if (value !== value) {
          const cell = parseCell(columns[c] as ColumnSpec, fatalDecoder.decode(v.subarray(s, e)));
          if (!cell.ok) {
            this.reject(from, to, line, cell.reason, (columns[c] as ColumnSpec).name);
            return;
          }
          value = cell.value as number;
        }
        numbers[at] = value;
        bytes += NUMBER_BYTES;
      } else {
        (block.ids[c] as Int32Array)[at] = (this.dictionaries[c] as CategoryDictionary).idOfBytes(v, s, e);
        bytes += textBytes(e - s);
      }
    }
    if (bytes > this.context.maxBatchBytes) {
      this.reject(from, to, line, `row needs about ${bytes} bytes in a batch, more than maxBatchBytes (${this.context.maxBatchBytes})`, null);
      return;
    }
    block.rowInMessage[at] = row;
    block.length++;
    block.bytes += bytes;
  }

  /** Records from CsvParser: each becomes a row, a dead letter or the skipped header. */
  private parsedRecords(records: readonly CsvRecord[]): void {
    for (const record of records) this.parsedRecord(record);
  }

  private parsedRecord(record: CsvRecord): void {
    const first = this.first;
    this.first = false;
    const badEncoding = this.encodingProblem(record);
    if (this.context.header && first && badEncoding === null && record.kind === 'record') {
      if (sameNames(record.fields, this.context.names)) {
        this.headersSkipped++;
        return;
      }
      if (record.fields.some((f) => this.context.nameSet.has(f.trim()))) {
        const reason = `header does not match the columns: expected ${quoteList(this.context.names)}, got ${quoteList(record.fields)}`;
        this.letter(record.raw, record.line, reason, null);
        return;
      }
    }
    // Rejected records take a row number too, so row numbers stay record positions.
    const row = this.row++;
    if (badEncoding !== null) return this.letter(record.raw, record.line, badEncoding, null);
    if (record.kind === 'error') return this.letter(record.raw, record.line, record.reason, null);
    const parsed = parseRow(this.context.columns, this.context.fieldOfColumn, record.fields, this.width);
    if (!parsed.ok) return this.letter(record.raw, record.line, parsed.reason, parsed.column);
    this.addCells(row, parsed.cells, record);
  }

  private addCells(row: number, cells: readonly CellValue[], record: CsvRecord): void {
    const block = this.block;
    block.reserve();
    const at = block.length;
    let bytes = ROW_ID_BYTES;
    for (let c = 0; c < this.width; c++) {
      const numbers = block.numeric[c];
      if (numbers) {
        numbers[at] = cells[c] as number;
        bytes += NUMBER_BYTES;
      } else {
        const text = cells[c] as string;
        (block.ids[c] as Int32Array)[at] = (this.dictionaries[c] as CategoryDictionary).idOf(text);
        bytes += textBytes(Buffer.byteLength(text, 'utf8'));
      }
    }
    if (bytes > this.context.maxBatchBytes) {
      this.letter(record.raw, record.line, `row needs about ${bytes} bytes in a batch, more than maxBatchBytes (${this.context.maxBatchBytes})`, null);
      return;
    }
    block.rowInMessage[at] = row;
    block.length++;
    block.bytes += bytes;
  }

  /** The reason for the first invalid line a record spans, or null. */
  private encodingProblem(record: CsvRecord): string | null {
    if (this.badLines.size === 0) return null;
    const last = record.line + countLineBreaks(record.raw);
    for (let line = record.line; line <= last; line++) {
      const reason = this.badLines.get(line);
      if (reason !== undefined) return reason;
    }
    return null;
  }

  private reject(from: number, to: number, line: number, reason: string, column: string | null): void {
    this.letter(fatalDecoder.decode(this.bytes.subarray(from, to)), line, reason, column);
  }

  /** A rejected record as a dead letter, its raw text cut to maxRawBytes (the reason says so). */
  private letter(raw: string, line: number, reason: string, column: string | null): void {
    const max = this.context.maxRawBytes;
    const cut = cutRaw(raw, max);
    this.letters.push({
      ...(column === null ? {} : { column }),
      raw: cut.raw,
      reason: cut.cutFrom === null ? reason : `${reason} (raw text cut to ${max} of ${cut.cutFrom} bytes)`,
      topic: this.message.topic,
      partition: this.message.partition,
      offset: this.message.offset,
      line,
    });
  }
}

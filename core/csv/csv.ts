/**
 * RFC 4180 CSV codec, pure and incremental.
 *
 * The parser is a per-code-unit state machine over text chunks, so it never needs the whole
 * input and gives identical records whatever the chunking. Malformed input never throws: it
 * becomes an error record carrying its line and raw text (destined for the DLQ), and parsing
 * resumes at a line boundary, so one bad row cannot take down or silently eat a stream.
 *
 * Conventions beyond RFC 4180 (chosen to accept what real exporters write):
 * - line terminators are LF, CRLF and a lone CR; each counts as one line for line numbers;
 * - completely empty lines are skipped by default (a blank line carries no record, and a
 *   trailing newline must not create one);
 * - a U+FEFF byte-order mark at the very start of the input is dropped (spreadsheet exports).
 */

export interface CsvDataRecord {
  readonly kind: 'record';
  /** 1-based line on which the record starts. */
  readonly line: number;
  /** Text of the record as it appeared in the input, without its final line terminator. */
  readonly raw: string;
  readonly fields: string[];
}

export interface CsvErrorRecord {
  readonly kind: 'error';
  /** 1-based line on which the malformed record starts. */
  readonly line: number;
  /** Text of the malformed record; cut to at most maxRecordBytes UTF-8 bytes. */
  readonly raw: string;
  readonly reason: string;
}

export type CsvRecord = CsvDataRecord | CsvErrorRecord;

export interface CsvParserOptions {
  /** Largest record, in UTF-8 bytes of its raw text without terminator. Default 1 MiB. */
  readonly maxRecordBytes?: number;
  /** Drop lines with no characters at all instead of returning a record `['']`. Default true. */
  readonly skipEmptyLines?: boolean;
}

export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;
const BOM = 0xfeff;

const enum State {
  /** At the start of a field (also the start of a record). */
  FieldStart,
  Unquoted,
  Quoted,
  /** Just read a quote inside a quoted field: either the closing quote or half of `""`. */
  QuoteInQuoted,
  /** Record already known to be malformed: discard input up to the next line terminator. */
  Skip,
}

/** UTF-8 length of one UTF-16 code unit; a surrogate pair counts 2 + 2 = 4, as in UTF-8. */
function utf8Units(c: number): number {
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c <= 0xdfff) return 2;
  return 3;
}

function isTerminator(c: number): boolean {
  return c === CR || c === LF;
}

/** Next position of one character in a string, cached so repeated searches stay linear. */
class NextIndex {
  // -2: not searched yet; -1: none left.
  private at = -2;

  constructor(
    private readonly s: string,
    private readonly ch: string,
  ) {}

  from(i: number): number {
    if (this.at === -1 || this.at >= i) return this.at;
    this.at = this.s.indexOf(this.ch, i);
    return this.at;
  }
}

interface Lookahead {
  readonly lf: NextIndex;
  readonly cr: NextIndex;
  readonly quote: NextIndex;
}

export class CsvParser {
  private readonly maxRecordBytes: number;
  private readonly skipEmptyLines: boolean;

  // Text of the current record from `recStart`, plus whatever of the last chunk is unscanned.
  private pending = '';
  private scanned = 0;
  private recStart = 0;
  private atRecordStart = true;
  private atStreamStart = true;
  private state: State = State.FieldStart;
  private fields: string[] = [];
  private fieldStart = 0;
  private quoted = '';
  private quoteOpenIndex = 0;
  private quoteOpenLine = 1;
  private recordLine = 1;
  private recordBytes = 0;
  private line = 1;
  private lastWasCR = false;
  private skipReason = '';
  // Set once an over-long record has been cut: its text is no longer buffered.
  private frozenRaw: string | null = null;

  constructor(options: CsvParserOptions = {}) {
    const max = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxRecordBytes must be a positive integer, got ${max}`);
    }
    this.maxRecordBytes = max;
    this.skipEmptyLines = options.skipEmptyLines ?? true;
  }

  /** Feeds a chunk; returns the records it completes, in input order. */
  push(chunk: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    this.scan(chunk, out);
    return out;
  }

  /**
   * Signals end of input; returns the records still pending (a final line without newline,
   * an unterminated quoted field). Resets the parser, so it can parse a new input from line 1.
   */
  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    this.finish(out);
    this.reset();
    return out;
  }

  /**
   * Resets the parser to go on with text that continues an input from line `line`, at a record
   * boundary (so a U+FEFF there is text, not a byte-order mark): a caller that handled the lines
   * before itself hands the parser the rest.
   */
  resumeAt(line: number): void {
    this.reset();
    this.atStreamStart = false;
    this.line = line;
  }

  /** True between records: everything pushed so far is in returned records (or was blank lines). */
  get betweenRecords(): boolean {
    return this.atRecordStart;
  }

  private reset(): void {
    this.pending = '';
    this.scanned = 0;
    this.recStart = 0;
    this.atRecordStart = true;
    this.atStreamStart = true;
    this.state = State.FieldStart;
    this.fields = [];
    this.quoted = '';
    this.recordLine = 1;
    this.recordBytes = 0;
    this.line = 1;
    this.lastWasCR = false;
    this.skipReason = '';
    this.frozenRaw = null;
  }

  private scan(chunk: string, out: CsvRecord[]): void {
    if (chunk.length === 0) return;
    const s = this.pending + chunk;
    this.pending = s;
    let i = this.scanned;
    if (this.atStreamStart) {
      this.atStreamStart = false;
      if (s.charCodeAt(i) === BOM) {
        i++;
        this.recStart = i;
      }
    }
    const ahead: Lookahead = { lf: new NextIndex(s, '\n'), cr: new NextIndex(s, '\r'), quote: new NextIndex(s, '"') };
    for (; i < s.length; i++) {
      if (this.atRecordStart) {
        const lf = this.fastLine(s, i, ahead, out);
        if (lf >= 0) {
          i = lf;
          continue;
        }
      }
      const c = s.charCodeAt(i);
      this.step(s, i, c, out);
      if (c === CR) {
        this.line++;
        this.lastWasCR = true;
      } else {
        if (c === LF && !this.lastWasCR) this.line++;
        this.lastWasCR = false;
      }
      if ((this.state === State.Unquoted || this.state === State.Quoted) && this.frozenRaw === null) {
        i = this.skipPlain(s, i + 1) - 1;
      }
    }
    this.compact();
  }

  /**
   * Fast path for the common line (no quote, no lone CR, ends with LF or CRLF, far below the
   * size limit): splits it natively. Returns the index of its LF, or -1 to leave the line to the
   * state machine.
   */
  private fastLine(s: string, i: number, ahead: Lookahead, out: CsvRecord[]): number {
    if (isTerminator(s.charCodeAt(i))) return -1;
    const lf = ahead.lf.from(i);
    if (lf < 0) return -1;
    const quote = ahead.quote.from(i);
    if (quote >= 0 && quote < lf) return -1;
    const cr = ahead.cr.from(i);
    let end = lf;
    if (cr >= 0 && cr < lf) {
      if (cr !== lf - 1) return -1;
      end = cr;
    }
    // A UTF-16 code unit is at most 3 UTF-8 bytes, so this bound spares counting bytes.
    if ((end - i) * 3 > this.maxRecordBytes) return -1;
    const raw = s.slice(i, end);
    out.push({ kind: 'record', line: this.line, raw, fields: raw.split(',') });
    this.line++;
    this.lastWasCR = false;
    this.recStart = lf + 1;
    return lf;
  }

  /**
   * Fast path: inside a field, steps over code units that cannot change the state, counting
   * their bytes, and returns the index of the next one the state machine must see.
   */
  private skipPlain(s: string, from: number): number {
    const stopAtComma = this.state === State.Unquoted;
    let bytes = this.recordBytes;
    let j = from;
    for (; j < s.length; j++) {
      const c = s.charCodeAt(j);
      if (c === QUOTE || c === CR || c === LF || (c === COMMA && stopAtComma)) break;
      const size = utf8Units(c);
      if (bytes + size > this.maxRecordBytes) break;
      bytes += size;
    }
    if (j > from) {
      this.recordBytes = bytes;
      this.lastWasCR = false;
    }
    return j;
  }

  private step(s: string, i: number, c: number, out: CsvRecord[]): void {
    if (this.atRecordStart) {
      if (c === LF && this.lastWasCR) {
        // Second half of a CRLF whose CR ended the previous record.
        this.recStart = i + 1;
        return;
      }
      if (isTerminator(c)) {
        if (!this.skipEmptyLines) out.push({ kind: 'record', line: this.line, raw: '', fields: [''] });
        this.recStart = i + 1;
        return;
      }
      this.atRecordStart = false;
      this.recordLine = this.line;
      this.recordBytes = 0;
    }

    const endsRecord = isTerminator(c) && this.state !== State.Quoted;
    if (!endsRecord && this.frozenRaw === null) {
      this.recordBytes += utf8Units(c);
      if (this.recordBytes > this.maxRecordBytes) {
        this.freeze(s, i);
        return;
      }
    }

    switch (this.state) {
      case State.FieldStart:
        if (c === QUOTE) {
          this.state = State.Quoted;
          this.quoted = '';
          this.fieldStart = i + 1;
          this.quoteOpenIndex = i;
          this.quoteOpenLine = this.line;
        } else if (c === COMMA) {
          this.fields.push('');
        } else if (endsRecord) {
          this.fields.push('');
          this.emitRecord(s, i, out);
        } else {
          this.state = State.Unquoted;
          this.fieldStart = i;
        }
        return;
      case State.Unquoted:
        if (c === COMMA) {
          this.fields.push(s.slice(this.fieldStart, i));
          this.state = State.FieldStart;
        } else if (endsRecord) {
          this.fields.push(s.slice(this.fieldStart, i));
          this.emitRecord(s, i, out);
        } else if (c === QUOTE) {
          this.startSkip(`stray quote in unquoted field ${this.fields.length + 1}`);
        }
        return;
      case State.Quoted:
        if (c === QUOTE) {
          this.quoted += s.slice(this.fieldStart, i);
          this.state = State.QuoteInQuoted;
        }
        return;
      case State.QuoteInQuoted:
        if (c === QUOTE) {
          this.quoted += '"';
          this.fieldStart = i + 1;
          this.state = State.Quoted;
        } else if (c === COMMA) {
          this.fields.push(this.quoted);
          this.state = State.FieldStart;
        } else if (endsRecord) {
          this.fields.push(this.quoted);
          this.emitRecord(s, i, out);
        } else {
          this.startSkip(`unexpected character after closing quote in field ${this.fields.length + 1}`);
        }
        return;
      case State.Skip:
        if (endsRecord) {
          out.push({
            kind: 'error',
            line: this.recordLine,
            raw: this.frozenRaw ?? s.slice(this.recStart, i),
            reason: this.skipReason,
          });
          this.startRecord(i + 1);
        }
        return;
    }
  }

  private emitRecord(s: string, end: number, out: CsvRecord[]): void {
    out.push({ kind: 'record', line: this.recordLine, raw: s.slice(this.recStart, end), fields: this.fields });
    this.startRecord(end + 1);
  }

  private startRecord(at: number): void {
    this.recStart = at;
    this.atRecordStart = true;
    this.state = State.FieldStart;
    this.fields = [];
    this.quoted = '';
    this.frozenRaw = null;
    this.skipReason = '';
  }

  private startSkip(reason: string): void {
    this.state = State.Skip;
    this.skipReason = reason;
    this.fields = [];
    this.quoted = '';
  }

  /** Cuts an over-long record at `i` so its text stops being buffered. */
  private freeze(s: string, i: number): void {
    let end = i;
    // Never leave half of a surrogate pair at the cut.
    const prev = s.charCodeAt(end - 1);
    if (end > this.recStart && prev >= 0xd800 && prev <= 0xdbff) end--;
    this.frozenRaw = s.slice(this.recStart, end);
    const limit = `record exceeds maxRecordBytes (${this.maxRecordBytes})`;
    const wasQuoted = this.state === State.Quoted;
    const reason =
      this.state === State.Skip
        ? `${this.skipReason}; ${limit}`
        : wasQuoted
          ? `${limit} inside a quoted field opened on line ${this.quoteOpenLine} (unterminated quote?)`
          : limit;
    this.startSkip(reason);
  }

  /** Drops text no longer needed so memory stays bounded by one record plus one chunk. */
  private compact(): void {
    const s = this.pending;
    if (this.atRecordStart || this.frozenRaw !== null) {
      this.pending = '';
      this.recStart = 0;
      this.scanned = 0;
      return;
    }
    const shift = this.recStart;
    if (shift > 0) {
      this.pending = s.slice(shift);
      this.fieldStart -= shift;
      this.quoteOpenIndex -= shift;
      this.recStart = 0;
    }
    this.scanned = this.pending.length;
  }

  private finish(out: CsvRecord[]): void {
    if (this.atRecordStart) return;
    const s = this.pending;
    const end = s.length;
    switch (this.state) {
      case State.FieldStart:
        this.fields.push('');
        this.emitRecord(s, end, out);
        return;
      case State.Unquoted:
        this.fields.push(s.slice(this.fieldStart, end));
        this.emitRecord(s, end, out);
        return;
      case State.QuoteInQuoted:
        this.fields.push(this.quoted);
        this.emitRecord(s, end, out);
        return;
      case State.Skip:
        out.push({ kind: 'error', line: this.recordLine, raw: this.frozenRaw ?? s.slice(this.recStart, end), reason: this.skipReason });
        return;
      case State.Quoted:
        this.recoverUnterminated(out);
        return;
    }
  }

  /**
   * An unclosed quote at end of input most likely was a stray quote, so only the record up to
   * the end of the line where the quote opened is rejected; the lines after it are parsed again
   * as fresh records instead of being lost inside the bad field. The text is all still buffered
   * here: a quoted field longer than maxRecordBytes would have been cut already.
   */
  private recoverUnterminated(out: CsvRecord[]): void {
    const s = this.pending;
    let cut = this.quoteOpenIndex;
    while (cut < s.length && !isTerminator(s.charCodeAt(cut))) cut++;
    out.push({
      kind: 'error',
      line: this.recordLine,
      raw: s.slice(this.recStart, cut),
      reason: `unterminated quoted field opened on line ${this.quoteOpenLine}`,
    });
    if (cut >= s.length) return;
    let rest = cut + 1;
    if (s.charCodeAt(cut) === CR && s.charCodeAt(rest) === LF) rest++;
    const remainder = s.slice(rest);
    const resumeLine = this.quoteOpenLine + 1;
    this.reset();
    this.atStreamStart = false;
    this.line = resumeLine;
    this.scan(remainder, out);
    this.finish(out);
  }
}

/** Parses a complete text; convenience over CsvParser. */
/** Line breaks in a text as the parser counts them: LF, CRLF and a lone CR count one each. */
export function countLineBreaks(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === CR || (c === LF && text.charCodeAt(i - 1) !== CR)) n++;
  }
  return n;
}

export function parseCsvText(text: string, options?: CsvParserOptions): CsvRecord[] {
  const parser = new CsvParser(options);
  return [...parser.push(text), ...parser.end()];
}

// Leading/trailing whitespace is quoted because many readers trim unquoted fields; a leading
// BOM is quoted so a reader cannot mistake it for the file's byte-order mark.
const NEEDS_QUOTES = /[",\r\n]|^[\s\uFEFF]|\s$/;

/** One field as formatCsvRow writes it: quoted only when it needs to be. */
export function formatCsvField(f: string): string {
  return NEEDS_QUOTES.test(f) ? `"${f.replace(/"/g, '""')}"` : f;
}

/**
 * Formats one row without line terminator, quoting only the fields that need it, so that
 * CsvParser returns exactly `fields` for the line.
 */
export function formatCsvRow(fields: readonly string[]): string {
  if (fields.length === 0) throw new RangeError('a CSV row needs at least one field');
  // A lone empty field would be an empty line, which parsers skip.
  if (fields.length === 1 && fields[0] === '') return EMPTY_ROW;
  let line = '';
  for (let k = 0; k < fields.length; k++) {
    if (k > 0) line += ',';
    line += formatCsvField(fields[k] as string);
  }
  return line;
}

/** How a row of one empty field is written: an empty line would be skipped by parsers. */
export const EMPTY_ROW = '""';

/**
 * Shortest text that reads back as the same double (`String` already is shortest round-trip).
 * -0 is written "-0" so the sign survives. Non-finite values are refused: CSV consumers have
 * no agreed spelling for them and they would poison any fit downstream.
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`cannot write non-finite number ${x} to CSV`);
  return Object.is(x, -0) ? '-0' : String(x);
}

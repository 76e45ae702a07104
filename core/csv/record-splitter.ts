/**
 * Splits CSV bytes into records without decoding them: the byte-level twin of CsvParser's
 * record boundaries, for `vgmflow produce`, which sends each record's bytes exactly as they are
 * in the file (invalid UTF-8 included) and never needs the fields.
 *
 * A record ends where CsvParser ends it: at a line terminator (LF, CRLF or a lone CR) outside
 * quotes; empty lines are skipped; a malformed record (stray quote, text after a closing quote)
 * runs to the end of its line; a record longer than `maxRecordBytes` is cut there and runs on
 * to the next line terminator, quoted or not; a quoted field still open at the end of the input
 * ends its record at the end of the line where it opened, and the lines after it are records
 * again. Lines are counted as CsvParser counts them. The only difference: the size limit counts
 * bytes here and UTF-8 bytes of the decoded text there, which agree on valid UTF-8.
 */

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
  Skip,
}

/**
 * Receives each record: its bytes without the line terminator (cut at the size limit) are
 * bytes[from, to), valid only during the call; the line it starts on, and the line its bytes end
 * on (the start line plus the line breaks in the bytes). A view per record would cost more than
 * finding the record.
 */
export type RecordSink = (bytes: Uint8Array, from: number, to: number, line: number, lastLine: number) => void;

const EMPTY = new Uint8Array(0);

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class CsvRecordSplitter {
  private readonly maxRecordBytes: number;
  private line = 1;
  private lastWasCR = false;
  private atRecordStart = true;
  private state: State = State.FieldStart;
  private recordLine = 1;
  private recordBytes = 0;
  /** Bytes of the current record from earlier chunks (views), while it is not cut. */
  private parts: Uint8Array[] = [];
  private partsBytes = 0;
  /** The record's bytes up to the cut, once it is longer than the limit. */
  private frozen: Uint8Array | null = null;
  /** The line the cut bytes end on. */
  private frozenLastLine = 1;
  /** Position of the open quote of the current record, in bytes from the record's start. */
  private quoteOpenAt = 0;
  private quoteOpenLine = 1;

  constructor(options: { readonly maxRecordBytes: number }) {
    const max = options.maxRecordBytes;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxRecordBytes must be a positive integer, got ${max}`);
    this.maxRecordBytes = max;
  }

  /** Feeds a chunk; `sink` gets the records it completes, in order. */
  push(input: Uint8Array, sink: RecordSink): void {
    // A plain view: a Buffer's subarray costs far more than a Uint8Array's, once per record.
    const chunk = input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.length);
    const n = chunk.length;
    let recStart = 0;
    let i = 0;
    let nextLF = -2;
    let nextQuote = -2;
    let nextCR = -2;
    while (i < n) {
      if (this.atRecordStart && this.parts.length === 0) {
        // Fast path: a line with no quote and no lone CR, far below the limit.
        const c0 = chunk[i] as number;
        if (c0 !== CR && c0 !== LF) {
          if (nextLF !== -1 && nextLF < i) nextLF = chunk.indexOf(LF, i);
          if (nextLF >= 0) {
            if (nextQuote !== -1 && nextQuote < i) nextQuote = chunk.indexOf(QUOTE, i);
            if (nextCR !== -1 && nextCR < i) nextCR = chunk.indexOf(CR, i);
            let end = nextLF;
            const quoteFree = nextQuote < 0 || nextQuote > nextLF;
            const crOk = nextCR < 0 || nextCR > nextLF || nextCR === nextLF - 1;
            if (nextCR === nextLF - 1) end = nextCR;
            if (quoteFree && crOk && end - i <= this.maxRecordBytes) {
              sink(chunk, i, end, this.line, this.line);
              this.line++;
              this.lastWasCR = false;
              i = nextLF + 1;
              recStart = i;
              continue;
            }
          }
        }
      }
      const c = chunk[i] as number;
      if (this.atRecordStart) {
        if (c === LF && this.lastWasCR) {
          this.lastWasCR = false;
          i++;
          recStart = i;
          continue;
        }
        if (c === CR || c === LF) {
          this.countLine(c);
          i++;
          recStart = i;
          continue;
        }
        this.atRecordStart = false;
        this.state = State.FieldStart;
        this.recordLine = this.line;
        this.recordBytes = 0;
        recStart = i;
      }
      const terminator = c === CR || c === LF;
      if (terminator && this.state !== State.Quoted) {
        this.emit(chunk, recStart, i, sink);
        this.countLine(c);
        i++;
        recStart = i;
        continue;
      }
      if (this.frozen === null) {
        this.recordBytes++;
        if (this.recordBytes > this.maxRecordBytes) {
          const head = chunk.slice(recStart, i);
          this.frozen = this.parts.length === 0 ? head : concat([...this.parts, head], this.partsBytes + head.length);
          this.frozenLastLine = this.line;
          this.parts = [];
          this.partsBytes = 0;
          this.state = State.Skip;
          this.countLine(c);
          i++;
          continue;
        }
      }
      this.step(c, i - recStart + this.partsBytes);
      this.countLine(c);
      i++;
    }
    // Keep a copy of the unfinished record's bytes: the caller may reuse the chunk.
    if (!this.atRecordStart && this.frozen === null && recStart < n) {
      this.parts.push(chunk.slice(recStart, n));
      this.partsBytes += n - recStart;
    }
  }

  /** Signals the end of the input; `sink` gets the last records. Leaves the splitter ready for a new input. */
  end(sink: RecordSink): void {
    if (!this.atRecordStart) {
      if (this.state === State.Quoted) {
        this.recoverUnterminated(sink);
        return;
      }
      this.emit(EMPTY, 0, 0, sink);
    }
    this.reset(1);
  }

  private reset(line: number): void {
    this.line = line;
    this.lastWasCR = false;
    this.atRecordStart = true;
    this.state = State.FieldStart;
    this.parts = [];
    this.partsBytes = 0;
    this.frozen = null;
  }

  private countLine(c: number): void {
    if (c === CR) {
      this.line++;
      this.lastWasCR = true;
    } else {
      if (c === LF && !this.lastWasCR) this.line++;
      this.lastWasCR = false;
    }
  }

  private step(c: number, at: number): void {
    switch (this.state) {
      case State.FieldStart:
        if (c === QUOTE) {
          this.state = State.Quoted;
          this.quoteOpenAt = at;
          this.quoteOpenLine = this.line;
        } else if (c !== COMMA) {
          this.state = State.Unquoted;
        }
        return;
      case State.Unquoted:
        if (c === COMMA) this.state = State.FieldStart;
        else if (c === QUOTE) this.state = State.Skip;
        return;
      case State.Quoted:
        if (c === QUOTE) this.state = State.QuoteInQuoted;
        return;
      case State.QuoteInQuoted:
        if (c === QUOTE) this.state = State.Quoted;
        else if (c === COMMA) this.state = State.FieldStart;
        else this.state = State.Skip;
        return;
      case State.Skip:
        return;
    }
  }

  /** Ends the current record at `end` of `chunk` (its bytes from `from` there, after any earlier parts). */
  private emit(chunk: Uint8Array, from: number, end: number, sink: RecordSink): void {
    const lastLine = this.frozen !== null ? this.frozenLastLine : this.line;
    if (this.frozen !== null) sink(this.frozen, 0, this.frozen.length, this.recordLine, lastLine);
    else if (this.parts.length === 0) sink(chunk, from, end, this.recordLine, lastLine);
    else {
      const bytes = concat([...this.parts, chunk.subarray(from, end)], this.partsBytes + (end - from));
      sink(bytes, 0, bytes.length, this.recordLine, lastLine);
    }
    this.atRecordStart = true;
    this.parts = [];
    this.partsBytes = 0;
    this.frozen = null;
  }

  /**
   * A quoted field open at the end of the input: the record ends at the end of the line where
   * the quote opened, and what follows is split again from the next line (as CsvParser does).
   * The record is all still buffered: a longer one would have been cut already.
   */
  private recoverUnterminated(sink: RecordSink): void {
    const text = concat(this.parts, this.partsBytes);
    let cut = this.quoteOpenAt;
    while (cut < text.length && text[cut] !== CR && text[cut] !== LF) cut++;
    sink(text, 0, cut, this.recordLine, this.quoteOpenLine);
    const resumeLine = this.quoteOpenLine + 1;
    this.reset(resumeLine);
    if (cut >= text.length) {
      this.reset(1);
      return;
    }
    let rest = cut + 1;
    if (text[cut] === CR && text[rest] === LF) rest++;
    this.push(text.subarray(rest), sink);
    this.end(sink);
  }
}

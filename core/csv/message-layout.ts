/**
 * How `vgmflow produce` lays a file's records out in messages, and so the row id of every
 * record of a file: the one rule that produce and every file job (embedded fit, transform)
 * share, so that a file encoded embedded and the same file produced to Kafka and encoded there
 * get the same row ids, hence the same mode draws, bit for bit.
 *
 * A message is whole records joined by '\n' (no trailing newline). By default a message takes
 * records while its size stays at most `maxMessageBytes` (1 MiB); a record larger than that
 * alone makes its own message. With `rowsPerMessage` every message takes exactly that many
 * records (the last one fewer), whatever their size. Message j goes to partition j mod P at
 * offset ⌊j/P⌋ of a new topic, and a record's row id is (that partition, that offset, its index
 * in the message).
 *
 * A record's size is its bytes in the file without its line terminator, exactly as produce sends
 * them (invalid UTF-8 included). Rejected records take their place too: a row's id does not
 * depend on whether the records before it were good. core/normalization/row-id.ts turns
 * (message, index) into the row id.
 */
import { CsvRecordSplitter } from './record-splitter';
/** The default bound on a produced message: whole records, at most this many bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * Produce splits records only to send them, never rejects one: this limit is far above ingest's
 * (1 MiB), so an over-long record reaches ingest whole and is dead-lettered there.
 */
export const PRODUCE_MAX_RECORD_BYTES = 15 * 1024 * 1024;

export interface MessageLimits {
  /** Records per message, whatever their size; when set, maxMessageBytes does not apply. */
  readonly rowsPerMessage?: number;
  /** Bytes per message (records plus the '\n' between them); default 1 MiB. */
  readonly maxMessageBytes?: number;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** Puts records into messages one at a time, by the rule above. */
export class MessageBlocks {
  private readonly rowsPerMessage: number;
  private readonly maxBytes: number;
  private messageIndex = -1;
  private rows = 0;
  private bytes = 0;

  constructor(limits: MessageLimits = {}) {
    if (limits.rowsPerMessage !== undefined) {
      this.rowsPerMessage = positiveInteger('rowsPerMessage', limits.rowsPerMessage);
      this.maxBytes = Infinity;
    } else {
      this.rowsPerMessage = Infinity;
      this.maxBytes = positiveInteger('maxMessageBytes', limits.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
    }
  }

  /**
   * Places the next record, `recordBytes` long; true when it starts a new message (the
   * message before it, if any, is then complete).
   */
  place(recordBytes: number): boolean {
    const fresh = this.rows === 0 || this.rows >= this.rowsPerMessage || this.bytes + 1 + recordBytes > this.maxBytes;
    if (fresh) {
      this.messageIndex++;
      this.rows = 1;
      this.bytes = recordBytes;
    } else {
      this.rows++;
      this.bytes += 1 + recordBytes;
    }
    return fresh;
  }

  /** The message of the record placed last (0-based; -1 before any). */
  get message(): number {
    return this.messageIndex;
  }

  /** The index of the record placed last within its message. */
  get rowInMessage(): number {
    return this.rows - 1;
  }

  /** Messages begun so far. */
  get messages(): number {
    return this.messageIndex + 1;
  }
}

/**
 * Where `vgmflow produce` would put each record a file job parses, so that the job gives it the
 * row id it gets on Kafka. Fed the file's bytes, it splits them into records as produce does
 * (CsvRecordSplitter, the exact bytes) and lays those out (MessageBlocks); each record parsed
 * from the same bytes (CsvParser, which numbers lines the same way) is then placed in the
 * message of the produced record it starts in, numbered in order within that message as ingest
 * numbers the records of a message. The two agree record for record except on a record over
 * ingest's 1 MiB limit that spans lines; there the parsed pieces still share their message.
 */
export class ProducedRecordPlacer {
  private readonly splitter = new CsvRecordSplitter({ maxRecordBytes: PRODUCE_MAX_RECORD_BYTES });
  private readonly blocks: MessageBlocks;
  /** Produced records not yet passed: flat (first line, last line, message) triples from `head`. */
  private produced: number[] = [];
  private head = 0;
  private skipHeader: boolean;
  private currentMessage = -1;
  private row = -1;
  private readonly sink = (_bytes: Uint8Array, from: number, to: number, line: number, lastLine: number): void => {
    if (this.skipHeader) {
      this.skipHeader = false;
      return;
    }
    this.blocks.place(to - from);
    this.produced.push(line, lastLine, this.blocks.message);
  };

  /** `header`: the file's first record is its header, which produce does not send. */
  constructor(limits: MessageLimits, header: boolean) {
    this.blocks = new MessageBlocks(limits);
    this.skipHeader = header;
  }

  /** The file's next bytes: call before placing the records parsed from them. */
  pushBytes(chunk: Uint8Array): void {
    this.splitter.push(chunk, this.sink);
  }

  /** The end of the file. */
  endBytes(): void {
    this.splitter.end(this.sink);
  }

  /** Places the next parsed data record, which starts on `line`; then see `message` and `rowInMessage`. */
  place(line: number): void {
    const p = this.produced;
    while (this.head + 3 < p.length && (p[this.head + 1] as number) < line) this.head += 3;
    const message = this.head < p.length ? (p[this.head + 2] as number) : Math.max(0, this.currentMessage);
    if (message !== this.currentMessage) {
      this.currentMessage = message;
      this.row = 0;
    } else {
      this.row++;
    }
    if (this.head > 3 * 4096) {
      this.produced = p.slice(this.head);
      this.head = 0;
    }
  }

  get message(): number {
    return this.currentMessage;
  }

  get rowInMessage(): number {
    return this.row;
  }
}

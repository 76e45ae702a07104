/**
 * A produced message's bytes as they are built from a file's records, shared by `vgmflow
 * produce` and the embedded transform's message path (so both build the same messages).
 */
import { parseCsvText } from '../../core/csv/csv';

const NEWLINE = 0x0a;

/**
 * The bytes of the message being built: whole records joined by '\n'. Records that follow each
 * other in the chunk with one '\n' between them (the usual case) are copied as one run.
 */
export class MessageBuffer {
  private buffer = new Uint8Array(64 * 1024);
  private length = 0;
  rows = 0;
  // The pending run: bytes[runFrom, runTo) of runChunk, not copied yet.
  private runChunk: Uint8Array | null = null;
  private runFrom = 0;
  private runTo = 0;

  append(chunk: Uint8Array, from: number, to: number): void {
    if (this.rows > 0 && chunk === this.runChunk && from === this.runTo + 1 && chunk[this.runTo] === NEWLINE) {
      this.runTo = to;
    } else {
      this.flushRun();
      if (this.rows > 0) this.reserve(1)[this.length++] = NEWLINE;
      this.runChunk = chunk;
      this.runFrom = from;
      this.runTo = to;
    }
    this.rows++;
  }

  /** Copies the pending run: call before the chunk it is in changes. */
  flushRun(): void {
    const chunk = this.runChunk;
    if (chunk === null) return;
    const n = this.runTo - this.runFrom;
    this.reserve(n).set(chunk.subarray(this.runFrom, this.runTo), this.length);
    this.length += n;
    this.runChunk = null;
  }

  /** The message's bytes (a copy), leaving the buffer empty. */
  take(): Buffer {
    this.flushRun();
    const value = Buffer.from(this.buffer.subarray(0, this.length));
    this.length = 0;
    this.rows = 0;
    return value;
  }

  private reserve(bytes: number): Uint8Array {
    const needed = this.length + bytes;
    if (needed > this.buffer.length) {
      const grown = new Uint8Array(Math.max(needed, this.buffer.length * 2));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    return this.buffer;
  }
}

/** The fields of a file's header record, or null when it does not parse as one record. */
export function headerFields(bytes: Uint8Array): string[] | null {
  const [record] = parseCsvText(new TextDecoder().decode(bytes));
  return record !== undefined && record.kind === 'record' ? record.fields : null;
}

/**
 * Where the lines of produced messages were in the file: a dead letter names the line within
 * its message (ingest parses each message on its own), and a file job reports the line of the
 * file. A message's lines follow the file's except where the file had blank lines between
 * records (skipped, not sent) or a record cut at the size limit, so each message keeps only
 * the points where the difference changes: one per message for most files.
 */
export class MessageLineMap {
  /** Per message, where its points start in `points`. */
  private readonly firstPoint: number[] = [];
  /** Flat (message line, file line − message line) pairs, in message and line order. */
  private readonly points: number[] = [];
  private nextMessageLine = 1;
  private lastDelta = NaN;

  /** Messages so far. */
  get messages(): number {
    return this.firstPoint.length;
  }

  /** Starts the next message. */
  startMessage(): void {
    this.firstPoint.push(this.points.length);
    this.nextMessageLine = 1;
    this.lastDelta = NaN;
  }

  /**
   * Adds the current message's next record: it starts on `fileLine` and its bytes as sent end on
   * `lastFileLine` (its own line breaks; the terminator between records is one '\n' in a message).
   */
  addRecord(fileLine: number, lastFileLine: number): void {
    if (this.firstPoint.length === 0) throw new Error('MessageLineMap: addRecord before startMessage');
    const delta = fileLine - this.nextMessageLine;
    if (delta !== this.lastDelta) {
      this.points.push(this.nextMessageLine, delta);
      this.lastDelta = delta;
    }
    this.nextMessageLine += lastFileLine - fileLine + 1;
  }

  /** The file line of line `line` (1-based) of message `message`; null for a message not produced. */
  fileLine(message: number, line: number): number | null {
    if (!Number.isInteger(message) || message < 0 || message >= this.firstPoint.length) return null;
    const from = this.firstPoint[message] as number;
    const to = message + 1 < this.firstPoint.length ? (this.firstPoint[message + 1] as number) : this.points.length;
    if (from === to) return null;
    // The last point at or before `line` (points are pairs: binary search over pair indices).
    let lo = 0;
    let hi = (to - from) / 2 - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.points[from + 2 * mid] as number) <= line) lo = mid;
      else hi = mid - 1;
    }
    const delta = this.points[from + 2 * lo + 1] as number;
    return line + delta;
  }
}

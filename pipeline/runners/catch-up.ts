/**
 * Knows when a consumer group has read a topic up to the end offsets it had when the
 * tracker was made: the "caught up" of a one-shot run (`vgmflow transform --brokers`).
 *
 * A partition counts as read once either
 *   - this process's reader reports a position at or past its end (Transport onPosition,
 *     which moves past transaction markers and aborted records), or
 *   - the group's committed offset is at or past its end (another member of the group owns
 *     it, or a previous run finished it).
 * Committed offsets alone would not do: a stage commits `last record + 1`, which stays one
 * short of the end when a transactional topic ends with a commit marker.
 */
import type { Transport } from '../../topics/transport';

export interface CatchUpProgress {
  /** Offsets read since the tracker was made, over all partitions. */
  readonly done: number;
  /** Offsets there were to read when the tracker was made. */
  readonly total: number;
}

export interface CatchUp {
  /** Pass to the reader as its onPosition. */
  readonly onPosition: (partition: number, nextOffset: number) => void;
  /** Resolves once every partition is read up to its end at start. */
  readonly reached: Promise<void>;
  progress(): CatchUpProgress;
  /** Stops polling the committed offsets (reached or not). */
  close(): void;
}

export interface CatchUpOptions {
  readonly transport: Transport;
  readonly topic: string;
  readonly group: string;
  /** How often the group's committed offsets are polled. Default 2000 ms. */
  readonly pollMs?: number;
}

export async function trackCatchUp(o: CatchUpOptions): Promise<CatchUp> {
  const [ends, starts, committed] = await Promise.all([
    o.transport.endOffsets(o.topic),
    o.transport.startOffsets(o.topic),
    o.transport.committedOffsets(o.group, o.topic),
  ]);
  // Where the group resumes: its committed offset, else the first offset still held.
  const from = ends.map((_, p) => Math.max(committed[p] ?? -1, starts[p] ?? 0));
  const position = [...from];
  const total = ends.reduce((sum, end, p) => sum + Math.max(0, end - (from[p] as number)), 0);

  let resolve: () => void = () => undefined;
  const reached = new Promise<void>((r) => (resolve = r));
  const check = (): void => {
    if (position.every((n, p) => n >= (ends[p] as number))) resolve();
  };
  const advance = (partition: number, next: number): void => {
    if (partition < position.length && next > (position[partition] as number)) position[partition] = next;
    check();
  };

  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    o.transport
      .committedOffsets(o.group, o.topic)
      .then((offsets) => offsets.forEach((offset, p) => advance(p, offset)))
      // A failed poll only delays the answer; the reader's positions still count.
      .catch(() => undefined)
      .finally(() => (polling = false));
  }, o.pollMs ?? 2000);
  timer.unref();
  reached.then(() => clearInterval(timer), () => undefined);
  check();

  return {
    onPosition: advance,
    reached,
    progress: () => ({
      done: position.reduce((sum, n, p) => sum + Math.max(0, Math.min(n, ends[p] as number) - (from[p] as number)), 0),
      total,
    }),
    close: () => clearInterval(timer),
  };
}

/**
 * Reads a whole topic up to its end offsets at call time (e.g. the dead letters of a run).
 * The end is known exactly: the subscription's positions count what is never handed over
 * (a transactional topic's commit markers, records of aborted transactions), so reading stops
 * when every partition's position reaches its end offset, not after a quiet spell, which a
 * loaded machine can make in the middle of a topic.
 */
import type { InRecord, Transport } from '../../topics/transport';

export interface ReadTopicOptions {
  /** Default true: records of open or aborted transactions are not read (nor waited for). */
  readonly readCommitted?: boolean;
  /** How long the read may take. Default 120 000 ms. */
  readonly timeoutMs?: number;
}

export interface TopicRead {
  /** The records below the end offsets, in the order they arrived. */
  readonly records: InRecord[];
  /** Whether every partition was read to its end offset within the time allowed. */
  readonly complete: boolean;
}

/** Reads `topic` until every partition's position reaches its end offset at call time, or the time is up. */
export async function readTopicUntilEnd(transport: Transport, topic: string, options: ReadTopicOptions = {}): Promise<TopicRead> {
  const ends = await transport.endOffsets(topic);
  const records: InRecord[] = [];
  const positions = ends.map(() => 0);
  const reached = (): boolean => ends.every((end, p) => (positions[p] as number) >= end);
  if (reached()) return { records, complete: true };
  let resolve: () => void = () => undefined;
  const allRead = new Promise<void>((r) => (resolve = r));
  const sub = await transport.subscribe({
    topic,
    group: null,
    readCommitted: options.readCommitted ?? true,
    eachBatch: async (batch) => {
      for (const r of batch.records) if (r.offset < (ends[r.partition] as number)) records.push(r);
    },
    onPosition: (partition, next) => {
      positions[partition] = Math.max(positions[partition] as number, next);
      if (reached()) resolve();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), options.timeoutMs ?? 120_000)));
  try {
    const complete = await Promise.race([allRead.then(() => true), timedOut]);
    return { records, complete };
  } finally {
    clearTimeout(timer);
    await sub.stop();
  }
}

/** readTopicUntilEnd that must get to the end: rejects, saying where it stopped, when it does not. */
export async function readTopicToEnd(transport: Transport, topic: string, options: ReadTopicOptions = {}): Promise<InRecord[]> {
  const read = await readTopicUntilEnd(transport, topic, options);
  if (!read.complete) {
    throw new Error(`${topic} was not read to its end offsets within ${(options.timeoutMs ?? 120_000) / 1000} s (${read.records.length} records read)`);
  }
  return read.records;
}

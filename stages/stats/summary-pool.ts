/**
 * Where a stats worker summarises its input partitions: in its own thread, or on summary
 * threads (partition p on thread p mod n), so that decoding row batches and building summaries
 * — a reader's CPU, a cost per row — runs on other cores while the worker's thread talks to
 * Kafka (and, with every stage in one process, while ingest sends). A batch's bytes go to the
 * partition's thread (copied once); what comes back is the outcome and, once the partition is
 * complete, its encoded chunks (transferred). Each partition's batches are handled in order on
 * one thread by the pure PartitionChunker, so the thread count cannot change a byte.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ThreadPool } from '../runner/thread-pool';
import { PartitionChunker, type BatchAdded, type ChunkRecord, type PartitionJob } from './partition-chunks';

/** Replies: a start's ChunkRecord[] | null, an add's BatchAdded | null (ThreadReply); a drop has none. */
export type SummaryThreadRequest =
  | { readonly type: 'start'; readonly id: number; readonly partition: number; readonly generation: number; readonly job: PartitionJob }
  | { readonly type: 'add'; readonly id: number; readonly partition: number; readonly generation: number; readonly value: Uint8Array }
  | { readonly type: 'drop'; readonly partition: number };

export interface PartitionSummarizers {
  /**
   * (Re)starts partition `partition`'s summary for `job` as generation `generation`; resolves with
   * its chunks when the partition has no rows in the job, else null.
   */
  start(partition: number, generation: number, job: PartitionJob): Promise<ChunkRecord[] | null>;
  /** Adds an encoded row batch to the partition's summary; null when `generation` is no longer the partition's. */
  add(partition: number, generation: number, value: Uint8Array): Promise<BatchAdded | null>;
  /** Forgets the partition's summary (its chunks are sent, or it is no longer owned). */
  drop(partition: number): void;
  close(): Promise<void>;
}

/** The partitions' chunkers with their generations: the state a summary thread holds. */
export class PartitionChunkers {
  private readonly chunkers = new Map<number, { generation: number; chunker: PartitionChunker }>();

  start(partition: number, generation: number, job: PartitionJob): ChunkRecord[] | null {
    const chunker = new PartitionChunker(job, partition);
    this.chunkers.set(partition, { generation, chunker });
    return chunker.chunksIfEmpty();
  }

  add(partition: number, generation: number, value: Uint8Array): BatchAdded | null {
    const current = this.chunkers.get(partition);
    return current === undefined || current.generation !== generation ? null : current.chunker.add(value);
  }

  drop(partition: number): void {
    this.chunkers.delete(partition);
  }
}

function inThread(): PartitionSummarizers {
  const chunkers = new PartitionChunkers();
  return {
    start: async (partition, generation, job) => chunkers.start(partition, generation, job),
    add: async (partition, generation, value) => chunkers.add(partition, generation, value),
    drop: (partition) => chunkers.drop(partition),
    close: async () => undefined,
  };
}

/** The compiled thread body; absent when running from TypeScript sources (ts-jest). */
const THREAD_SCRIPT = join(__dirname, 'summary-thread.js');

function threaded(threads: number): PartitionSummarizers {
  const pool = new ThreadPool(THREAD_SCRIPT, threads, 'a summary thread');
  const of = (partition: number): number => partition % threads;
  return {
    start: (partition, generation, job) =>
      pool.ask<ChunkRecord[] | null>(of(partition), (id): SummaryThreadRequest => ({ type: 'start', id, partition, generation, job })),
    add: (partition, generation, value) => {
      // A copy of just the record's bytes (the value is a view into a whole fetch), handed over.
      const bytes = new Uint8Array(value.byteLength);
      bytes.set(value);
      return pool.ask<BatchAdded | null>(of(partition), (id): SummaryThreadRequest => ({ type: 'add', id, partition, generation, value: bytes }), [bytes.buffer]);
    },
    drop: (partition) => pool.tell(of(partition), { type: 'drop', partition } satisfies SummaryThreadRequest),
    close: () => pool.close('the summary threads were closed'),
  };
}

/**
 * `threads` summary threads, or the caller's thread when `threads` is 0 or the thread body is not
 * compiled (running from TypeScript sources).
 */
export function partitionSummarizers(threads: number): PartitionSummarizers {
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`summary threads must be a whole number ≥ 0, not ${threads}`);
  return threads === 0 || !existsSync(THREAD_SCRIPT) ? inThread() : threaded(threads);
}

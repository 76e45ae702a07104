/**
 * Where the embedded fit parses and summarises its blocks: on the threads of a pool (the fit's,
 * ./fit-threads.ts), each folding the blocks it gets into its own column summaries, or in the
 * caller's thread. The summaries merge exactly (whole-number counts), so the result does not
 * depend on the number of threads nor on which thread parsed which block.
 */
import type { ColumnSummary } from '../../core/normalization/column-summary';
import { mergeSummaries } from '../../core/normalization/value-shard';
import { ThreadPool } from '../../stages/runner/thread-pool';
import { parseBlockInto, summaryBuilders, type BlockDeadLetter } from './parse-block';
import type { ParseRequest, ParseThreadData } from './parse-requests';

export type { ParseThreadData } from './parse-requests';

export interface BlockParser {
  /** How many blocks it takes at once to keep every thread busy. */
  readonly parallelism: number;
  /** Parses a block (records back to back, record i ending at ends[i]); resolves with its rejected records. */
  parse(bytes: Uint8Array, ends: Int32Array): Promise<BlockDeadLetter[]>;
  /** The summaries of every row parsed so far, merged. */
  finish(): Promise<ColumnSummary[]>;
  close(): Promise<void>;
}

/** In the caller's thread. */
export function inThreadBlockParser(how: ParseThreadData): BlockParser {
  const { columns } = how;
  const builders = summaryBuilders(columns, how.summary, how.initialMeans);
  return {
    parallelism: 1,
    parse: async (bytes, ends) => parseBlockInto(builders, columns, bytes, ends),
    finish: async () => builders.map((b) => b.build()),
    close: async () => undefined,
  };
}

/** On the threads of `pool`, whose body answers ParseRequests for `how` (fit-thread.js); the pool's owner closes it. */
export function blockParserOn(pool: ThreadPool, how: ParseThreadData): BlockParser {
  const { columns } = how;
  const threads = pool.size;
  let nextBlock = 0;
  return {
    parallelism: threads * 2,
    parse: (bytes, ends) =>
      // The block is the thread's from here: moved, not copied.
      pool.ask<BlockDeadLetter[]>(nextBlock++ % threads, (id): ParseRequest => ({ type: 'block', id, bytes, ends }), [bytes.buffer as ArrayBuffer, ends.buffer as ArrayBuffer]),
    finish: async () => {
      const summaries = await Promise.all(Array.from({ length: threads }, (_, t) => pool.ask<ColumnSummary[]>(t, (id): ParseRequest => ({ type: 'finish', id }))));
      // Merged as a shard owner merges partitions' chunks: bounded by the same options.
      return mergeSummaries(summaries, columns, how.summary, how.initialMeans);
    },
    close: async () => undefined,
  };
}

/**
 * Where a stats worker computes its value shards' partials: in its own thread, or spread over
 * worker threads so that the E-step of several shards runs on several cores
 * (ARCHITECTURE.md, "The fit round protocol"). A shard's summary is copied to its thread
 * once per job; every round then sends only the request and gets back the partial.
 * Partials are a pure function of (request, summary), so both give the same bits.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { computeShardPartial, type ShardPartial, type RoundRequest } from '../../core/normalization/fit-transformer';
import type { SummaryData } from '../../core/normalization/summary-data';
import { ThreadPool } from '../runner/thread-pool';
import type { PartialRequest } from './partial-requests';

export interface PartialComputer {
  /** Makes `data` the summary of `shard` for `job`, replacing an earlier one. */
  load(job: string, shard: number, data: SummaryData): void;
  compute(job: string, shard: number, request: RoundRequest): Promise<ShardPartial>;
  /** Drops every summary of `job`. */
  forget(job: string): void;
  close(): Promise<void>;
}

/** In the caller's thread. */
export function inThreadPartials(): PartialComputer {
  const held = new Map<string, SummaryData>();
  return {
    load: (job, shard, data) => void held.set(`${job}/${shard}`, data),
    compute: async (job, shard, request) => {
      const data = held.get(`${job}/${shard}`);
      if (data === undefined) throw new Error(`no summary of value shard ${shard} for job ${job}`);
      return computeShardPartial(request, data);
    },
    forget: (job) => {
      for (const key of [...held.keys()]) if (key.startsWith(`${job}/`)) held.delete(key);
    },
    close: async () => undefined,
  };
}

/** The compiled thread body; absent when running from TypeScript sources (ts-jest), where threads cannot load it. */
const THREAD_SCRIPT = join(__dirname, 'partial-thread.js');

/**
 * On the threads of `pool`, whose body answers PartialRequests (partial-thread.js, or another
 * body that also does); shard s is computed by thread s mod n. The pool's owner closes it.
 */
export function partialComputerOn(pool: ThreadPool): PartialComputer {
  const threads = pool.size;
  const threadOf = (shard: number): number => shard % threads;
  const tell = (thread: number, m: PartialRequest): void => pool.tell(thread, m);
  return {
    load: (job, shard, data) => tell(threadOf(shard), { type: 'load', job, shard, summaries: data.summaries }),
    compute: (job, shard, request) => pool.ask<ShardPartial>(threadOf(shard), (id): PartialRequest => ({ type: 'compute', id, job, shard, request })),
    forget: (job) => {
      for (let t = 0; t < threads; t++) tell(t, { type: 'forget', job });
    },
    close: async () => undefined,
  };
}

function threadPartials(threads: number): PartialComputer {
  // The threads stay referenced until close(): the rounds between two partials can pass
  // through moments where nothing else holds the event loop, and an unreferenced thread let the
  // process exit there, silently and with status 0, in the middle of a fit (seen 4 times in 8).
  const pool = new ThreadPool(THREAD_SCRIPT, threads, 'a partial-statistics thread');
  return { ...partialComputerOn(pool), close: () => pool.close('the partial-statistics threads were closed') };
}

/**
 * `threads` worker threads, or the caller's thread when `threads` is 0 or the thread body is
 * not compiled (running from TypeScript sources).
 */
export function partialComputer(threads: number): PartialComputer {
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`stats threads must be a whole number ≥ 0, not ${threads}`);
  return threads === 0 || !existsSync(THREAD_SCRIPT) ? inThreadPartials() : threadPartials(threads);
}

/**
 * The embedded fit's threads: the same threads parse the file's blocks, then compute the value
 * shards' partials round after round, so the fit starts (and warms up) one set of threads, not
 * two. Without threads, or running from TypeScript sources (ts-jest, where the thread body is
 * not compiled), both happen in the caller's thread; the model is the same either way.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { partialComputer, partialComputerOn, type PartialComputer } from '../../stages/stats/partial-pool';
import { ThreadPool } from '../../stages/runner/thread-pool';
import { blockParserOn, inThreadBlockParser, type BlockParser } from './parse-pool';
import type { ParseThreadData } from './parse-requests';

export interface FitThreads {
  readonly parser: BlockParser;
  readonly partials: PartialComputer;
  close(): Promise<void>;
}

const THREAD_SCRIPT = join(__dirname, 'fit-thread.js');

/** `threads` threads that parse as `how` says, then compute partials (0: the caller's thread). */
export function fitThreads(how: ParseThreadData, threads: number): FitThreads {
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`fit threads must be a whole number ≥ 0, not ${threads}`);
  if (threads === 0 || !existsSync(THREAD_SCRIPT)) {
    return { parser: inThreadBlockParser(how), partials: partialComputer(0), close: async () => undefined };
  }
  const pool = new ThreadPool(THREAD_SCRIPT, threads, 'an embedded-fit thread', how);
  return { parser: blockParserOn(pool, how), partials: partialComputerOn(pool), close: () => pool.close('the embedded-fit threads were closed') };
}

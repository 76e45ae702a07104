/**
 * `--stats-threads`: worker threads that compute a stats worker's partials and as many that build
 * its partitions' summaries (in the embedded fit: that parse the file's blocks; with --all-stages
 * also ingest's parse threads). `--parse-threads`: an ingest stage's parse threads. The defaults
 * use every core: parsing, summaries and the E-step are most of a fit's work, and rows, summaries
 * and partials are the same bits whichever thread computes them.
 */
import { availableParallelism } from 'node:os';
import { integerOption, type ParsedArgs } from './args';

export const STATS_THREADS_OPTION = { 'stats-threads': { type: 'string' } } as const;

export const STATS_THREADS_HELP = `  --stats-threads <n>     worker threads for a stats worker's partials, and as many for its input
                          partitions' summaries; in the embedded fit, for parsing; with --all-stages
                          also ingest's parse threads (default: the number of cores,
                          ${availableParallelism()} here; 0: the main thread)`;

export function statsThreads(args: ParsedArgs): number {
  return integerOption(args, 'stats-threads', availableParallelism());
}

export const PARSE_THREADS_OPTION = { 'parse-threads': { type: 'string' } } as const;

export const PARSE_THREADS_HELP = `  --parse-threads <n>     (ingest) worker threads that parse the CSV messages, every partition's
                          fetch at once (default: the number of cores, ${availableParallelism()} here; 0: the main thread)`;

export function parseThreads(args: ParsedArgs): number {
  return integerOption(args, 'parse-threads', availableParallelism());
}

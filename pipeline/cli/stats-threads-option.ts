/**
 * `--stats-threads`: worker threads that compute a stats worker's partials. The default uses
 * every core: the E-step over the partitions' summaries is most of a fit's work, and the
 * partials are the same bits whichever thread computes them.
 */
import { availableParallelism } from 'node:os';
import { integerOption, type ParsedArgs } from './args';

export const STATS_THREADS_OPTION = { 'stats-threads': { type: 'string' } } as const;

export const STATS_THREADS_HELP = `  --stats-threads <n>     worker threads for the stats partials (default: the number of cores,
                          ${availableParallelism()} here; 0 computes them in the main thread)`;

export function statsThreads(args: ParsedArgs): number {
  return integerOption(args, 'stats-threads', availableParallelism());
}

/**
 * `--stats-threads`: worker threads that compute a stats worker's partials (and, in the embedded
 * fit, first parse the file's blocks). The default uses every core: parsing and the E-step are
 * most of a fit's work, and summaries and partials are the same bits whichever thread computes them.
 */
import { availableParallelism } from 'node:os';
import { integerOption, type ParsedArgs } from './args';

export const STATS_THREADS_OPTION = { 'stats-threads': { type: 'string' } } as const;

export const STATS_THREADS_HELP = `  --stats-threads <n>     worker threads for the stats partials, and for parsing in the embedded
                          fit (default: the number of cores, ${availableParallelism()} here; 0: the main thread)`;

export function statsThreads(args: ParsedArgs): number {
  return integerOption(args, 'stats-threads', availableParallelism());
}

/**
 * `--summary`, `--max-bins`, `--bin-bits`: how `vgmflow fit` summarises numeric columns
 * (core/normalization/summary-options.ts; README, "High-cardinality columns").
 */
import { EXACT_BITS, MIN_BIN_BITS } from '../../core/mixture';
import { DEFAULT_SUMMARY_OPTIONS, SUMMARY_MODES, type SummaryMode, type SummaryOptions } from '../../core/normalization/summary-options';
import { integerOption, stringOption, type ParsedArgs } from './args';
import { UsageError } from './command';

export const SUMMARY_OPTIONS = {
  summary: { type: 'string' },
  'max-bins': { type: 'string' },
  'bin-bits': { type: 'string' },
} as const;

export const SUMMARY_HELP = `  --summary <mode>        how numeric columns are summarised for the fit (default auto):
                          auto   exact while a column has at most --max-bins distinct values,
                                 else binned at the finest resolution with at most --max-bins bins
                          exact  every distinct value (memory and EM time grow with them)
                          binned bins keeping --bin-bits mantissa bits (relative width 2^-bits)
  --max-bins <n>          (auto) the bound on a column's distinct values and bins
                          (default ${DEFAULT_SUMMARY_OPTIONS.maxBins}; memory up to about 80 B per bin per holder)
  --bin-bits <b>          (binned) resolution, ${MIN_BIN_BITS} to ${EXACT_BITS - 1} (default ${DEFAULT_SUMMARY_OPTIONS.binBits}); implies --summary binned`;

export function summaryOptions(args: ParsedArgs): SummaryOptions {
  const given = stringOption(args, 'summary');
  const bitsGiven = stringOption(args, 'bin-bits') !== undefined;
  const boundGiven = stringOption(args, 'max-bins') !== undefined;
  if (given !== undefined && !(SUMMARY_MODES as readonly string[]).includes(given)) {
    throw new UsageError(`--summary takes ${SUMMARY_MODES.join(', ')}, not "${given}"`);
  }
  const mode = (given ?? (bitsGiven ? 'binned' : DEFAULT_SUMMARY_OPTIONS.mode)) as SummaryMode;
  if (bitsGiven && mode !== 'binned') throw new UsageError(`--bin-bits is for --summary binned, not ${mode}`);
  if (boundGiven && mode !== 'auto') throw new UsageError(`--max-bins is for --summary auto, not ${mode}`);
  const maxBins = integerOption(args, 'max-bins', DEFAULT_SUMMARY_OPTIONS.maxBins);
  const binBits = integerOption(args, 'bin-bits', DEFAULT_SUMMARY_OPTIONS.binBits);
  if (maxBins < 1) throw new UsageError('--max-bins must be at least 1');
  if (binBits < MIN_BIN_BITS || binBits >= EXACT_BITS) throw new UsageError(`--bin-bits must be from ${MIN_BIN_BITS} to ${EXACT_BITS - 1}, got ${binBits}`);
  return { mode, maxBins, binBits };
}

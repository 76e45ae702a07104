/**
 * `--max-message-bytes` / `--rows-per-message`: how `vgmflow produce` lays a file out in
 * messages, and, for the embedded fit, which produce layout to mirror (the layout decides the
 * partitions and row ids, core/csv/message-layout.ts).
 */
import { DEFAULT_MAX_MESSAGE_BYTES, type MessageLimits } from '../../core/csv/message-layout';
import { integerOption, stringOption, type ParsedArgs } from './args';
import { UsageError } from './command';

export const MESSAGE_LAYOUT_OPTIONS = { 'max-message-bytes': { type: 'string' }, 'rows-per-message': { type: 'string' } } as const;

export const MESSAGE_LAYOUT_HELP = `  --max-message-bytes <n> whole rows per message up to n bytes (default ${DEFAULT_MAX_MESSAGE_BYTES}, 1 MiB);
                          a longer row goes alone
  --rows-per-message <n>  exactly n rows per message instead (e.g. 1: one row per message)`;

export function messageLimits(args: ParsedArgs): MessageLimits {
  const byRows = stringOption(args, 'rows-per-message') !== undefined;
  const byBytes = stringOption(args, 'max-message-bytes') !== undefined;
  if (byRows && byBytes) throw new UsageError('give --rows-per-message or --max-message-bytes, not both');
  if (byRows) {
    const rowsPerMessage = integerOption(args, 'rows-per-message', 1);
    if (rowsPerMessage < 1) throw new UsageError('--rows-per-message must be at least 1');
    return { rowsPerMessage };
  }
  const maxMessageBytes = integerOption(args, 'max-message-bytes', DEFAULT_MAX_MESSAGE_BYTES);
  if (maxMessageBytes < 1) throw new UsageError('--max-message-bytes must be at least 1');
  return { maxMessageBytes };
}

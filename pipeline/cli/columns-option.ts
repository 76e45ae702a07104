/** The --columns option, required where no file header can name the columns. */
import { ColumnSpecError, parseColumnSpecs, type ColumnSpec } from '../../core/normalization/column-spec';
import { stringOption, type ParsedArgs } from './args';
import { UsageError } from './command';

export function optionalColumns(args: ParsedArgs): ColumnSpec[] | undefined {
  const text = stringOption(args, 'columns');
  if (text === undefined) return undefined;
  try {
    return parseColumnSpecs(text);
  } catch (err) {
    if (err instanceof ColumnSpecError) throw new UsageError(err.message);
    throw err;
  }
}

export function requiredColumns(args: ParsedArgs): ColumnSpec[] {
  const columns = optionalColumns(args);
  if (columns === undefined) throw new UsageError('--columns is required: the rows on Kafka carry no header');
  return columns;
}

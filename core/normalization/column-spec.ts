/**
 * What each input column is: continuous, mixed (continuous with modal values) or
 * categorical. Parsed from the `--columns` option, e.g.
 * "Amount:continuous,Tip:mixed(0;-9999999),Network:categorical".
 */

/** CTAB-GAN's marker for a missing value in a mixed column; an empty cell reads as it. */
export const MISSING_VALUE = -9999999;

export type ColumnSpec =
  | { readonly name: string; readonly type: 'continuous' }
  | { readonly name: string; readonly type: 'mixed'; readonly modalValues: readonly number[] }
  | { readonly name: string; readonly type: 'categorical' };

export type ColumnType = ColumnSpec['type'];

export class ColumnSpecError extends Error {}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A strict decimal number: no hex, no blanks, no NaN or Infinity. */
export function parseFiniteNumber(text: string): number | null {
  if (!NUMBER.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

function parseOne(entry: string): ColumnSpec {
  const match = /^(.+):(continuous|categorical|mixed)(?:\((.*)\))?$/.exec(entry.trim());
  if (match === null) {
    throw new ColumnSpecError(
      `bad column spec "${entry}": expected NAME:continuous, NAME:categorical or NAME:mixed(v1;v2;...)`,
    );
  }
  const [, name, type, args] = match;
  if (type === 'mixed') {
    if (args === undefined || args.trim() === '') {
      throw new ColumnSpecError(`mixed column "${name}" needs its modal values, e.g. ${name}:mixed(0)`);
    }
    const modalValues = args.split(/[;|]/).map((v) => {
      const value = parseFiniteNumber(v.trim());
      if (value === null) throw new ColumnSpecError(`mixed column "${name}": modal value "${v}" is not a number`);
      return value;
    });
    if (new Set(modalValues).size !== modalValues.length) {
      throw new ColumnSpecError(`mixed column "${name}" lists a modal value twice`);
    }
    return { name, type, modalValues };
  }
  if (args !== undefined) throw new ColumnSpecError(`column "${name}": ${type} takes no arguments`);
  return { name, type: type as 'continuous' | 'categorical' };
}

/**
 * Parses a comma-separated list of column specs. Modal values are separated by ';'
 * (or '|') because ',' already separates columns.
 */
export function parseColumnSpecs(text: string): ColumnSpec[] {
  const specs = text
    .split(',')
    .filter((s) => s.trim() !== '')
    .map(parseOne);
  if (specs.length === 0) throw new ColumnSpecError('--columns names no column');
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) throw new ColumnSpecError(`column "${s.name}" is listed twice`);
    seen.add(s.name);
  }
  return specs;
}

export function isNumeric(spec: ColumnSpec): spec is Exclude<ColumnSpec, { type: 'categorical' }> {
  return spec.type !== 'categorical';
}

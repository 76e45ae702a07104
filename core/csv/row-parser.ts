/**
 * Validates CSV records against the column specs and turns their cells into typed
 * values. Pure: a bad row becomes a rejection with a reason (for the dead-letter
 * output), never an exception.
 */
import { MISSING_VALUE, parseFiniteNumber, type ColumnSpec } from '../normalization/column-spec';
import type { CellValue } from '../normalization/column-summary';

export type ParsedRow =
  | { readonly ok: true; readonly cells: CellValue[] }
  | { readonly ok: false; readonly reason: string; readonly column: string | null };

export class HeaderError extends Error {}

/** Checks a header line: non-empty, unique column names. */
export function checkHeader(header: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of header) {
    if (name.trim() === '') throw new HeaderError('the header has an empty column name');
    if (seen.has(name)) throw new HeaderError(`the header names column "${name}" twice`);
    seen.add(name);
  }
}

/**
 * Resolves the spec of every header column, in header order: the given spec where
 * there is one, otherwise `inferred(name)`. Names a spec that matches no column.
 */
export function specsForHeader(
  header: readonly string[],
  given: readonly ColumnSpec[],
  inferred: (name: string) => ColumnSpec,
): ColumnSpec[] {
  const byName = new Map(given.map((s) => [s.name, s]));
  for (const spec of given) {
    if (!header.includes(spec.name)) {
      throw new HeaderError(`--columns names "${spec.name}", which is not in the header (${header.join(', ')})`);
    }
  }
  return header.map((name) => byName.get(name) ?? inferred(name));
}

export function parseCell(spec: ColumnSpec, text: string): { ok: true; value: CellValue } | { ok: false; reason: string } {
  if (spec.type === 'categorical') return { ok: true, value: text };
  if (spec.type === 'mixed' && text.trim() === '' && spec.modalValues.includes(MISSING_VALUE)) {
    return { ok: true, value: MISSING_VALUE };
  }
  const value = parseFiniteNumber(text.trim());
  if (value === null) {
    const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
    return { ok: false, reason: `column ${spec.name}: "${shown}" is not a finite number` };
  }
  return { ok: true, value };
}

/** Parses the fields of one record; `columns` maps each spec to its field index. */
export function parseRow(specs: readonly ColumnSpec[], columns: readonly number[], fields: readonly string[], width: number): ParsedRow {
  if (fields.length !== width) {
    return { ok: false, reason: `expected ${width} fields, got ${fields.length}`, column: null };
  }
  const cells: CellValue[] = [];
  for (let i = 0; i < specs.length; i++) {
    const cell = parseCell(specs[i], fields[columns[i]]);
    if (!cell.ok) return { ok: false, reason: cell.reason, column: specs[i].name };
    cells.push(cell.value);
  }
  return { ok: true, cells };
}

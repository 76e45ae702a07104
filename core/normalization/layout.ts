/**
 * The encoded layout, in the research code's order: per numeric column its alpha
 * then the one-hot of its mode; per categorical column its one-hot; columns in
 * input order.
 */
import type { ColumnModel, TransformerModel } from './model';

export function columnWidth(column: ColumnModel): number {
  return column.type === 'categorical' ? column.categories.length : 1 + column.modes.length;
}

/** Offset of each column's first encoded position. */
export function columnOffsets(model: TransformerModel): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const column of model.columns) {
    offsets.push(at);
    at += columnWidth(column);
  }
  return offsets;
}

export function encodedWidth(model: TransformerModel): number {
  return model.columns.reduce((n, c) => n + columnWidth(c), 0);
}

/** Header names of the encoded positions, e.g. Amount.alpha, Amount.mode3, Network=visa. */
export function encodedColumnNames(model: TransformerModel): string[] {
  const names: string[] = [];
  for (const column of model.columns) {
    if (column.type === 'categorical') {
      for (const category of column.categories) names.push(`${column.name}=${category}`);
      continue;
    }
    names.push(`${column.name}.alpha`);
    for (const slot of column.modes) {
      names.push(slot.kind === 'modal' ? `${column.name}.modal(${slot.value})` : `${column.name}.mode${slot.component}`);
    }
  }
  return names;
}

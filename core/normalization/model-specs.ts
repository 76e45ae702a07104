/** The column specs a fitted model was fitted with, to parse new rows the same way. */
import type { ColumnSpec } from './column-spec';
import type { TransformerModel } from './model';

export function specsOfModel(model: TransformerModel): ColumnSpec[] {
  return model.columns.map((c): ColumnSpec =>
    c.type === 'mixed' ? { name: c.name, type: 'mixed', modalValues: c.modalValues } : { name: c.name, type: c.type },
  );
}

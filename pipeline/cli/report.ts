/** Human-readable summaries printed by the commands. */
import type { ColumnSummaryInfo, TransformerModel } from '../../core/normalization/model';

/** How a column was summarised for its fit: exact, or binned with its stated error scale. */
function describeSummary(s: ColumnSummaryInfo | undefined): string {
  if (s === undefined) return '';
  if (s.kind === 'exact') return `; exact summary (${s.points} distinct values)`;
  return `; binned summary: ${s.points} bins of ${s.bits} bits, error scale ${s.errorScale.toExponential(1)}`;
}

export function describeModel(model: TransformerModel): string {
  return model.columns
    .map((c) => {
      if (c.type === 'categorical') return `  ${c.name}: categorical, ${c.categories.length} categories\n`;
      const kept = c.modes.filter((m) => m.kind === 'component').length;
      const modal = c.type === 'mixed' ? `, ${c.modalValues.length} modal value(s)` : '';
      const bound = c.mixture.lowerBound === null ? 'n/a' : c.mixture.lowerBound.toFixed(3);
      return `  ${c.name}: ${c.type}, ${kept} kept modes${modal}, lower bound ${bound}, ${c.mixture.nIter} iterations${c.mixture.converged ? '' : ' (not converged)'}${describeSummary(c.summary)}\n`;
    })
    .join('');
}

export function describeClipped(clipped: Record<string, number>): string {
  const entries = Object.entries(clipped);
  if (entries.length === 0) return '';
  return `values outside the fitted range, clipped to it: ${entries.map(([c, n]) => `${c} ${n}`).join(', ')}\n`;
}

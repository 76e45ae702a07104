/**
 * The research-layout vector of an encoded row as the CSV line the file transform writes:
 * every value as formatNumber writes it, none needing quotes. The one-hot parts are texts made
 * once per model ("0,1,0"), so a row costs one number format per numeric column instead of
 * one per position.
 */
import { formatNumber } from '../../core/csv/csv';
import type { EncodedBatch } from '../../core/normalization/batch-encoder';
import { columnWidth } from '../../core/normalization/layout';
import type { TransformerModel } from '../../core/normalization/model';

/** texts[p]: `count` positions, 1 at p, 0 elsewhere, comma-separated. */
function oneHotTexts(count: number): string[] {
  return Array.from({ length: count }, (_, p) => Array.from({ length: count }, (_, k) => (k === p ? '1' : '0')).join(','));
}

export class EncodedLineFormat {
  private readonly oneHot: string[][];

  constructor(readonly model: TransformerModel) {
    this.oneHot = model.columns.map((c) => oneHotTexts(c.type === 'categorical' ? columnWidth(c) : columnWidth(c) - 1));
  }

  /** Row `row` of an encoded batch (not a rejected one) as a CSV line, without terminator. */
  line(encoded: EncodedBatch, row: number): string {
    let line = '';
    for (let c = 0; c < this.oneHot.length; c++) {
      if (c > 0) line += ',';
      const alphas = encoded.alpha[c];
      if (alphas !== null && alphas !== undefined) line += `${formatNumber(alphas[row] as number)},`;
      line += (this.oneHot[c] as string[])[(encoded.position[c] as Int32Array)[row] as number];
    }
    return line;
  }
}

/**
 * One message of a clean encoded file → its decoded CSV lines: each record's fields read as
 * numbers straight from the bytes (parseFiniteNumberBytes) into a block of research-layout vectors, decoded by BatchDecoder, each row written as
 * the row path writes it (decodedLine). A pure function of the message and the model, so the
 * embedded inverse's threads (./line-coders.ts) give the same bytes as its own thread.
 *
 * Clean means what a transform writes: records of exactly the layout's width, every field a
 * finite number in plain syntax (no quotes), every vector decodable. Anything else gives up on
 * the message (null), and the caller decodes the file again on the row path, which reports
 * each bad row as a dead letter, with its line.
 */
import { formatCsvField, EMPTY_ROW } from '../../core/csv/csv';
import { parseFiniteNumberBytes } from '../../core/csv/decimal';
import { parseFiniteNumber } from '../../core/normalization/column-spec';
import { BatchDecoder, type DecodedBatch } from '../../core/normalization/batch-decoder';
import type { TransformerModel } from '../../core/normalization/model';
import { decodedNumberCell } from '../../stages/inverse/inverse-batch';
import type { ColumnCounts, FileMessage, MessageLineCoder, MessageLines } from './file-messages';

const COMMA = 0x2c;
const LF = 0x0a;
const DIGIT_ZERO = 0x30;
const DIGIT_ONE = 0x31;

/** encodedField of bytes[from, to), read from the bytes. */
function fieldValue(bytes: Uint8Array, from: number, to: number): number | null {
  if (to - from === 1) {
    if (bytes[from] === DIGIT_ZERO) return 0;
    if (bytes[from] === DIGIT_ONE) return 1;
  }
  return parseFiniteNumberBytes(bytes, from, to);
}

/** An encoded field as a number, or null; the one-hot zeros and ones skip the number syntax check. */
export function encodedField(f: string): number | null {
  if (f === '0') return 0;
  if (f === '1') return 1;
  return parseFiniteNumber(f.trim());
}

/** Writes decoded rows as the inverse's CSV lines, with the categories' texts made once. */
export class DecodedLineFormat {
  private readonly categoryFields: readonly (readonly string[])[];

  constructor(private readonly model: TransformerModel) {
    this.categoryFields = model.columns.map((c) => (c.type === 'categorical' ? c.categories.map(formatCsvField) : []));
  }

  /** Row `row` of a decoded batch as a CSV line, without terminator. */
  line(decoded: DecodedBatch, row: number): string {
    let line = '';
    for (let c = 0; c < this.model.columns.length; c++) {
      if (c > 0) line += ',';
      const category = decoded.categories[c];
      line += category
        ? (this.categoryFields[c] as readonly string[])[category[row] as number]
        : decodedNumberCell(this.model.columns[c], (decoded.values[c] as Float64Array)[row] as number);
    }
    // A lone empty field would be an empty line, which parsers skip.
    return line === '' ? EMPTY_ROW : line;
  }
}

export class MessageLineDecoder implements MessageLineCoder {
  private readonly decoder: BatchDecoder;
  private readonly format: DecodedLineFormat;

  constructor(model: TransformerModel) {
    this.decoder = new BatchDecoder(model);
    this.format = new DecodedLineFormat(model);
  }

  lines(m: FileMessage): MessageLines | null {
    const width = this.decoder.width;
    const bytes = m.value;
    const n = bytes.length;
    const vectors = new Float64Array(m.records * width);
    // Records joined by '\n', read field by field from the bytes: no string per record or field.
    let pos = 0;
    for (let r = 0; r < m.records; r++) {
      for (let i = 0; i < width; i++) {
        let end = pos;
        while (end < n && bytes[end] !== COMMA && bytes[end] !== LF) end++;
        // The last field of a record ends it; any other ends at a comma.
        if (i === width - 1 ? end < n && bytes[end] !== LF : end >= n || bytes[end] !== COMMA) return null;
        const v = fieldValue(bytes, pos, end);
        if (v === null) return null;
        vectors[r * width + i] = v;
        pos = end + 1;
      }
    }
    // Every byte read: no record more than counted.
    if (pos < n) return null;
    const decoded = this.decoder.decode(vectors, m.records);
    if (decoded.rejections.length > 0) return null;
    let text = '';
    for (let r = 0; r < m.records; r++) text += `${this.format.line(decoded, r)}\n`;
    return { text: Buffer.from(text, 'utf8'), rows: m.records };
  }

  /** Decoded values clipped into the fitted range, per model column. */
  counts(): ColumnCounts {
    return { clipped: [...this.decoder.clipped] };
  }
}

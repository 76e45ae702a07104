/**
 * The encoded rows of one batch, column by column: what the transformed topic's block format
 * and its Arrow files on S3 are written from, and what the Avro records are cut from. The
 * encoder (./batch-encoder) gives every input row a slot, rejected or not; this keeps the
 * encoded ones with their row ids, so every output of a batch comes from the same typed
 * arrays and none of them re-encodes a row.
 */
import type { EncodedBatch } from './batch-encoder';
import type { RowIds } from './row-id';

export interface EncodedRows {
  readonly length: number;
  readonly rowIds: RowIds;
  /** Per model column: each row's alpha for a numeric column, null for a categorical one. */
  readonly alpha: readonly (Float64Array | null)[];
  /** Per model column: each row's one-hot position (its mode's, or its category's). */
  readonly position: readonly Int32Array[];
}

/**
 * The rows of `encoded` the encoder did not reject, with their ids, in row order. Without
 * rejections the arrays are the encoder's own (no copy).
 */
export function keepEncoded(encoded: EncodedBatch, rowIds: RowIds): EncodedRows {
  const n = encoded.length;
  const kept = n - encoded.rejections.length;
  if (kept === n) {
    return {
      length: n,
      rowIds: { partition: rowIds.partition.subarray(0, n), offset: rowIds.offset.subarray(0, n), rowInMessage: rowIds.rowInMessage.subarray(0, n) },
      alpha: encoded.alpha,
      position: encoded.position,
    };
  }
  const rows = new Int32Array(kept);
  for (let i = 0, k = 0; i < n; i++) if ((encoded.rejectedBy[i] as number) < 0) rows[k++] = i;
  const pick64 = (from: Float64Array): Float64Array => {
    const out = new Float64Array(kept);
    for (let k = 0; k < kept; k++) out[k] = from[rows[k] as number] as number;
    return out;
  };
  const pick32 = (from: Int32Array): Int32Array => {
    const out = new Int32Array(kept);
    for (let k = 0; k < kept; k++) out[k] = from[rows[k] as number] as number;
    return out;
  };
  return {
    length: kept,
    rowIds: { partition: pick32(rowIds.partition), offset: pick64(rowIds.offset), rowInMessage: pick32(rowIds.rowInMessage) },
    alpha: encoded.alpha.map((a) => (a === null ? null : pick64(a))),
    position: encoded.position.map(pick32),
  };
}

/**
 * The research-layout vectors of every row, one after the other (`width` values per row),
 * written column by column: per numeric column its alpha then the one-hot of its mode, per
 * categorical column the one-hot of its category; `offsets` from ./layout (columnOffsets).
 */
export function researchLayout(rows: EncodedRows, offsets: readonly number[], width: number): Float64Array {
  const n = rows.length;
  const out = new Float64Array(n * width);
  for (let c = 0; c < offsets.length; c++) {
    const start = offsets[c] as number;
    const alphas = rows.alpha[c];
    const positions = rows.position[c] as Int32Array;
    if (alphas === null || alphas === undefined) {
      for (let i = 0, base = start; i < n; i++, base += width) out[base + (positions[i] as number)] = 1;
    } else {
      for (let i = 0, base = start; i < n; i++, base += width) {
        out[base] = alphas[i] as number;
        out[base + 1 + (positions[i] as number)] = 1;
      }
    }
  }
  return out;
}

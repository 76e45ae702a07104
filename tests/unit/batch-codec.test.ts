/**
 * The batch encoder and decoder against the row-at-a-time API, bit for bit: every alpha,
 * every mode, every vector, every rejection and every clip count, over the whole sample and
 * hand-made edge cases. The row-at-a-time results are also pinned by digests taken with the
 * code as it was before the batch path existed (commit 99f1994), so the batch rewrite did
 * not change a single bit of the encoding.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchDecoder, DecodeError, type DecodedBatch } from '../../core/normalization/batch-decoder';
import { BatchEncoder, EncodeError, type ColumnValues, type EncodedBatch } from '../../core/normalization/batch-encoder';
import type { CellValue } from '../../core/normalization/column-summary';
import { RowDecoder } from '../../core/normalization/decoder';
import { RowEncoder, type EncodedNumeric } from '../../core/normalization/encoder';
import type { TransformerModel } from '../../core/normalization/model';
import { emptyRowIds, type RowIds } from '../../core/normalization/row-id';
import { counterUniform, counterUniformsInto } from '../../core/random/philox';
import { parseModel } from '../../core/normalization/model-validate';
import { BitDigest, caseRowId, edgeCases, fitOn, sampleCases } from '../support/encoding-cases';

const ROWS = [...sampleCases(), ...edgeCases()];
/**
 * fitOn(ROWS.slice(0, 2000)) as fitted at commit 99f1994, when the digests below were taken: the
 * pin is on the encoder and decoder, so it must not move when the fit's last bits do (a later
 * E-step change moved them by 3e-15). Written with serializeModel, which reloads bit-exact.
 */
const MODEL = parseModel(readFileSync(join(__dirname, '..', 'fixtures', 'encoding', 'sample-model.json'), 'utf8'), 'sample-model.json');

/** A constant continuous column next to a categorical one. */
const CONSTANT_ROWS: CellValue[][] = Array.from({ length: 300 }, (_, i) => [5, i % 3 === 0 ? 'a' : 'b']);
const CONSTANT_MODEL = fitOn(CONSTANT_ROWS, [
  { name: 'c', type: 'continuous' },
  { name: 'k', type: 'categorical' },
]);
const CONSTANT_CASES: CellValue[][] = [...CONSTANT_ROWS, [4, 'a'], [6, 'b'], [5, 'zzz']];

interface RowResult {
  readonly vector: Float64Array | null;
  readonly numeric: (EncodedNumeric | null)[] | null;
  readonly error: string | null;
}

function encodeRows(model: TransformerModel, rows: readonly CellValue[][]): { results: RowResult[]; encoder: RowEncoder } {
  const encoder = new RowEncoder(model);
  const results = rows.map((cells, i): RowResult => {
    try {
      const { vector, numeric } = encoder.encode(cells, caseRowId(i));
      return { vector, numeric, error: null };
    } catch (err) {
      if (!(err instanceof EncodeError)) throw err;
      return { vector: null, numeric: null, error: `${err.column}: ${err.message}` };
    }
  });
  return { results, encoder };
}

/** The digest of what RowEncoder produced (vectors, modes, errors) and its counts. */
function encodingDigest(results: readonly RowResult[], encoder: RowEncoder): string {
  const d = new BitDigest();
  for (const r of results) {
    if (r.error !== null) d.text(r.error);
    r.vector?.forEach((x) => d.float(x));
    r.numeric?.forEach((e) => {
      if (e !== null) d.float(e.mode);
    });
  }
  encoder.clipped.forEach((n) => d.float(n));
  encoder.beyondResearchClip.forEach((n) => d.float(n));
  return d.hex();
}

/** The digest of RowDecoder's output for the encoded vectors, perturbed so some decodes clip. */
function decodingDigest(model: TransformerModel, results: readonly RowResult[]): string {
  const decoder = new RowDecoder(model);
  const d = new BitDigest();
  results.forEach((r, i) => {
    if (r.vector === null) return;
    const v = Float64Array.from(r.vector);
    v[0] = (v[0] as number) * (1 + (i % 7)); // stretch alpha: some values leave the range
    for (const cell of decoder.decode(v)) {
      if (typeof cell === 'number') d.float(cell);
      else d.text(cell);
    }
  });
  decoder.clipped.forEach((n) => d.float(n));
  return d.hex();
}

/**
 * Column-wise input of rows[indices] (model column order), numbers or text as the cells hold
 * them; each row keeps the id of its index, so batches of any cut see the same ids.
 */
function batchInput(model: TransformerModel, rows: readonly CellValue[][], indices: readonly number[]): { length: number; columns: ColumnValues[]; rowIds: RowIds } {
  const n = indices.length;
  const rowIds = emptyRowIds(n);
  indices.forEach((row, i) => {
    const id = caseRowId(row);
    rowIds.partition[i] = id.partition;
    rowIds.offset[i] = id.offset;
    rowIds.rowInMessage[i] = id.rowInMessage;
  });
  const columns = model.columns.map((_, c): ColumnValues => {
    const cells = indices.map((row) => (rows[row] as CellValue[])[c]);
    return cells.every((x) => typeof x === 'number') ? Float64Array.from(cells as number[]) : cells.map((x) => String(x));
  });
  return { length: n, columns, rowIds };
}

/** Indices of the rows whose numeric cells are all numbers (a batch column holds one kind). */
function typedRows(model: TransformerModel, rows: readonly CellValue[][]): number[] {
  return rows.flatMap((row, i) => (model.columns.every((c, k) => c.type === 'categorical' || typeof row[k] === 'number') ? [i] : []));
}

function sameBits(a: number, b: number): boolean {
  return Object.is(a, b);
}

/**
 * Checks a batch result against the per-row results of rows `indices`, bit for bit. Plain
 * throws rather than expect() per value: a million expect calls take minutes.
 */
function expectSameAsRows(encoder: BatchEncoder, batch: EncodedBatch, results: readonly RowResult[], indices: readonly number[]): void {
  const vectors = new Float64Array(batch.length * encoder.width);
  const written = encoder.researchLayoutInto(batch, vectors);
  const fail = (i: number, what: string): never => {
    throw new Error(`row ${indices[i]}: ${what}`);
  };
  let next = 0;
  let rejected = 0;
  for (let i = 0; i < batch.length; i++) {
    const want = results[indices[i] as number] as RowResult;
    if (want.error !== null) {
      const r = batch.rejections[rejected++];
      const got = r === undefined ? 'no rejection' : `${r.error.column}: ${r.error.message}`;
      if (r?.row !== i || got !== want.error || (batch.rejectedBy[i] as number) < 0) fail(i, `rejected as ${got}, want ${want.error}`);
      continue;
    }
    if (batch.rejectedBy[i] !== -1) fail(i, `rejected by column ${batch.rejectedBy[i]}`);
    const vector = vectors.subarray(next * encoder.width, (next + 1) * encoder.width);
    next++;
    (want.vector as Float64Array).forEach((x, k) => {
      if (!sameBits(x, vector[k] as number)) fail(i, `position ${k}: ${vector[k]} vs ${x}`);
    });
    (want.numeric as (EncodedNumeric | null)[]).forEach((e, c) => {
      if (e === null) return;
      if (!sameBits(e.alpha, (batch.alpha[c] as Float64Array)[i] as number)) fail(i, `column ${c}: alpha differs`);
      if ((batch.position[c] as Int32Array)[i] !== e.mode) fail(i, `column ${c}: mode differs`);
    });
  }
  expect(rejected).toBe(batch.rejections.length);
  expect(written).toBe(next);
}

describe('row-at-a-time encoding and decoding, pinned to the code before the batch path', () => {
  // Digests printed by this same code at commit 99f1994 (RowEncoder/RowDecoder of that time).
  const PINNED = {
    sampleEncoding: '6b7d0ad3ae5a8aa1215c4bd5d57053b621ef776cf4a4c513abc9e6be7e04a594',
    sampleDecoding: '6fbe7f0c66bead3e5777121fae24f3250ae14f151c109201105def18816556dd',
    constantEncoding: '5929c8b9a1c7e7ab5a45c3b03038e2996be03b83300ef34b84a24af6c04e3129',
    constantDecoding: '16f62bc577134188fa9945002ed72e727e1dd31e57ad54c2e1abf1a5f567844f',
  };

  it('encodes and decodes the sample and edge cases to the same bits', () => {
    const { results, encoder } = encodeRows(MODEL, ROWS);
    const digests = { encoding: encodingDigest(results, encoder), decoding: decodingDigest(MODEL, results) };
    const { results: constant, encoder: constantEncoder } = encodeRows(CONSTANT_MODEL, CONSTANT_CASES);
    const got = {
      sampleEncoding: digests.encoding,
      sampleDecoding: digests.decoding,
      constantEncoding: encodingDigest(constant, constantEncoder),
      constantDecoding: decodingDigest(CONSTANT_MODEL, constant),
    };
    if (process.env.PRINT_DIGESTS) console.log(JSON.stringify(got));
    expect(got).toEqual(PINNED);
  });
});

describe('BatchEncoder', () => {
  const { results, encoder: rowEncoder } = encodeRows(MODEL, ROWS);

  it('counterUniformsInto is counterUniform, draw for draw', () => {
    const n = 1000;
    const streams = Int32Array.from({ length: n }, (_, i) => i % 6);
    const indices = Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? i : 2 ** 40 + i));
    const lanes = Float64Array.from({ length: n }, (_, i) => (i * 4099) % 2 ** 32);
    const out = new Float64Array(n);
    counterUniformsInto(42, streams, indices, lanes, n, out);
    out.forEach((u, i) => expect(sameBits(u, counterUniform(42, streams[i] as number, indices[i] as number, lanes[i] as number))).toBe(true));
    expect(() => counterUniformsInto(42, streams, Float64Array.of(-1), lanes, 1, out)).toThrow(RangeError);
  });

  it('encodes the whole sample in one batch exactly as row by row, with the same counts', () => {
    const encoder = new BatchEncoder(MODEL);
    const typed = typedRows(MODEL, ROWS);
    const batch = encoder.encode(batchInput(MODEL, ROWS, typed));
    expectSameAsRows(encoder, batch, results, typed);
    const typedSet = new Set(typed);
    // The mistyped rows, each alone (a batch column holds numbers or text, not both).
    for (let row = 0; row < ROWS.length; row++) {
      if (typedSet.has(row)) continue;
      expectSameAsRows(encoder, encoder.encode(batchInput(MODEL, ROWS, [row])), results, [row]);
    }
    expect(encoder.clipped).toEqual(rowEncoder.clipped);
    expect(encoder.beyondResearchClip).toEqual(rowEncoder.beyondResearchClip);
    expect(rowEncoder.clipped.some((n) => n > 0)).toBe(true);
    expect(batch.rejections.length).toBe(2); // the unseen network and merchant
  });

  it('rejects every row of a numeric column given as text', () => {
    const encoder = new BatchEncoder(MODEL);
    const input = batchInput(MODEL, ROWS, [0, 1, 2]);
    const batch = encoder.encode({ ...input, columns: [['1', '2', '3'], ...input.columns.slice(1)] });
    expect(batch.rejections.map((r) => [r.row, r.error.column, r.error.message])).toEqual([0, 1, 2].map((i) => [i, 'Amount', `expected a number, got "${i + 1}"`]));
  });

  it('gives the same bits whatever the batch boundaries', () => {
    const encoder = new BatchEncoder(MODEL);
    const typed = typedRows(MODEL, ROWS);
    // Small batches over a prefix and the tail (edge cases), large ones over everything.
    const cuts: Array<[number, number[]]> = [
      [1, [...typed.slice(0, 300), ...typed.slice(-20)]],
      [7, typed.slice(0, 3000)],
      [1023, typed],
      [1025, typed],
    ];
    for (const [size, indices] of cuts) {
      for (let from = 0; from < indices.length; from += size) {
        const part = indices.slice(from, from + size);
        expectSameAsRows(encoder, encoder.encode(batchInput(MODEL, ROWS, part)), results, part);
      }
    }
  });

  it('gives the same bits with a selection cache of any size, or none, over repeated values', () => {
    // Every typed row four times over: the same values under other row ids, so other draws.
    const typed = typedRows(MODEL, ROWS);
    const repeated = typed.flatMap((i) => [0, 1, 2, 3].map(() => ROWS[i] as CellValue[]));
    const { results: want, encoder: rows } = encodeRows(MODEL, repeated);
    const all = repeated.map((_, i) => i);
    // 4 slots: nearly every value evicts another; 2^16: nearly every repeat hits.
    for (const selectionCacheBits of [null, 0, 2, 16]) {
      const encoder = new BatchEncoder(MODEL, { selectionCacheBits });
      for (let from = 0; from < all.length; from += 1000) {
        const part = all.slice(from, from + 1000);
        expectSameAsRows(encoder, encoder.encode(batchInput(MODEL, repeated, part)), want, part);
      }
      expect(encoder.clipped).toEqual(rows.clipped);
      expect(encoder.beyondResearchClip).toEqual(rows.beyondResearchClip);
    }
  });

  it('encodes a constant column like the row encoder', () => {
    const { results: constant, encoder: rows } = encodeRows(CONSTANT_MODEL, CONSTANT_CASES);
    const encoder = new BatchEncoder(CONSTANT_MODEL);
    const all = CONSTANT_CASES.map((_, i) => i);
    const batch = encoder.encode(batchInput(CONSTANT_MODEL, CONSTANT_CASES, all));
    expectSameAsRows(encoder, batch, constant, all);
    expect(encoder.clipped).toEqual(rows.clipped);
    expect(batch.rejections.map((r) => r.row)).toEqual([CONSTANT_CASES.length - 1]);
  });
});

describe('BatchDecoder', () => {
  const { results } = encodeRows(MODEL, ROWS);
  const encoded = results.filter((r) => r.vector !== null);

  function stretched(): Float64Array {
    const decoder = new BatchDecoder(MODEL);
    const flat = new Float64Array(encoded.length * decoder.width);
    encoded.forEach((r, i) => {
      flat.set(r.vector as Float64Array, i * decoder.width);
      flat[i * decoder.width] = (flat[i * decoder.width] as number) * (1 + (i % 7));
    });
    return flat;
  }

  function expectSameCells(decoder: BatchDecoder, decoded: DecodedBatch, rowDecoder: RowDecoder, flat: Float64Array, from: number): void {
    for (let i = 0; i < decoded.length; i++) {
      const want = rowDecoder.decode(flat, (from + i) * decoder.width);
      decoder.cellsAt(decoded, i).forEach((cell, c) => {
        if (!sameBits(cell as number, want[c] as number) && cell !== want[c]) throw new Error(`row ${from + i}, column ${c}: ${String(cell)} vs ${String(want[c])}`);
      });
    }
  }

  it('decodes the sample exactly as row by row, with the same clip counts, in any batch size', () => {
    const flat = stretched();
    const rows = encoded.length;
    for (const size of [rows, 1, 999, 4096]) {
      const decoder = new BatchDecoder(MODEL);
      const rowDecoder = new RowDecoder(MODEL);
      for (let from = 0; from < rows; from += size) {
        const n = Math.min(size, rows - from);
        const decoded = decoder.decode(flat, n, from * decoder.width);
        expect(decoded.rejections).toEqual([]);
        expectSameCells(decoder, decoded, rowDecoder, flat, from);
      }
      expect(decoder.clipped).toEqual(rowDecoder.clipped);
      expect(decoder.clipped.some((n) => n > 0)).toBe(true);
    }
  });

  it('rejects a row holding a non-finite value, as the row decoder throws', () => {
    const decoder = new BatchDecoder(MODEL);
    const flat = stretched().slice(0, 3 * decoder.width);
    flat[decoder.width + 2] = NaN;
    const decoded = decoder.decode(flat, 3);
    expect(decoded.rejections.map((r) => [r.row, r.error.message])).toEqual([[1, 'encoded value 2 is not a finite number']]);
    expect(Array.from(decoded.rejected)).toEqual([0, 1, 0]);
    expect(() => new RowDecoder(MODEL).decode(flat, decoder.width)).toThrow(new DecodeError('encoded value 2 is not a finite number'));
    expect(() => decoder.decode(flat, 4)).toThrow(DecodeError);
  });
});

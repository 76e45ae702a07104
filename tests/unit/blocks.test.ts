/**
 * The block formats, pure: the transformed block (topics/transformed-block.ts) and the decoded
 * block (topics/decoded-block.ts) round-trip their typed columns bit for bit, say what they are
 * in their schema metadata, and refuse bytes that are not theirs with a reason; the Arrow file
 * for S3 holds the same columns; BatchDecoder.decodeModes gives the same bits as decoding the
 * research-layout vectors; the inverse tells blocks, Avro and CSV apart.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Field, Float64, makeData, RecordBatch, RecordBatchStreamWriter, Schema, Struct, tableFromIPC, type Vector } from 'apache-arrow';
import { BatchDecoder } from '../../core/normalization/batch-decoder';
import { BatchEncoder, type ColumnValues } from '../../core/normalization/batch-encoder';
import { MISSING_VALUE } from '../../core/normalization/column-spec';
import type { CellValue } from '../../core/normalization/column-summary';
import { keepEncoded, researchLayout, type EncodedRows } from '../../core/normalization/encoded-rows';
import { columnOffsets } from '../../core/normalization/layout';
import { parseModel } from '../../core/normalization/model-validate';
import { emptyRowIds } from '../../core/normalization/row-id';
import { decodedBlockOf, encodedFormat, inverseBlock, inverseContext } from '../../stages/inverse/inverse-batch';
import { decodedBlockCodec, decodedBlockLayout } from '../../topics/decoded-block';
import { chunkRecords } from '../../topics/kafka';
import {
  ARROW_STREAM_CONTENT_TYPE,
  TRANSFORMED_METADATA_KEY,
  transformedArrowFile,
  transformedBlockCodec,
  transformedBlockLayout,
  type TransformedBlock,
} from '../../topics/transformed-block';
import { caseRowId, edgeCases, sampleCases } from '../support/encoding-cases';

const MODEL = parseModel(readFileSync(join(__dirname, '..', 'fixtures', 'encoding', 'sample-model.json'), 'utf8'), 'sample-model.json');
const ROWS: CellValue[][] = [...sampleCases().slice(0, 3000), ...edgeCases()].filter((r) => typeof r[0] === 'number' && typeof r[1] === 'number');

/** The rows encoded as the transform stage does, with their case row ids (offsets above 2^32). */
function encodedRows(rows: readonly CellValue[][]): EncodedRows {
  const n = rows.length;
  const rowIds = emptyRowIds(n);
  rows.forEach((_, i) => {
    const id = caseRowId(i);
    rowIds.partition[i] = id.partition;
    rowIds.offset[i] = id.offset;
    rowIds.rowInMessage[i] = id.rowInMessage;
  });
  const columns = MODEL.columns.map((c, k): ColumnValues => (c.type === 'categorical' ? rows.map((r) => String(r[k])) : Float64Array.from(rows, (r) => r[k] as number)));
  return keepEncoded(new BatchEncoder(MODEL).encode({ length: n, columns, rowIds }), rowIds);
}

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

const ROWS_ENCODED = encodedRows(ROWS);
const OFFSETS = columnOffsets(MODEL);

function block(vector: boolean): TransformedBlock {
  const layout = transformedBlockLayout(MODEL, { modelName: 'cards', modelVersion: 'fit-7', vector });
  return { layout, rows: ROWS_ENCODED, vectors: vector ? researchLayout(ROWS_ENCODED, OFFSETS, layout.width) : null };
}

describe('transformed blocks', () => {
  it('keep every row of the encoder, some rejected (unseen categories)', () => {
    // The edge cases hold an unseen network; those rows are not in the block.
    expect(ROWS_ENCODED.length).toBeGreaterThan(2900);
    expect(ROWS_ENCODED.length).toBeLessThan(ROWS.length);
  });

  it.each([false, true])('round-trip bit for bit (vector: %s)', (vector) => {
    const b = block(vector);
    const back = transformedBlockCodec.decode(transformedBlockCodec.encode(b));
    expect(back.layout).toEqual(b.layout);
    expect(back.rows.length).toBe(b.rows.length);
    expect(sameBits(back.rows.rowIds.offset, b.rows.rowIds.offset)).toBe(true);
    expect(Array.from(back.rows.rowIds.partition)).toEqual(Array.from(b.rows.rowIds.partition));
    expect(Array.from(back.rows.rowIds.rowInMessage)).toEqual(Array.from(b.rows.rowIds.rowInMessage));
    MODEL.columns.forEach((_, c) => {
      expect(Array.from(back.rows.position[c] as Int32Array)).toEqual(Array.from(b.rows.position[c] as Int32Array));
      const a = b.rows.alpha[c];
      if (a === null) expect(back.rows.alpha[c]).toBeNull();
      else expect(sameBits(back.rows.alpha[c] as Float64Array, a)).toBe(true);
    });
    if (vector) expect(sameBits(back.vectors as Float64Array, b.vectors as Float64Array)).toBe(true);
    else expect(back.vectors).toBeNull();
  });

  it('are an Arrow stream any reader takes: named fields, one-hot indices as a dictionary of the categories, metadata', () => {
    const table = tableFromIPC(transformedBlockCodec.encode(block(true)));
    expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'source_partition:Int32',
      'source_offset:Int64',
      'row_in_message:Int32',
      'Amount_alpha:Float64',
      'Amount_mode:Int32',
      'Tip_alpha:Float64',
      'Tip_mode:Int32',
      'Network_category:Dictionary<Int32, Utf8>',
      'Merchant_category:Dictionary<Int32, Utf8>',
      `vector:FixedSizeList[${block(true).layout.width}]<Float64>`,
    ]);
    const meta = JSON.parse(table.schema.metadata.get(TRANSFORMED_METADATA_KEY) as string) as Record<string, unknown>;
    expect(meta).toMatchObject({ format: 'vgmflow.transformed', version: 1, modelName: 'cards', modelVersion: 'fit-7', vector: true });
    expect((meta.columns as Array<{ offset: number }>).map((c) => c.offset)).toEqual(OFFSETS);
    const network = MODEL.columns[2];
    if (network?.type !== 'categorical') throw new Error('column 2 is categorical');
    const i = 17;
    expect(table.getChild('Network_category')?.get(i)).toBe(network.categories[(ROWS_ENCODED.position[2] as Int32Array)[i] as number]);
    expect(Number(table.getChild('source_offset')?.get(i))).toBe(ROWS_ENCODED.rowIds.offset[i]);
  });

  it('and the S3 file hold the same columns, with model_version and the vector', () => {
    const b = block(false);
    const file = tableFromIPC(transformedArrowFile(b));
    expect(file.numRows).toBe(b.rows.length);
    const vectors = researchLayout(b.rows, OFFSETS, b.layout.width);
    for (const i of [0, 5, b.rows.length - 1]) {
      expect(file.getChild('model_version')?.get(i)).toBe('fit-7');
      expect(sameBits((file.getChild('vector')?.get(i) as Vector).toArray() as Float64Array, vectors.subarray(i * b.layout.width, (i + 1) * b.layout.width))).toBe(true);
      expect(Object.is(file.getChild('Tip_alpha')?.get(i), (b.rows.alpha[1] as Float64Array)[i])).toBe(true);
    }
  });

  it('refuse bytes that are not a transformed block, saying why', () => {
    expect(() => transformedBlockCodec.decode(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2))).toThrow(/invalid transformed block: not an Arrow IPC stream/);
    const fields = [new Field('x', new Float64(), false)];
    const other = new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: 1, nullCount: 0, children: [makeData({ type: new Float64(), length: 1, nullCount: 0, data: Float64Array.of(1) })] }));
    expect(() => transformedBlockCodec.decode(RecordBatchStreamWriter.writeAll([other]).toUint8Array(true))).toThrow(/no "vgmflow.transformed" entry/);
    // The right metadata over the wrong fields.
    const b = block(false);
    const meta = tableFromIPC(transformedBlockCodec.encode(b)).schema.metadata;
    const wrong = [new Field('source_partition', new Float64(), false)];
    const data = makeData({ type: new Struct(wrong), length: 1, nullCount: 0, children: [makeData({ type: new Float64(), length: 1, nullCount: 0, data: Float64Array.of(1) })] });
    expect(() => transformedBlockCodec.decode(RecordBatchStreamWriter.writeAll([new RecordBatch(new Schema(wrong, meta), data)]).toUint8Array(true))).toThrow(/schema has 1 fields, expected 9/);
  });
});

describe('decoding blocks', () => {
  const decoder = new BatchDecoder(MODEL);

  it('from alpha and mode gives the bits of decoding the research-layout vectors, clips and counts alike', () => {
    // Stretched alphas, so that some decoded values leave the fitted range and are clipped.
    const alpha = ROWS_ENCODED.alpha.map((a) => (a === null ? null : Float64Array.from(a, (x, i) => x * (1 + (i % 7)))));
    const rows: EncodedRows = { ...ROWS_ENCODED, alpha };
    const n = rows.length;
    const byModes = new BatchDecoder(MODEL);
    const byVectors = new BatchDecoder(MODEL);
    const a = byModes.decodeModes(rows.alpha, rows.position, n);
    const b = byVectors.decode(researchLayout(rows, OFFSETS, decoder.width), n);
    MODEL.columns.forEach((_, c) => {
      if (b.values[c] !== null) expect(sameBits(a.values[c] as Float64Array, b.values[c] as Float64Array)).toBe(true);
      else expect(Array.from(a.categories[c] as Int32Array)).toEqual(Array.from(b.categories[c] as Int32Array));
    });
    expect(byModes.clipped).toEqual(byVectors.clipped);
    expect(byModes.clipped.some((x) => x > 0)).toBe(true);
    expect(a.rejections).toHaveLength(0);
  });

  it('rejects a mode outside the one-hot and a non-finite alpha, row by row', () => {
    const position = ROWS_ENCODED.position.map((p) => Int32Array.from(p));
    const alpha = ROWS_ENCODED.alpha.map((a) => (a === null ? null : Float64Array.from(a)));
    (position[0] as Int32Array)[3] = 99;
    (position[2] as Int32Array)[4] = -1;
    (alpha[1] as Float64Array)[5] = NaN;
    const d = decoder.decodeModes(alpha, position, ROWS_ENCODED.length);
    expect(d.rejections.map((r) => [r.row, r.error.message])).toEqual([
      [3, expect.stringContaining('column Amount: one-hot position 99 is outside 0…')],
      [4, expect.stringContaining('column Network: one-hot position -1 is outside')],
      [5, 'column Tip: alpha NaN is not a finite number'],
    ]);
    expect(Array.from(d.rejected.subarray(0, 7))).toEqual([0, 0, 0, 1, 1, 1, 0]);
  });

  it('through the inverse: a block of another model becomes one dead letter, a decoded block round-trips with nulls for the missing value', () => {
    const ctx = inverseContext(MODEL, 'fit-7', 'cards');
    const source = { topic: 't', partition: 2, offset: 40, key: null };
    const other = { ...MODEL, columns: MODEL.columns.map((c) => (c.name === 'Network' && c.type === 'categorical' ? { ...c, categories: [...c.categories].reverse() } : c)) };
    const mismatched = inverseBlock(inverseContext(other, 'fit-8'), source, block(false));
    expect(mismatched.deadLetters).toHaveLength(1);
    expect(mismatched.deadLetters[0]?.reason).toContain("column Network: the block's categories are not the model's");

    const result = inverseBlock(ctx, source, block(false));
    expect(result.deadLetters).toHaveLength(0);
    const decoded = decodedBlockOf(ctx, result.decoded, result.rowIds);
    const bytes = decodedBlockCodec.encode(decoded);
    const back = decodedBlockCodec.decode(bytes);
    expect(back.layout).toEqual(decodedBlockLayout(MODEL, { modelName: 'cards', modelVersion: 'fit-7' }));
    expect(sameBits(back.rowIds.offset, decoded.rowIds.offset)).toBe(true);
    MODEL.columns.forEach((_, c) => {
      if (decoded.values[c] !== null) expect(sameBits(back.values[c] as Float64Array, decoded.values[c] as Float64Array)).toBe(true);
      else expect(Array.from(back.categories[c] as Int32Array)).toEqual(Array.from(decoded.categories[c] as Int32Array));
    });
    // The mixed column's missing value is a null in Arrow (and -9999999 again when decoded).
    const tips = tableFromIPC(bytes).getChild('Tip') as Vector;
    const missing = Array.from(decoded.values[1] as Float64Array).flatMap((v, i) => (v === MISSING_VALUE ? [i] : []));
    expect(missing.length).toBeGreaterThan(0);
    expect(tips.nullCount).toBe(missing.length);
    expect(tips.get(missing[0] as number)).toBeNull();
  });
});

describe('a categorical column with 200 000 categories', () => {
  // A dictionary that large overflowed the stack when its strings were spread into push().
  const n = 200_000;
  const names = Array.from({ length: n }, (_, i) => `m${i}`);
  const model = { ...MODEL, columns: MODEL.columns.map((c) => (c.name === 'Merchant' && c.type === 'categorical' ? { ...c, categories: names, counts: names.map(() => 1) } : c)) };
  const sample = ROWS.slice(0, 2000); // sample cases only: the edge cases hold an unseen network
  const rowIds = emptyRowIds(n);
  for (let i = 0; i < n; i++) rowIds.offset[i] = i;
  const columns = model.columns.map((c, k): ColumnValues => {
    if (c.name === 'Merchant') return names;
    if (c.type === 'categorical') return Array.from({ length: n }, (_, i) => String((sample[i % sample.length] as CellValue[])[k]));
    return Float64Array.from({ length: n }, (_, i) => (sample[i % sample.length] as CellValue[])[k] as number);
  });
  const rows = keepEncoded(new BatchEncoder(model).encode({ length: n, columns, rowIds }), rowIds);
  const merchant = model.columns.findIndex((c) => c.name === 'Merchant');

  it('round-trips as a transformed block and as a decoded block', () => {
    expect(rows.length).toBe(n);
    const layout = transformedBlockLayout(model, { modelName: 'cards', modelVersion: 'fit-7', vector: false });
    const back = transformedBlockCodec.decode(transformedBlockCodec.encode({ layout, rows, vectors: null }));
    expect(back.layout.categories[merchant]).toHaveLength(n);
    expect(Array.from(back.rows.position[merchant] as Int32Array)).toEqual(Array.from(rows.position[merchant] as Int32Array));

    const ctx = inverseContext(model, 'fit-7', 'cards');
    const result = inverseBlock(ctx, { topic: 't', partition: 0, offset: 0, key: null }, back);
    expect(result.deadLetters).toHaveLength(0);
    const decoded = decodedBlockCodec.decode(decodedBlockCodec.encode(decodedBlockOf(ctx, result.decoded, result.rowIds)));
    expect(decoded.layout.categories[merchant]).toEqual(names);
    const codes = decoded.categories[merchant] as Int32Array;
    expect(names[codes[0] as number]).toBe('m0');
    expect(names[codes[n - 1] as number]).toBe(`m${n - 1}`);
  });
});

describe('the inverse tells its inputs apart', () => {
  it('by the content-type header, else by the first bytes', () => {
    expect(encodedFormat(transformedBlockCodec.encode(block(false)))).toBe('block');
    expect(encodedFormat(Uint8Array.of(1, 2), { 'content-type': ARROW_STREAM_CONTENT_TYPE })).toBe('block');
    expect(encodedFormat(Uint8Array.of(0, 0, 0, 0, 1))).toBe('avro');
    expect(encodedFormat(Buffer.from('0.5,1,0\n'))).toBe('csv');
    expect(encodedFormat(Uint8Array.of(0xff, 0xff, 0xff))).toBe('csv');
  });
});

describe('produce requests', () => {
  it('hold up to the limit per partition, so blocks of several partitions share a request', () => {
    const r = (partition: number, bytes: number) => ({ topic: 't', partition, key: null, value: new Uint8Array(bytes) });
    const chunks = chunkRecords([r(0, 60), r(1, 60), r(2, 60), r(0, 60), r(1, 30)], 100, 1000);
    expect(chunks.map((c) => c.map((x) => `${x.partition}:${x.value.length}`))).toEqual([['0:60', '1:60', '2:60'], ['0:60', '1:30']]);
    // And up to the request's total.
    expect(chunkRecords([r(0, 60), r(1, 60), r(2, 60)], 100, 150).map((c) => c.length)).toEqual([2, 1]);
  });
});

describe('arrow-columns', () => {
  it('write and read Int64 offsets above 2^32 exactly, through a reader that is not vgmflow', () => {
    const ids = ROWS_ENCODED.rowIds;
    const table = tableFromIPC(transformedBlockCodec.encode(block(false)));
    const offsets = table.getChild('source_offset') as Vector;
    for (const i of [0, 1, 100, ids.offset.length - 1]) expect(offsets.get(i)).toBe(BigInt(ids.offset[i] as number));
  });
});

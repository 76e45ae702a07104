/**
 * Typed arrays ⇄ Arrow column data, without a value per row going through Arrow's builders:
 * the block formats (./transformed-block, ./decoded-block) hand the encoder's and decoder's
 * arrays to Arrow as they are and take Arrow's buffers back as typed arrays.
 */
import {
  DataType,
  Dictionary,
  Float64,
  Int32,
  Int64,
  makeData,
  makeVector,
  Precision,
  tableFromIPC,
  Utf8,
  type Data,
  type Table,
  type Vector,
} from 'apache-arrow';

/**
 * The table of an Arrow IPC stream, or `fail` with why the bytes are not one (a stream with
 * neither fields nor metadata is taken for bytes that only look like one).
 */
export function tableOfIpcStream(bytes: Uint8Array, fail: (reason: string) => never): Table {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (err) {
    return fail(`not an Arrow IPC stream (${(err as Error).message})`);
  }
  if (table.schema.fields.length === 0 && table.schema.metadata.size === 0) fail('not an Arrow IPC stream (no schema)');
  return table;
}

const TWO_32 = 4294967296;
/** Largest high word of an offset below 2^53. */
const MAX_HIGH_WORD = 0x1fffff;

export function int32Data(values: Int32Array): Data<Int32> {
  return makeData({ type: new Int32(), length: values.length, nullCount: 0, data: values });
}

/** Float64 data; with `valid`, rows where it is 0 are null. */
export function float64Data(values: Float64Array, valid?: Uint8Array): Data<Float64> {
  if (valid === undefined) return makeData({ type: new Float64(), length: values.length, nullCount: 0, data: values });
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < values.length; i++) {
    if (valid[i] !== 0) bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7));
    else nulls++;
  }
  return makeData({ type: new Float64(), length: values.length, nullCount: nulls, data: values, nullBitmap: nulls === 0 ? undefined : bitmap });
}

/**
 * Int64 data from non-negative integers below 2^53 held as doubles (Kafka offsets): the 64-bit
 * words are written as two 32-bit halves (Arrow is little-endian, as every platform Node runs
 * on), with no BigInt per value.
 */
export function int64DataFromNumbers(values: Float64Array): Data<Int64> {
  const n = values.length;
  const out = new BigInt64Array(n);
  const words = new Uint32Array(out.buffer, out.byteOffset, n * 2);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    words[2 * i] = v >>> 0;
    words[2 * i + 1] = (v / TWO_32) >>> 0;
  }
  return makeData({ type: new Int64(), length: n, nullCount: 0, data: out });
}

/**
 * The values of an Int64 chunk as doubles, into out[at…]; calls `fail` (which throws) with a
 * value that is negative or not below 2^53.
 */
export function numbersFromInt64(data: Data, out: Float64Array, at: number, fail: (value: bigint) => never): void {
  const values = data.values as BigInt64Array;
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  for (let i = 0; i < data.length; i++) {
    const hi = words[2 * i + 1] as number;
    if (hi > MAX_HIGH_WORD) fail(values[i] as bigint);
    out[at + i] = hi * TWO_32 + (words[2 * i] as number);
  }
}

/** A Utf8 vector of `strings` (a dictionary's values). */
export function utf8Vector(strings: readonly string[]): Vector<Utf8> {
  const encoder = new TextEncoder();
  const encoded = strings.map((s) => encoder.encode(s));
  const offsets = new Int32Array(encoded.length + 1);
  let total = 0;
  encoded.forEach((e, k) => {
    total += e.length;
    offsets[k + 1] = total;
  });
  const bytes = new Uint8Array(total);
  encoded.forEach((e, k) => bytes.set(e, offsets[k] as number));
  return makeVector(makeData({ type: new Utf8(), length: strings.length, nullCount: 0, valueOffsets: offsets, data: bytes }));
}

/** The Dictionary<Int32, Utf8> type of a field; the id is the field's index, so equal blocks encode to equal bytes. */
export function dictionaryType(id: number): Dictionary<Utf8, Int32> {
  return new Dictionary(new Utf8(), new Int32(), id, false);
}

/** Dictionary-encoded text: per row an index into `dictionary`. */
export function dictionaryData(indices: Int32Array, dictionary: Vector<Utf8>, id: number): Data<Dictionary<Utf8, Int32>> {
  return makeData({ type: dictionaryType(id), length: indices.length, nullCount: 0, data: indices, dictionary });
}

/** Utf8 data holding `text` in each of `n` rows (built from its bytes once, not per row). */
export function repeatedUtf8Data(text: string, n: number): Data<Utf8> {
  const one = new TextEncoder().encode(text);
  const bytes = new Uint8Array(one.length * n);
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    bytes.set(one, i * one.length);
    offsets[i + 1] = (i + 1) * one.length;
  }
  return makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets: offsets, data: bytes });
}

/** The strings of a Utf8 chunk (null entries are not expected; the caller checks nullCount). */
export function stringsOfUtf8(data: Data, out: string[] = []): string[] {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  for (let i = 0; i < data.length; i++) out.push(decoder.decode(bytes.subarray(offsets[i] as number, offsets[i + 1] as number)));
  return out;
}

/**
 * The strings of a dictionary-encoded column's dictionary, all chunks in order. Appends each
 * string rather than spreading a chunk into push: a spread passes every string as an argument,
 * and a dictionary of ~10^5 categories overflows the stack.
 */
export function dictionaryStrings(data: Data): string[] {
  const out: string[] = [];
  for (const chunk of data.dictionary?.data ?? []) stringsOfUtf8(chunk, out);
  return out;
}

export function isInt(type: DataType, bitWidth: number): boolean {
  return DataType.isInt(type) && type.isSigned && type.bitWidth === bitWidth;
}

export function isFloat64(type: DataType): boolean {
  return DataType.isFloat(type) && type.precision === Precision.DOUBLE;
}

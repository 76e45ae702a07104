import {
  Dictionary,
  Field,
  Float32,
  Float64,
  Int32,
  Int64,
  LargeUtf8,
  makeData,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  Utf8,
  vectorFromArray,
  type Data,
  type DataType,
} from 'apache-arrow';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import { rowBatchCodec, ROW_BATCH_METADATA_KEY, RowBatchDecodeError } from '../../topics/row-batch-codec';
import { RowBatchBuilder, RowBatchError, rowBatchKey, rowCells, type RowBatch } from '../../topics/row-batch';
import { cutRaw, deadLetterCodec, deadLetterKey, type DeadLetterRecord } from '../../topics/dead-letter';

const COLUMNS: ColumnSpec[] = [
  { name: 'Amount', type: 'continuous' },
  { name: 'Tip', type: 'mixed', modalValues: [0, -9999999] },
  { name: 'Network', type: 'categorical' },
  { name: 'Città ☕', type: 'categorical' },
];

function sample(): RowBatch {
  const b = new RowBatchBuilder(COLUMNS, 'vgm.rows', 3);
  b.add(0, 0, [1.5, 0, 'visa', 'Zürich']);
  b.add(0, 1, [-0, -9999999, '', '']);
  b.add(2 ** 53 - 1, 7, [Number.MAX_VALUE, Number.MIN_VALUE, 'visa', '😀 emoji']);
  b.add(2 ** 53 - 2, 2 ** 31 - 1, [-1e-300, 5e-324, 'amex', 'a,"b"\nc\r\n']);
  b.add(12345, 0, [0.1 + 0.2, 1, '\u0000nul', '\uFEFFbom']);
  return b.build({ from: 0, to: 2 ** 53 });
}

/** Bit-exact comparison of two batches (-0 and NaN bit patterns included). */
function expectSameBatch(a: RowBatch, b: RowBatch): void {
  expect(b.columns).toEqual(a.columns);
  expect(b.sourceTopic).toBe(a.sourceTopic);
  expect(b.sourcePartition).toBe(a.sourcePartition);
  expect(b.coveredFrom).toBe(a.coveredFrom);
  expect(b.coveredTo).toBe(a.coveredTo);
  expect(b.length).toBe(a.length);
  expect(Array.from(b.sourceOffsets)).toEqual(Array.from(a.sourceOffsets));
  expect(Array.from(b.rowInMessage)).toEqual(Array.from(a.rowInMessage));
  for (let c = 0; c < a.columns.length; c++) {
    const x = a.numeric[c];
    const y = b.numeric[c];
    if (x === null) {
      expect(y).toBeNull();
      expect(b.text[c]).toEqual(a.text[c]);
    } else {
      expect(y).toBeInstanceOf(Float64Array);
      expect(b.text[c]).toBeNull();
      expect(new Uint8Array((y as Float64Array).slice().buffer)).toEqual(new Uint8Array(x.slice().buffer));
    }
  }
}

describe('RowBatchBuilder', () => {
  it('builds columns by type and keeps offsets and row indices', () => {
    const b = sample();
    expect(b.length).toBe(5);
    expect(b.numeric[0]).toBeInstanceOf(Float64Array);
    expect(b.numeric[2]).toBeNull();
    expect(b.text[0]).toBeNull();
    expect(b.text[2]).toEqual(['visa', '', 'visa', 'amex', '\u0000nul']);
    expect(Object.is((b.numeric[0] as Float64Array)[1], -0)).toBe(true);
    expect(b.sourceOffsets[2]).toBe(2 ** 53 - 1);
    expect(rowCells(b, 0)).toEqual([1.5, 0, 'visa', 'Zürich']);
  });

  it('grows past its initial capacity and builds independent snapshots', () => {
    const b = new RowBatchBuilder([{ name: 'x', type: 'continuous' }], 't', 0);
    for (let i = 0; i < 1000; i++) b.add(i, 0, [i * 0.5]);
    const first = b.build();
    b.add(1000, 0, [1]);
    expect(first.length).toBe(1000);
    expect((first.numeric[0] as Float64Array)[999]).toBe(499.5);
    expect(b.build().length).toBe(1001);
    expect(b.estimatedBytes).toBe(1001 * 20);
  });

  it('rejects bad input', () => {
    const b = new RowBatchBuilder(COLUMNS, 't', 0);
    expect(() => b.add(0, 0, [1, 2, 'x'])).toThrow(/expected 4 cells, got 3/);
    expect(() => b.add(0, 0, ['1', 2, 'x', 'y'])).toThrow(/Amount takes numbers/);
    expect(() => b.add(0, 0, [1, 2, 3, 'y'])).toThrow(/Network takes strings/);
    expect(() => b.add(-1, 0, [1, 2, 'x', 'y'])).toThrow(/source offset -1/);
    expect(() => b.add(2 ** 53, 0, [1, 2, 'x', 'y'])).toThrow(/source offset 9007199254740992 is not an integer in \[0, 2\^53\)/);
    expect(() => b.add(0.5, 0, [1, 2, 'x', 'y'])).toThrow(/source offset/);
    expect(() => b.add(0, -1, [1, 2, 'x', 'y'])).toThrow(/row index -1/);
    expect(b.length).toBe(0);
    expect(() => new RowBatchBuilder([], 't', 0)).toThrow(RowBatchError);
    expect(() => new RowBatchBuilder([{ name: '_source_offset', type: 'continuous' }], 't', 0)).toThrow(/reserved/);
    expect(() => new RowBatchBuilder([{ name: 'a', type: 'continuous' }, { name: 'a', type: 'categorical' }], 't', 0)).toThrow(/twice/);
    expect(() => new RowBatchBuilder(COLUMNS, 't', -1)).toThrow(/partition/);
  });

  it('covers the rows\' offsets by default, or the given range', () => {
    const b = new RowBatchBuilder([{ name: 'x', type: 'continuous' }], 't', 4);
    expect([b.build().coveredFrom, b.build().coveredTo]).toEqual([0, 0]);
    b.add(17, 0, [1]);
    b.add(19, 0, [1]);
    expect([b.build().coveredFrom, b.build().coveredTo]).toEqual([17, 20]);
    const wide = b.build({ from: 12, to: 25 });
    expect([wide.coveredFrom, wide.coveredTo]).toEqual([12, 25]);
    expect(rowBatchKey(wide)).toBe('4:12');
    expect(() => b.build({ from: 18, to: 25 })).toThrow(/does not hold the rows' source offsets 17…19/);
    expect(() => b.build({ from: 17, to: 19 })).toThrow(/does not hold/);
    expect(() => b.build({ from: 20, to: 19 })).toThrow(/not a range/);
    const empty = new RowBatchBuilder([{ name: 'x', type: 'continuous' }], 't', 4).build({ from: 5, to: 9 });
    expect([empty.coveredFrom, empty.coveredTo, rowBatchKey(empty)]).toEqual([5, 9, '4:5']);
  });
});

describe('rowBatchCodec.encode / rowBatchCodec.decode', () => {
  it('round-trips exactly: -0, subnormals, offsets up to 2^53, unicode, empty strings', () => {
    const b = sample();
    const back = rowBatchCodec.decode(rowBatchCodec.encode(b));
    expectSameBatch(b, back);
    expect(Object.is((back.numeric[0] as Float64Array)[1], -0)).toBe(true);
    expect(back.sourceOffsets[2]).toBe(2 ** 53 - 1);
    expect(back.coveredTo).toBe(2 ** 53);
  });

  it('keeps NaN bit patterns of numeric values (values are copied as raw float64)', () => {
    const b = new RowBatchBuilder([{ name: 'x', type: 'continuous' }], 't', 0);
    b.add(0, 0, [NaN]);
    b.add(1, 0, [Infinity]);
    b.add(2, 0, [-Infinity]);
    const back = rowBatchCodec.decode(rowBatchCodec.encode(b.build()));
    expect(Array.from(back.numeric[0] as Float64Array)).toEqual([NaN, Infinity, -Infinity]);
  });

  it('round-trips an empty batch', () => {
    const b = new RowBatchBuilder(COLUMNS, 'vgm.rows', 0).build({ from: 100, to: 140 });
    const bytes = rowBatchCodec.encode(b);
    const back = rowBatchCodec.decode(bytes);
    expectSameBatch(b, back);
    expect(back.length).toBe(0);
    expect(back.text[2]).toEqual([]);
  });

  it('round-trips a larger random batch', () => {
    let seed = 42;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const words = ['a', 'bb', 'ccc', 'ü', '日本', '🙂🙃', ''];
    const b = new RowBatchBuilder(COLUMNS, 'vgm.rows', 5);
    for (let i = 0; i < 5000; i++) {
      b.add(Math.floor(rand() * 2 ** 53), Math.floor(rand() * 1000), [
        (rand() - 0.5) * 1e6,
        rand() < 0.3 ? 0 : rand(),
        words[Math.floor(rand() * words.length)] as string,
        `v${Math.floor(rand() * 50)}`,
      ]);
    }
    const batch = b.build();
    expectSameBatch(batch, rowBatchCodec.decode(rowBatchCodec.encode(batch)));
  });

  it('is deterministic', () => {
    expect(rowBatchCodec.encode(sample())).toEqual(rowBatchCodec.encode(sample()));
  });

  it('writes a standard Arrow IPC stream with the documented schema', () => {
    const bytes = rowBatchCodec.encode(sample());
    // Stream format: starts with a continuation marker, not the "ARROW1" file magic.
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0xff, 0xff, 0xff, 0xff]);
    const table = tableFromIPC(bytes);
    expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`)).toEqual([
      '_source_offset:Int64:false',
      '_row_in_message:Int32:false',
      'Amount:Float64:false',
      'Tip:Float64:false',
      'Network:Dictionary<Int32, Utf8>:false',
      'Città ☕:Dictionary<Int32, Utf8>:false',
    ]);
    const meta = JSON.parse(table.schema.metadata.get(ROW_BATCH_METADATA_KEY) as string) as unknown;
    expect(meta).toEqual({ version: 1, sourceTopic: 'vgm.rows', sourcePartition: 3, coveredFrom: 0, coveredTo: 2 ** 53, columns: COLUMNS });
    expect(table.numRows).toBe(5);
    expect(table.getChild('Network')?.toArray()).toEqual(['visa', '', 'visa', 'amex', '\u0000nul']);
    expect(table.getChild('_source_offset')?.get(2)).toBe(BigInt(2 ** 53 - 1));
  });

  /** Builds a stream by hand with the given fields and data, for foreign-producer cases. */
  function foreignStream(fields: Field[], children: Data[], metadata: Map<string, string>, batches = 1): Uint8Array {
    const schema = new Schema(fields, metadata);
    const n = children[0]?.length ?? 0;
    const list: RecordBatch[] = [];
    for (let k = 0; k < batches; k++) {
      list.push(new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children })));
    }
    return RecordBatchStreamWriter.writeAll(list).toUint8Array(true);
  }

  const META = new Map([
    [
      ROW_BATCH_METADATA_KEY,
      JSON.stringify({ version: 1, sourceTopic: 'x', sourcePartition: 1, coveredFrom: 0, coveredTo: 10, columns: [{ name: 'v', type: 'continuous' }, { name: 'c', type: 'categorical' }] }),
    ],
  ]);

  function data<T extends DataType>(type: T, values: unknown[]): Data<T> {
    return vectorFromArray(values, type).data[0] as Data<T>;
  }

  it('reads plain Utf8 and LargeUtf8 categorical columns and several record batches', () => {
    for (const stringType of [new Utf8(), new LargeUtf8()]) {
      const fields = [
        new Field('_source_offset', new Int64(), false),
        new Field('_row_in_message', new Int32(), false),
        new Field('v', new Float64(), false),
        new Field('c', stringType, false),
      ];
      const children = [
        data(new Int64(), [5n, 6n]),
        data(new Int32(), [0, 1]),
        data(new Float64(), [1.25, -0]),
        data(stringType, ['ä', '']),
      ];
      const back = rowBatchCodec.decode(foreignStream(fields, children, META, 2));
      expect(back.length).toBe(4);
      expect(back.sourcePartition).toBe(1);
      expect(Array.from(back.sourceOffsets)).toEqual([5, 6, 5, 6]);
      expect(back.text[1]).toEqual(['ä', '', 'ä', '']);
      expect(Object.is((back.numeric[0] as Float64Array)[3], -0)).toBe(true);
    }
  });

  describe('validation', () => {
    const good = (): { fields: Field[]; children: Data[] } => ({
      fields: [
        new Field('_source_offset', new Int64(), false),
        new Field('_row_in_message', new Int32(), false),
        new Field('v', new Float64(), false),
        new Field('c', new Dictionary(new Utf8(), new Int32(), 3), false),
      ],
      children: [data(new Int64(), [1n]), data(new Int32(), [0]), data(new Float64(), [2]), data(new Dictionary(new Utf8(), new Int32(), 3), ['x'])],
    });

    it('accepts the reference stream', () => {
      const { fields, children } = good();
      expect(rowBatchCodec.decode(foreignStream(fields, children, META)).text[1]).toEqual(['x']);
    });

    it('rejects bytes that are not an Arrow stream', () => {
      expect(() => rowBatchCodec.decode(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(RowBatchDecodeError);
      expect(() => rowBatchCodec.decode(new Uint8Array(0))).toThrow(/not an Arrow IPC stream/);
      expect(() => rowBatchCodec.decode(new TextEncoder().encode('a,b,c\n1,2,3\n'))).toThrow(/invalid row batch/);
    });

    it('rejects missing or malformed metadata', () => {
      const { fields, children } = good();
      expect(() => rowBatchCodec.decode(foreignStream(fields, children, new Map()))).toThrow(/no "vgmflow.row_batch" entry/);
      expect(() => rowBatchCodec.decode(foreignStream(fields, children, new Map([['other', '1']])))).toThrow(/\(has: other\)/);
      const bad = (value: string): Uint8Array => foreignStream(fields, children, new Map([[ROW_BATCH_METADATA_KEY, value]]));
      expect(() => rowBatchCodec.decode(bad('{nope'))).toThrow(/is not JSON/);
      expect(() => rowBatchCodec.decode(bad('[1]'))).toThrow(/not a JSON object/);
      const meta = (patch: Record<string, unknown>): string =>
        JSON.stringify({ version: 1, sourceTopic: 'x', sourcePartition: 1, coveredFrom: 0, coveredTo: 10, columns: [{ name: 'v', type: 'continuous' }, { name: 'c', type: 'categorical' }], ...patch });
      expect(() => rowBatchCodec.decode(bad(meta({ version: 2 })))).toThrow(/unsupported format version 2/);
      expect(() => rowBatchCodec.decode(bad(meta({ sourceTopic: 7 })))).toThrow(/sourceTopic is not a string/);
      expect(() => rowBatchCodec.decode(bad(meta({ sourcePartition: -1 })))).toThrow(/sourcePartition -1/);
      expect(() => rowBatchCodec.decode(bad(meta({ columns: 'v' })))).toThrow(/columns is not an array/);
      expect(() => rowBatchCodec.decode(bad(meta({ coveredFrom: undefined })))).toThrow(/metadata coverage \[undefined, 10\)/);
      expect(() => rowBatchCodec.decode(bad(meta({ coveredFrom: 11 })))).toThrow(/metadata coverage \[11, 10\) is not a range/);
      expect(() => rowBatchCodec.decode(bad(meta({ coveredFrom: 2 })))).toThrow(/_source_offset 1 is outside the batch's coverage \[2, 10\)/);
      expect(() => rowBatchCodec.decode(bad(meta({ columns: [{ name: 'v', type: 'weird' }, { name: 'c', type: 'categorical' }] })))).toThrow(
        /unknown type "weird"/,
      );
      expect(() => rowBatchCodec.decode(bad(meta({ columns: [{ name: 'v', type: 'mixed' }, { name: 'c', type: 'categorical' }] })))).toThrow(
        /modalValues/,
      );
      expect(() => rowBatchCodec.decode(bad(meta({ columns: [{ name: 'v', type: 'continuous' }, { name: 'v', type: 'categorical' }] })))).toThrow(
        /listed twice/,
      );
    });

    it('rejects fields that do not match the metadata', () => {
      const { fields, children } = good();
      const swap = (k: number, field: Field, child: Data): Uint8Array => {
        const f = [...fields];
        const c = [...children];
        f[k] = field;
        c[k] = child;
        return foreignStream(f, c, META);
      };
      expect(() => rowBatchCodec.decode(foreignStream(fields.slice(0, 3), children.slice(0, 3), META))).toThrow(/schema has 3 fields, expected 4/);
      expect(() => rowBatchCodec.decode(swap(2, new Field('w', new Float64(), false), children[2] as Data))).toThrow(
        /field 2 is named "w", expected "v"/,
      );
      expect(() => rowBatchCodec.decode(swap(2, new Field('v', new Float32(), false), data(new Float32(), [2])))).toThrow(
        /field "v" has type Float32, expected Float64/,
      );
      expect(() => rowBatchCodec.decode(swap(0, new Field('_source_offset', new Int32(), false), data(new Int32(), [1])))).toThrow(
        /field "_source_offset" has type Int32, expected Int64/,
      );
      expect(() => rowBatchCodec.decode(swap(1, new Field('_row_in_message', new Int64(), false), data(new Int64(), [0n])))).toThrow(
        /field "_row_in_message" has type Int64, expected Int32/,
      );
      expect(() => rowBatchCodec.decode(swap(3, new Field('c', new Float64(), false), data(new Float64(), [1])))).toThrow(
        /field "c" has type Float64, expected Utf8 or Dictionary/,
      );
    });

    it('rejects nulls and out-of-range offsets', () => {
      const { fields, children } = good();
      const withNull = [...children];
      withNull[2] = data(new Float64(), [null]);
      const f = [...fields];
      f[2] = new Field('v', new Float64(), true);
      expect(() => rowBatchCodec.decode(foreignStream(f, withNull, META))).toThrow(/field "v" has 1 null value/);
      const neg = [...children];
      neg[0] = data(new Int64(), [-1n]);
      expect(() => rowBatchCodec.decode(foreignStream(fields, neg, META))).toThrow(/_source_offset -1 is outside the batch's coverage \[0, 10\)/);
      const big = [...children];
      big[0] = data(new Int64(), [2n ** 60n]);
      expect(() => rowBatchCodec.decode(foreignStream(fields, big, META))).toThrow(/_source_offset 1152921504606846976 is outside/);
    });
  });

  it('refuses to encode an inconsistent batch', () => {
    const b = sample();
    expect(() => rowBatchCodec.encode({ ...b, length: 4 })).toThrow(/sourceOffsets has 5 values for 4 rows/);
    expect(() => rowBatchCodec.encode({ ...b, numeric: [null, ...b.numeric.slice(1)] })).toThrow(/numeric column Amount/);
    expect(() => rowBatchCodec.encode({ ...b, sourceOffsets: new Float64Array([0, 1, 2, 3, -5]) })).toThrow(/source offset -5/);
    expect(() => rowBatchCodec.encode({ ...b, coveredFrom: 1 })).toThrow(/coverage \[1, 9007199254740992\) does not hold/);
  });

  it('is readable through Table/tableToIPC as well (file format is not used)', () => {
    const table = tableFromIPC(rowBatchCodec.encode(sample()));
    const file = tableToIPC(new Table(table.batches), 'file');
    // Arrow readers accept the file format too; the codec only needs a schema and batches.
    expectSameBatch(sample(), rowBatchCodec.decode(file));
  });
});

describe('dead letters', () => {
  const d: DeadLetterRecord = { raw: 'a,"b\u00e9', reason: 'unterminated quoted field opened on line 1', topic: 'vgm.rows', partition: 2, offset: 2 ** 53 - 1, line: 3 };

  it('round-trip as JSON with the documented fields', () => {
    const bytes = deadLetterCodec.encode(d);
    expect(JSON.parse(new TextDecoder().decode(bytes))).toEqual(d);
    expect(Object.keys(JSON.parse(new TextDecoder().decode(bytes)) as object)).toEqual(['raw', 'reason', 'topic', 'partition', 'offset', 'line']);
    expect(deadLetterCodec.decode(bytes)).toEqual(d);
    expect(deadLetterKey(d)).toBe(`2:${2 ** 53 - 1}`);
  });

  it('reject malformed values', () => {
    const enc = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x));
    expect(() => deadLetterCodec.decode(new Uint8Array([0xff]))).toThrow(/not UTF-8 JSON/);
    expect(() => deadLetterCodec.decode(enc([1]))).toThrow(/not a JSON object/);
    expect(() => deadLetterCodec.decode(enc({ ...d, raw: 1 }))).toThrow(/"raw" is not a string/);
    expect(() => deadLetterCodec.decode(enc({ ...d, offset: -1 }))).toThrow(/"offset"/);
    expect(() => deadLetterCodec.decode(enc({ ...d, line: 1.5 }))).toThrow(/"line"/);
  });

  it('cutRaw cuts on UTF-8 byte counts without splitting a surrogate pair', () => {
    expect(cutRaw('abc', 3)).toEqual({ raw: 'abc', cutFrom: null });
    expect(cutRaw('abcd', 3)).toEqual({ raw: 'abc', cutFrom: 4 });
    expect(cutRaw('a😀b', 4)).toEqual({ raw: 'a', cutFrom: 6 });
    expect(cutRaw('a😀b', 5)).toEqual({ raw: 'a😀', cutFrom: 6 });
    expect(cutRaw('éé', 3)).toEqual({ raw: 'é', cutFrom: 4 });
  });
});

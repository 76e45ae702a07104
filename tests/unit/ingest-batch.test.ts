import { decodeMessageText, ingestMessages, type IngestBatchOptions, type IngestResult } from '../../stages/ingest/ingest-batch';
import { MISSING_VALUE, type ColumnSpec } from '../../core/normalization/column-spec';
import type { CellValue } from '../../core/normalization/column-summary';
import type { DeadLetterRecord } from '../../topics/dead-letter';
import { rowBatchKey, rowCells, type RowBatch } from '../../topics/row-batch';
import type { InRecord } from '../../topics/transport';
import { mulberry32 } from '../support/random';

const COLUMNS: ColumnSpec[] = [
  { name: 'Amount', type: 'continuous' },
  { name: 'Tip', type: 'mixed', modalValues: [0, MISSING_VALUE] },
  { name: 'Network', type: 'categorical' },
];

const enc = new TextEncoder();

function msg(offset: number, value: string | Uint8Array, partition = 0, topic = 'vgm.rows'): InRecord {
  return { topic, partition, offset, key: null, value: typeof value === 'string' ? enc.encode(value) : value, headers: {} };
}

interface Row {
  readonly partition: number;
  readonly offset: number;
  readonly row: number;
  readonly cells: CellValue[];
}

function rowsOf(batches: readonly RowBatch[]): Row[] {
  const rows: Row[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.length; i++) {
      rows.push({ partition: b.sourcePartition, offset: b.sourceOffsets[i] as number, row: b.rowInMessage[i] as number, cells: rowCells(b, i) });
    }
  }
  return rows;
}

function ingest(records: InRecord[], options?: IngestBatchOptions, columns: ColumnSpec[] = COLUMNS): IngestResult {
  const result = ingestMessages(records, columns, options);
  expect(result.rows).toBe(result.batches.reduce((n, b) => n + b.length, 0));
  return result;
}

/** The single dead letter of a one-bad-row input. */
function onlyDeadLetter(result: IngestResult): DeadLetterRecord {
  expect(result.deadLetters).toHaveLength(1);
  return result.deadLetters[0] as DeadLetterRecord;
}

describe('ingestMessages: good input', () => {
  it('parses several rows per message, LF and CRLF, quoted fields', () => {
    const result = ingest([
      msg(10, '1.5,0,visa\n2,3.25,"master, card"\r\n'),
      msg(11, '-0,,"say ""hi"""\r\n4e2,-9999999,"multi\nline"'),
    ]);
    expect(result.deadLetters).toEqual([]);
    expect(result.batches).toHaveLength(1);
    const b = result.batches[0] as RowBatch;
    expect(b.sourceTopic).toBe('vgm.rows');
    expect(b.sourcePartition).toBe(0);
    expect(b.columns).toBe(COLUMNS);
    expect(rowsOf(result.batches)).toEqual([
      { partition: 0, offset: 10, row: 0, cells: [1.5, 0, 'visa'] },
      { partition: 0, offset: 10, row: 1, cells: [2, 3.25, 'master, card'] },
      { partition: 0, offset: 11, row: 0, cells: [-0, MISSING_VALUE, 'say "hi"'] },
      { partition: 0, offset: 11, row: 1, cells: [400, MISSING_VALUE, 'multi\nline'] },
    ]);
    expect(Object.is(rowCells(b, 2)[0], -0)).toBe(true);
    expect(rowBatchKey(b)).toBe('0:10');
  });

  it('accepts blanks around numbers, a leading BOM, lone CR line ends, blank lines and empty messages', () => {
    const result = ingest([msg(0, '\uFEFF 1 , 2 ,x\r3,4,y\n\n\n'), msg(1, ''), msg(2, '\n\r\n'), msg(3, '5,6,')]);
    expect(result.deadLetters).toEqual([]);
    expect(rowsOf(result.batches).map((r) => r.cells)).toEqual([
      [1, 2, 'x'],
      [3, 4, 'y'],
      [5, 6, ''],
    ]);
  });

  it('keeps unicode categorical values', () => {
    const result = ingest([msg(0, '1,0,Zürich ☕\n2,0,😀\n')]);
    expect(result.batches[0]?.text[2]).toEqual(['Zürich ☕', '😀']);
  });

  it('makes one batch per source partition, in order of first appearance', () => {
    const result = ingest([msg(5, '1,0,a\n', 2), msg(7, '2,0,b\n', 0), msg(6, '3,0,c\n', 2)]);
    expect(result.batches.map((b) => [b.sourcePartition, Array.from(b.sourceOffsets), b.coveredFrom, b.coveredTo])).toEqual([
      [2, [5, 6], 5, 7],
      [0, [7], 7, 8],
    ]);
  });

  it('returns nothing for no messages', () => {
    expect(ingest([])).toEqual({ batches: [], deadLetters: [], rows: 0, headersSkipped: 0 });
  });
});

describe('ingestMessages: header lines', () => {
  it('skips a matching header at the start of each message', () => {
    const result = ingest([msg(0, 'Amount,Tip,Network\n1,0,a\n'), msg(1, ' Amount , Tip ,Network\r\n2,0,b'), msg(2, '3,0,c\n')], { header: true });
    expect(result.deadLetters).toEqual([]);
    expect(result.headersSkipped).toBe(2);
    expect(rowsOf(result.batches).map((r) => [r.offset, r.row, r.cells[2]])).toEqual([
      [0, 0, 'a'],
      [1, 0, 'b'],
      [2, 0, 'c'],
    ]);
  });

  it('dead-letters a header that does not match the columns', () => {
    const result = ingest([msg(4, 'Tip,Amount,Network\n1,0,a\n')], { header: true });
    const d = onlyDeadLetter(result);
    expect(d).toEqual({
      raw: 'Tip,Amount,Network',
      reason: 'header does not match the columns: expected "Amount,Tip,Network", got "Tip,Amount,Network"',
      topic: 'vgm.rows',
      partition: 0,
      offset: 4,
      line: 1,
    });
    expect(result.rows).toBe(1);
    // Also for a header with a column too few.
    expect(onlyDeadLetter(ingest([msg(0, 'Amount,Tip\n')], { header: true })).reason).toMatch(/^header does not match the columns/);
  });

  it('only looks at the first line of a message', () => {
    const result = ingest([msg(0, '1,0,a\nAmount,Tip,Network\n')], { header: true });
    expect(result.rows).toBe(1);
    const d = onlyDeadLetter(result);
    expect(d.line).toBe(2);
    expect(d.reason).toBe('column Amount: "Amount" is not a finite number');
  });

  it('without header: true, a header line is a bad row', () => {
    const d = onlyDeadLetter(ingest([msg(0, 'Amount,Tip,Network\n1,0,a\n')]));
    expect(d.reason).toBe('column Amount: "Amount" is not a finite number');
  });
});

describe('ingestMessages: malformed rows become dead letters', () => {
  const cases: [string, string, string | RegExp, string][] = [
    ['too few fields', '1,2', 'expected 3 fields, got 2', '1,2'],
    ['too many fields', '1,2,a,b', 'expected 3 fields, got 4', '1,2,a,b'],
    ['a non-numeric cell', '1,abc,a', 'column Tip: "abc" is not a finite number', '1,abc,a'],
    ['NaN', 'NaN,0,a', 'column Amount: "NaN" is not a finite number', 'NaN,0,a'],
    ['Infinity', 'Infinity,0,a', 'column Amount: "Infinity" is not a finite number', 'Infinity,0,a'],
    ['-Infinity', '1,-Infinity,a', 'column Tip: "-Infinity" is not a finite number', '1,-Infinity,a'],
    ['an overflowing number', '1e999,0,a', 'column Amount: "1e999" is not a finite number', '1e999,0,a'],
    ['a hex number', '0x10,0,a', 'column Amount: "0x10" is not a finite number', '0x10,0,a'],
    ['an empty continuous cell', ',0,a', 'column Amount: "" is not a finite number', ',0,a'],
    ['a stray quote', '1,0,a"b', 'stray quote in unquoted field 3', '1,0,a"b'],
    ['text after a closing quote', '1,0,"a"b', 'unexpected character after closing quote in field 3', '1,0,"a"b'],
  ];
  it.each(cases)('%s', (_name, line, reason, raw) => {
    const result = ingest([msg(41, `1,0,ok\n${line}\r\n2,0,ok`, 3)]);
    // A rejected cell names its column; a rejected record as a whole does not.
    const column = typeof reason === 'string' ? /^column (\w+): /.exec(reason)?.[1] : undefined;
    expect(onlyDeadLetter(result)).toEqual({ raw, reason, topic: 'vgm.rows', partition: 3, offset: 41, line: 2, ...(column === undefined ? {} : { column }) });
    expect(rowsOf(result.batches).map((r) => [r.row, r.cells])).toEqual([
      [0, [1, 0, 'ok']],
      [2, [2, 0, 'ok']],
    ]);
  });

  it('an unterminated quote rejects only its own line; the lines after it are parsed again', () => {
    const result = ingest([msg(9, '1,0,ok\n2,0,"open\n3,0,after\n4,0,after')]);
    expect(onlyDeadLetter(result)).toEqual({
      raw: '2,0,"open',
      reason: 'unterminated quoted field opened on line 2',
      topic: 'vgm.rows',
      partition: 0,
      offset: 9,
      line: 2,
    });
    expect(rowsOf(result.batches).map((r) => r.cells)).toEqual([
      [1, 0, 'ok'],
      [3, 0, 'after'],
      [4, 0, 'after'],
    ]);
    // The quote does not leak into the next message.
    const two = ingest([msg(0, '1,0,"open'), msg(1, '2,0,b\n')]);
    expect(onlyDeadLetter(two).offset).toBe(0);
    expect(rowsOf(two.batches).map((r) => [r.offset, r.cells])).toEqual([[1, [2, 0, 'b']]]);
  });

  it('a record over maxRecordBytes (1 MiB by default) is rejected, and its raw text is cut in the dead letter', () => {
    const long = `1,0,${'x'.repeat(1024 * 1024 + 10)}`;
    const result = ingest([msg(3, `1,0,a\n${long}\n2,0,b\n`)]);
    const d = onlyDeadLetter(result);
    expect(d.line).toBe(2);
    expect(d.offset).toBe(3);
    expect(d.reason).toBe(`record exceeds maxRecordBytes (1048576) (raw text cut to 65536 of 1048576 bytes)`);
    expect(d.raw).toBe(long.slice(0, 65536));
    expect(rowsOf(result.batches).map((r) => r.cells[2])).toEqual(['a', 'b']);
  });

  it('a long unterminated quoted field says so', () => {
    const result = ingest([msg(0, `1,0,"${'y'.repeat(200)}\n2,0,b\n`)], { maxRecordBytes: 100 });
    const d = onlyDeadLetter(result);
    expect(d.reason).toBe('record exceeds maxRecordBytes (100) inside a quoted field opened on line 1 (unterminated quote?)');
  });

  it('invalid UTF-8 rejects the lines it is on, with the byte position, and keeps the others', () => {
    const bytes = new Uint8Array([...enc.encode('1,0,ok\r\n1,0,a'), 0xff, ...enc.encode('b\n2,0,'), 0xc3, 0x28, ...enc.encode('\n3,0,é\n')]);
    const result = ingest([msg(8, bytes, 1)]);
    expect(result.deadLetters).toEqual([
      { raw: '1,0,a\uFFFDb', reason: 'invalid UTF-8 on line 2 at byte 6 of the line (0xff)', topic: 'vgm.rows', partition: 1, offset: 8, line: 2 },
      { raw: '2,0,\uFFFD(', reason: 'invalid UTF-8 on line 3 at byte 5 of the line (0xc3)', topic: 'vgm.rows', partition: 1, offset: 8, line: 3 },
    ]);
    expect(rowsOf(result.batches).map((r) => [r.row, r.cells])).toEqual([
      [0, [1, 0, 'ok']],
      [3, [3, 0, 'é']],
    ]);
  });

  it('invalid UTF-8 inside a multi-line quoted field rejects the whole record', () => {
    const bytes = new Uint8Array([...enc.encode('1,0,"first\nsec'), 0xed, 0xa0, 0x80, ...enc.encode('ond"\n2,0,z')]);
    const result = ingest([msg(0, bytes)]);
    const d = onlyDeadLetter(result);
    expect(d.line).toBe(1);
    expect(d.reason).toBe('invalid UTF-8 on line 2 at byte 4 of the line (0xed)');
    expect(rowsOf(result.batches).map((r) => r.cells)).toEqual([[2, 0, 'z']]);
  });

  it('a truncated multibyte sequence at the end of a message is invalid too', () => {
    const result = ingest([msg(0, new Uint8Array([...enc.encode('1,0,a\n2,0,'), 0xe2, 0x82]))]);
    expect(onlyDeadLetter(result).reason).toBe('invalid UTF-8 on line 2 at byte 5 of the line (0xe2)');
  });

  it('a header line with invalid UTF-8 is dead-lettered, not skipped', () => {
    const bytes = new Uint8Array([...enc.encode('Amount,Tip,Netw'), 0xff, ...enc.encode('ork\n1,0,a\n')]);
    const result = ingest([msg(0, bytes)], { header: true });
    expect(onlyDeadLetter(result).reason).toMatch(/^invalid UTF-8 on line 1/);
    expect(result.rows).toBe(1);
  });

  it('a row too large for any batch is rejected instead of producing an oversized message', () => {
    const result = ingest([msg(0, `1,0,${'x'.repeat(300)}\n2,0,b\n`)], { maxBatchBytes: 200 });
    expect(onlyDeadLetter(result).reason).toBe('row needs about 332 bytes in a batch, more than maxBatchBytes (200)');
    expect(result.rows).toBe(1);
  });
});

describe('ingestMessages: batching and coverage', () => {
  const lines = (from: number, n: number): string => Array.from({ length: n }, (_, i) => `${from + i},0,c`).join('\n');
  const coverage = (r: IngestResult): [number, number, number][] => r.batches.map((b) => [b.coveredFrom, b.coveredTo, b.length]);

  it('splits at maxBatchRows between messages, never inside one', () => {
    const result = ingest([msg(0, lines(0, 2)), msg(1, lines(2, 2)), msg(2, lines(4, 4)), msg(3, lines(8, 1))], { maxBatchRows: 3 });
    // A message with more rows than the limit still makes one batch.
    expect(coverage(result)).toEqual([
      [0, 1, 2],
      [1, 2, 2],
      [2, 3, 4],
      [3, 4, 1],
    ]);
    expect(rowsOf(result.batches).map((r) => r.cells[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(result.batches.map(rowBatchKey)).toEqual(['0:0', '0:1', '0:2', '0:3']);
  });

  it('splits at maxBatchBytes', () => {
    // Each row: 12 + 8 + 8 + 4 + 1 = 33 bytes.
    const result = ingest([msg(0, '1,0,a\n2,0,b\n'), msg(1, '3,0,c\n'), msg(2, '4,0,d\n')], { maxBatchBytes: 100 });
    expect(coverage(result)).toEqual([
      [0, 2, 3],
      [2, 3, 1],
    ]);
  });

  it('covers from the start position to one past the last message, rejected rows and all', () => {
    const result = ingest([msg(12, 'x,0,a\n'), msg(14, ''), msg(15, '1,0,a\n'), msg(16, 'bad\n')], { startOffsets: new Map([[0, 10]]) });
    expect(coverage(result)).toEqual([[10, 17, 1]]);
    expect(rowBatchKey(result.batches[0] as RowBatch)).toBe('0:10');
    // Without a start position: from the first message.
    expect(coverage(ingest([msg(12, '1,0,a\n')]))).toEqual([[12, 13, 1]]);
    // A start position past the first message cannot hide it.
    expect(coverage(ingest([msg(12, '1,0,a\n')], { startOffsets: new Map([[0, 20]]) }))).toEqual([[12, 13, 1]]);
  });

  it('sends an empty batch when every row is rejected, so coverage has no gap', () => {
    const result = ingest([msg(3, 'bad\n'), msg(4, 'Amount,Tip,Network\n')], { header: true });
    expect(coverage(result)).toEqual([[3, 5, 0]]);
    expect(result.deadLetters).toHaveLength(1);
  });

  it('keeps coverage per partition contiguous across splits and partitions', () => {
    const result = ingest(
      [msg(0, lines(0, 2), 0), msg(5, lines(0, 2), 1), msg(1, 'bad', 0), msg(2, lines(0, 3), 0), msg(6, lines(0, 1), 1)],
      { maxBatchRows: 2, startOffsets: new Map([[1, 4]]) },
    );
    expect(result.batches.map((b) => [b.sourcePartition, b.coveredFrom, b.coveredTo, b.length])).toEqual([
      [0, 0, 2, 2],
      [0, 2, 3, 3],
      [1, 4, 6, 2],
      [1, 6, 7, 1],
    ]);
  });

  it('refuses records out of offset order', () => {
    expect(() => ingestMessages([msg(5, '1,0,a'), msg(5, '1,0,a')], COLUMNS)).toThrow(/offset 5 comes after offset 5/);
  });

  it('rejects bad options', () => {
    expect(() => ingestMessages([], COLUMNS, { maxBatchRows: 0 })).toThrow(/maxBatchRows/);
    expect(() => ingestMessages([], COLUMNS, { maxRecordBytes: 1.5 })).toThrow(/maxRecordBytes/);
  });
});

describe('ingestMessages: every input row ends up exactly once in a batch or the DLQ', () => {
  it('holds for random mixes of good and bad rows', () => {
    const rand = mulberry32(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const good = ['1,0,a', '2.5,-9999999,"b,c"', '-0,,"multi\nline"', ' 3 ,4,x', '5,6,"q""q"'];
    const bad = ['1,2', 'x,0,a', 'NaN,0,a', 'Infinity,1,b', '1,0,a"b', '1,0,"a"b', '1,2,3,4', ',,'];
    for (let trial = 0; trial < 20; trial++) {
      const records: InRecord[] = [];
      let expectedGood = 0;
      let expectedBad = 0;
      const expectedBadAt: string[] = [];
      for (let m = 0; m < 10; m++) {
        const lines: string[] = [];
        const n = 1 + Math.floor(rand() * 6);
        for (let i = 0; i < n; i++) {
          if (rand() < 0.7) {
            lines.push(pick(good));
            expectedGood++;
          } else {
            lines.push(pick(bad));
            expectedBad++;
            // Line of this record: earlier records may span two lines.
            const line = 1 + lines.slice(0, -1).reduce((k, l) => k + 1 + (l.includes('\n') ? 1 : 0), 0);
            expectedBadAt.push(`${m}:${line}`);
          }
        }
        const eol = pick(['\n', '\r\n', '\r']);
        records.push(msg(m, lines.join(eol) + (rand() < 0.5 ? eol : ''), trial % 3));
      }
      const result = ingest(records, { maxBatchRows: 1 + Math.floor(rand() * 8) });
      expect(result.rows).toBe(expectedGood);
      expect(result.deadLetters).toHaveLength(expectedBad);
      expect(result.deadLetters.map((d) => `${d.offset}:${d.line}`)).toEqual(expectedBadAt);
      // Row ids (offset, row in message) are unique.
      const ids = rowsOf(result.batches).map((r) => `${r.offset}:${r.row}`);
      expect(new Set(ids).size).toBe(ids.length);
      // The batches cover every message once, contiguously.
      let covered = 0;
      for (const batch of result.batches) {
        expect(batch.coveredFrom).toBe(covered);
        expect(batch.coveredTo).toBeGreaterThan(covered);
        covered = batch.coveredTo;
      }
      expect(covered).toBe(records.length);
    }
  });
});

describe('decodeMessageText', () => {
  it('decodes valid UTF-8 in one piece, keeping a BOM for the parser', () => {
    expect(decodeMessageText(enc.encode('\uFEFFa\r\nb'))).toEqual({ text: '\uFEFFa\r\nb', badLines: new Map() });
  });

  it('names each invalid line, counting LF, CRLF and lone CR as the parser does', () => {
    const bytes = new Uint8Array([0x61, 0x0d, 0x0a, 0x80, 0x0d, 0x62, 0x0a, 0xc0, 0xaf]);
    const { text, badLines } = decodeMessageText(bytes);
    expect(text).toBe('a\r\n\uFFFD\rb\n\uFFFD\uFFFD');
    expect([...badLines]).toEqual([
      [2, 'invalid UTF-8 on line 2 at byte 1 of the line (0x80)'],
      [4, 'invalid UTF-8 on line 4 at byte 1 of the line (0xc0)'],
    ]);
  });
});

/**
 * Ingest reads plain lines straight from the bytes into typed columns and hands everything else
 * to CsvParser. Whichever path reads a line, the rows, row ids, cells and dead letters must be
 * what parsing the whole message with CsvParser gives (the reference below: decode the message,
 * parse every record, check each against the columns), on random messages mixing plain lines,
 * quotes, CRLF and lone CRs, blank lines, a BOM, invalid UTF-8, bad numbers and wrong widths.
 * And the byte-level number reader must agree with parseFiniteNumber whenever it answers.
 */
import { CsvParser, countLineBreaks, type CsvRecord } from '../../core/csv/csv';
import { parseDecimalBytes } from '../../core/csv/decimal';
import { CategoryDictionary } from '../../core/csv/category-dictionary';
import { parseRow } from '../../core/csv/row-parser';
import { MISSING_VALUE, parseFiniteNumber, type ColumnSpec } from '../../core/normalization/column-spec';
import type { CellValue } from '../../core/normalization/column-summary';
import { decodeMessageText, ingestMessages, type IngestBatchOptions } from '../../stages/ingest/ingest-batch';
import { cutRaw } from '../../topics/dead-letter';
import { rowCells } from '../../topics/row-batch';
import { rowBatchCodec } from '../../topics/row-batch-codec';
import type { InRecord } from '../../topics/transport';
import { mulberry32 } from '../support/random';

const COLUMNS: ColumnSpec[] = [
  { name: 'Amount', type: 'continuous' },
  { name: 'Tip', type: 'mixed', modalValues: [0, MISSING_VALUE] },
  { name: 'Network', type: 'categorical' },
];

interface Outcome {
  rows: string[];
  letters: string[];
}

/** What parsing each whole message with CsvParser gives (the way ingest read messages before typed columns). */
function reference(records: readonly InRecord[], options: IngestBatchOptions): Outcome {
  const rows: string[] = [];
  const letters: string[] = [];
  const names = COLUMNS.map((c) => c.name);
  const maxBatchBytes = options.maxBatchBytes ?? 768 * 1024;
  for (const m of records) {
    const { text, badLines } = decodeMessageText(m.value);
    const parser = new CsvParser({ maxRecordBytes: options.maxRecordBytes });
    const parsed = [...parser.push(text), ...parser.end()];
    let row = 0;
    const letter = (r: CsvRecord, reason: string, column: string | null): void => {
      const cut = cutRaw(r.raw, 65536);
      letters.push(JSON.stringify([m.offset, r.line, cut.raw, reason, column]));
    };
    parsed.forEach((r, k) => {
      let bad: string | null = null;
      for (let line = r.line; line <= r.line + countLineBreaks(r.raw) && bad === null; line++) bad = badLines.get(line) ?? null;
      if (options.header && k === 0 && bad === null && r.kind === 'record') {
        if (r.fields.length === names.length && r.fields.every((f, i) => f.trim() === names[i])) return;
        if (r.fields.some((f) => names.includes(f.trim()))) {
          letter(r, `header does not match the columns: expected ${JSON.stringify(names.join(','))}, got ${JSON.stringify(r.fields.join(','))}`, null);
          return;
        }
      }
      const at = row++;
      if (bad !== null) return letter(r, bad, null);
      if (r.kind === 'error') return letter(r, r.reason, null);
      const p = parseRow(COLUMNS, [0, 1, 2], r.fields, 3);
      if (!p.ok) return letter(r, p.reason, p.column);
      const bytes = 12 + 16 + 4 + Buffer.byteLength(p.cells[2] as string);
      if (bytes > maxBatchBytes) return letter(r, `row needs about ${bytes} bytes in a batch, more than maxBatchBytes (${maxBatchBytes})`, null);
      rows.push(JSON.stringify([m.offset, at, cellsText(p.cells)]));
    });
  }
  return { rows, letters };
}

/** Cells as text that keeps -0 apart from 0. */
function cellsText(cells: readonly CellValue[]): string {
  return cells.map((c) => (Object.is(c, -0) ? '-0' : String(c))).join('|');
}

function actual(records: readonly InRecord[], options: IngestBatchOptions): Outcome {
  const result = ingestMessages(records, COLUMNS, options);
  const rows: string[] = [];
  for (const b0 of result.batches) {
    // Through the codec too: the batch's dictionary codes must encode like its strings.
    const b = rowBatchCodec.decode(rowBatchCodec.encode(b0));
    expect(b.text).toEqual(b0.text);
    for (let i = 0; i < b.length; i++) rows.push(JSON.stringify([b.sourceOffsets[i], b.rowInMessage[i], cellsText(rowCells(b, i))]));
  }
  const letters = result.deadLetters.map((d) => JSON.stringify([d.offset, d.line, d.raw, d.reason.replace(/ \(raw text cut to .*\)$/, ''), d.column ?? null]));
  return { rows, letters };
}

describe('ingest: the typed fast path equals whole-message parsing', () => {
  const pieces: (string | number[])[] = [
    '1.5,0,visa', '2,3.25,amex', '-0,,visa', '1e3,0,mc', '0.000001,-9999999,visa', ' 7 , 8 ,x', '12345678901234567,0,a',
    '4,0,"quoted, comma"', '5,0,"multi\nline"', '6,0,"q""q"', '7,0,a"b', '8,0,"a"b', '9,0,"open',
    'x,0,visa', '1,2', '1,2,3,4', 'NaN,0,a', '0x10,0,a', '1e999,0,a', '', ',,', 'Amount,Tip,Network',
    '3,0,Zürich ☕', '\uFEFF5,0,bom', [0x31, 0x2c, 0x30, 0x2c, 0xff, 0x61], [0x32, 0x2c, 0x30, 0x2c, 0xc3, 0x28],
    `1,0,${'x'.repeat(120)}`,
  ];
  const eols = ['\n', '\r\n', '\r'];
  it.each([[{}], [{ header: true }], [{ maxRecordBytes: 100 }], [{ maxBatchBytes: 60 }]])('on random messages (%j)', (options: IngestBatchOptions) => {
    const rand = mulberry32(3);
    for (let trial = 0; trial < 100; trial++) {
      const records: InRecord[] = [];
      for (let m = 0; m < 6; m++) {
        const parts: Buffer[] = [];
        if (rand() < 0.15) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
        const n = Math.floor(rand() * 8);
        for (let k = 0; k < n; k++) {
          const p = pieces[Math.floor(rand() * pieces.length)] as string | number[];
          parts.push(typeof p === 'string' ? Buffer.from(p) : Buffer.from(p));
          if (k < n - 1 || rand() < 0.5) parts.push(Buffer.from(eols[rand() < 0.8 ? 0 : rand() < 0.5 ? 1 : 2] as string));
        }
        records.push({ topic: 't', partition: 0, offset: m, key: null, value: new Uint8Array(Buffer.concat(parts)), headers: {} });
      }
      expect({ trial, ...actual(records, options) }).toEqual({ trial, ...reference(records, options) });
    }
  });
});

describe('parseDecimalBytes', () => {
  it('agrees with parseFiniteNumber whenever it answers, and answers for plain decimals', () => {
    const rand = mulberry32(5);
    const alphabet = '0123456789012345678901234567890123456789..eE+-';
    let answered = 0;
    const differ: string[] = [];
    const show = (x: number | null): string => (x !== null && Object.is(x, -0) ? '-0' : String(x));
    for (let trial = 0; trial < 100_000; trial++) {
      let s = '';
      const length = 1 + Math.floor(rand() * 14);
      for (let k = 0; k < length; k++) s += alphabet[Math.floor(rand() * alphabet.length)];
      const got = parseDecimalBytes(Buffer.from(s), 0, s.length);
      if (Number.isNaN(got)) continue;
      answered++;
      if (show(got) !== show(parseFiniteNumber(s))) differ.push(s);
    }
    expect(differ).toEqual([]);
    expect(answered).toBeGreaterThan(10_000);
    for (const s of ['0', '-0', '-0.0', '+.5', '5.', '28.00', '4.99', '1234567.89', '1e-7', '123456789012345', '0.1', '9007199254740991e-5']) {
      const got = parseDecimalBytes(Buffer.from(s), 0, s.length);
      expect(Object.is(got, parseFiniteNumber(s))).toBe(true);
    }
    // Past 19 significant digits, or a scale past 10^±22 with more than 15: the general path.
    for (const s of ['12345678901234567890', '1.2345678901234567e-300', '1234567890123456e30']) expect(parseDecimalBytes(Buffer.from(s), 0, s.length)).toBeNaN();
  });

  it('full-precision floats (16 to 19 digits) read exactly as Number does, or are left to it', () => {
    const rand = mulberry32(17);
    const differ: string[] = [];
    let left = 0;
    let total = 0;
    // inScale: a float's text whose digits' integer is scaled by 10^±22 at most; then only values
    // within 2^-97 of a midpoint are left to Number.
    const check = (s: string, inScale: boolean): void => {
      const got = parseDecimalBytes(Buffer.from(s), 0, s.length);
      if (inScale) total++;
      if (Number.isNaN(got)) left += inScale ? 1 : 0;
      else if (!Object.is(got, Number(s))) differ.push(s);
    };
    for (let k = 0; k < 200_000; k++) {
      // Shortest round-trip text of doubles over many magnitudes, as a float column holds them.
      const x = (rand() - 0.3) * 10 ** Math.floor(rand() * 40 - 20);
      const typical = Math.abs(x) >= 1e-3 && Math.abs(x) < 1e15;
      check(String(x), typical);
      check(x.toPrecision(16 + Math.floor(rand() * 4)), typical);
      // Random digits with the point anywhere and an exponent (many exact ties among them:
      // integers past 2^53 with few low bits; so only checked for exactness).
      let digits = String(1 + Math.floor(rand() * 9));
      const n = 15 + Math.floor(rand() * 5);
      for (let d = 1; d < n; d++) digits += String(Math.floor(rand() * 10));
      const point = Math.floor(rand() * (n + 1));
      const exponent = Math.floor(rand() * 16) - 8;
      check(`${digits.slice(0, point)}.${digits.slice(point)}e${exponent}`, false);
    }
    expect(differ).toEqual([]);
    expect(total).toBeGreaterThan(100_000);
    expect(left).toBeLessThan(total / 10_000);
    // Exact ties (2^53 + 1 sits halfway between two doubles) and their neighbours.
    for (const s of ['9007199254740993', '9007199254740993.0', '900719925474099.3e1', '9007199254740995', '9007199254740993.0000001', '9007199254740992.9999999', '18014398509481990', '4503599627370497.5']) {
      const got = parseDecimalBytes(Buffer.from(s), 0, s.length);
      if (!Number.isNaN(got)) expect([s, got]).toEqual([s, Number(s)]);
    }
    expect(parseDecimalBytes(Buffer.from('9007199254740993'), 0, 16)).toBeNaN();
  });

  it('random prices with cents read exactly as Number does', () => {
    const rand = mulberry32(9);
    const differ: string[] = [];
    for (let k = 0; k < 100_000; k++) {
      const s = (rand() * 10 ** Math.floor(rand() * 9)).toFixed(Math.floor(rand() * 6));
      if (parseDecimalBytes(Buffer.from(s), 0, s.length) !== Number(s)) differ.push(s);
    }
    expect(differ).toEqual([]);
  });
});

describe('CategoryDictionary', () => {
  it('gives one id per distinct value, from bytes or from text', () => {
    const d = new CategoryDictionary();
    const words = Array.from({ length: 5000 }, (_, i) => `w${i % 1700}é`);
    const ids = words.map((w, i) => (i % 3 === 0 ? d.idOf(w) : d.idOfBytes(Buffer.from(`..${w}..`), 2, 2 + Buffer.byteLength(w))));
    expect(d.values).toHaveLength(1700);
    words.forEach((w, i) => expect(d.values[ids[i] as number]).toBe(w));
  });
});

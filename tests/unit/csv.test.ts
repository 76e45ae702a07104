import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CsvParser, formatCsvRow, formatNumber, parseCsvText, type CsvParserOptions, type CsvRecord } from '../../core/csv/csv';
import { firstInvalidUtf8 } from '../../core/csv/utf8';
import { CsvFileWriter, readCsvRecords, type CsvReadOptions } from '../../topics/files/csv-file';
import { mulberry32 } from '../support/random';

function parseChunks(chunks: readonly string[], options?: CsvParserOptions): CsvRecord[] {
  const parser = new CsvParser(options);
  const out: CsvRecord[] = [];
  for (const chunk of chunks) out.push(...parser.push(chunk));
  out.push(...parser.end());
  return out;
}

function rec(line: number, raw: string, fields: string[]): CsvRecord {
  return { kind: 'record', line, raw, fields };
}

function fieldsOf(records: readonly CsvRecord[]): (string[] | string)[] {
  return records.map((r) => (r.kind === 'record' ? r.fields : `error@${r.line}`));
}

describe('CsvParser: well-formed input', () => {
  it('parses simple records with line numbers and raw text', () => {
    expect(parseCsvText('a,b,c\n1,2,3\n')).toEqual([rec(1, 'a,b,c', ['a', 'b', 'c']), rec(2, '1,2,3', ['1', '2', '3'])]);
  });

  it('keeps a final line without newline and adds no record for a trailing newline', () => {
    expect(parseCsvText('a,b\n1,2')).toEqual([rec(1, 'a,b', ['a', 'b']), rec(2, '1,2', ['1', '2'])]);
    expect(parseCsvText('a,b\n1,2\n')).toHaveLength(2);
    expect(parseCsvText('')).toEqual([]);
  });

  it('keeps empty fields, including leading and trailing ones', () => {
    expect(fieldsOf(parseCsvText(',a,,b,\n,\n'))).toEqual([['', 'a', '', 'b', ''], ['', '']]);
    expect(fieldsOf(parseCsvText('x,'))).toEqual([['x', '']]);
  });

  it('does not trim unquoted whitespace', () => {
    expect(fieldsOf(parseCsvText(' a , b\t\n'))).toEqual([[' a ', ' b\t']]);
  });

  it('unquotes fields with commas, doubled quotes and empty quotes', () => {
    expect(fieldsOf(parseCsvText('"a,b","say ""hi""","",""""\n'))).toEqual([['a,b', 'say "hi"', '', '"']]);
  });

  it('keeps newlines inside quoted fields verbatim and numbers lines physically', () => {
    const text = 'id,note\n1,"two\nlines"\n2,"crlf\r\ninside"\r\n3,x\n';
    expect(parseCsvText(text)).toEqual([
      rec(1, 'id,note', ['id', 'note']),
      rec(2, '1,"two\nlines"', ['1', 'two\nlines']),
      rec(4, '2,"crlf\r\ninside"', ['2', 'crlf\r\ninside']),
      rec(6, '3,x', ['3', 'x']),
    ]);
  });

  it('accepts LF, CRLF and lone CR line endings, mixed', () => {
    expect(parseCsvText('a\r\nb\nc\rd\r\n')).toEqual([rec(1, 'a', ['a']), rec(2, 'b', ['b']), rec(3, 'c', ['c']), rec(4, 'd', ['d'])]);
  });

  it('skips empty lines by default but still counts them', () => {
    expect(parseCsvText('a\n\n\r\n\rb\n')).toEqual([rec(1, 'a', ['a']), rec(5, 'b', ['b'])]);
  });

  it('returns empty lines as one empty field when skipEmptyLines is false', () => {
    expect(parseCsvText('a\n\r\n\nb', { skipEmptyLines: false })).toEqual([
      rec(1, 'a', ['a']),
      rec(2, '', ['']),
      rec(3, '', ['']),
      rec(4, 'b', ['b']),
    ]);
  });

  it('drops a byte-order mark only at the start of the input', () => {
    expect(parseCsvText('\uFEFFa,b\n\uFEFFc\n')).toEqual([rec(1, 'a,b', ['a', 'b']), rec(2, '\uFEFFc', ['\uFEFFc'])]);
  });

  it('emits records as soon as their line ends', () => {
    const parser = new CsvParser();
    expect(parser.push('a,b\nc,')).toEqual([rec(1, 'a,b', ['a', 'b'])]);
    expect(parser.push('d\r')).toEqual([rec(2, 'c,d', ['c', 'd'])]);
    expect(parser.push('\ne')).toEqual([]);
    expect(parser.end()).toEqual([rec(3, 'e', ['e'])]);
  });

  it('is reset by end() and can parse a new input from line 1', () => {
    const parser = new CsvParser();
    parser.push('a\n"open');
    parser.end();
    expect([...parser.push('\uFEFFx\n'), ...parser.end()]).toEqual([rec(1, 'x', ['x'])]);
  });

  it('rejects a non-positive maxRecordBytes', () => {
    expect(() => new CsvParser({ maxRecordBytes: 0 })).toThrow(RangeError);
  });
});

describe('CsvParser: malformed input', () => {
  it('turns a stray quote in an unquoted field into an error and resumes at the next line', () => {
    expect(parseCsvText('a,b\nx,y"z,w\nc,d\n')).toEqual([
      rec(1, 'a,b', ['a', 'b']),
      { kind: 'error', line: 2, raw: 'x,y"z,w', reason: 'stray quote in unquoted field 2' },
      rec(3, 'c,d', ['c', 'd']),
    ]);
  });

  it('resumes at the next physical line even if the bad line has a quote opening a field', () => {
    expect(fieldsOf(parseCsvText('x"y,"a\nb",c\nok\n'))).toEqual(['error@1', 'error@2', ['ok']]);
  });

  it('rejects characters after a closing quote', () => {
    const [bad, good] = parseCsvText('"ab"c,d\r\ne\n');
    expect(bad).toEqual({ kind: 'error', line: 1, raw: '"ab"c,d', reason: 'unexpected character after closing quote in field 1' });
    expect(good).toEqual(rec(2, 'e', ['e']));
  });

  it('reports an unterminated quote at end of input and re-parses the lines after it', () => {
    expect(parseCsvText('a,b\n1,"oops\n2,3\n4,5')).toEqual([
      rec(1, 'a,b', ['a', 'b']),
      { kind: 'error', line: 2, raw: '1,"oops', reason: 'unterminated quoted field opened on line 2' },
      rec(3, '2,3', ['2', '3']),
      rec(4, '4,5', ['4', '5']),
    ]);
  });

  it('rejects the whole record up to the line where the unclosed quote opened', () => {
    expect(parseCsvText('1,"ok\nstill",y,"bad\r\nmore\nlast')).toEqual([
      { kind: 'error', line: 1, raw: '1,"ok\nstill",y,"bad', reason: 'unterminated quoted field opened on line 2' },
      rec(3, 'more', ['more']),
      rec(4, 'last', ['last']),
    ]);
  });

  it('re-parses lines whose quotes were read as escapes inside the unclosed field', () => {
    expect(parseCsvText('a,"b\n"",x\r\nc')).toEqual([
      { kind: 'error', line: 1, raw: 'a,"b', reason: 'unterminated quoted field opened on line 1' },
      rec(2, '"",x', ['', 'x']),
      rec(3, 'c', ['c']),
    ]);
  });

  it('reports an unterminated quote on the last line', () => {
    expect(parseCsvText('a\n"b')).toEqual([rec(1, 'a', ['a']), { kind: 'error', line: 2, raw: '"b', reason: 'unterminated quoted field opened on line 2' }]);
  });
});

describe('CsvParser: maxRecordBytes', () => {
  it('accepts a record of exactly the limit and rejects one byte more', () => {
    expect(fieldsOf(parseCsvText('abcd\nabcde\nok', { maxRecordBytes: 4 }))).toEqual([['abcd'], 'error@2', ['ok']]);
  });

  it('cuts the raw text of an over-long record at the limit and resumes at the next line', () => {
    const long = 'x'.repeat(50);
    const [bad, good] = parseCsvText(`${long}\ny\n`, { maxRecordBytes: 10 });
    expect(bad).toEqual({ kind: 'error', line: 1, raw: 'x'.repeat(10), reason: 'record exceeds maxRecordBytes (10)' });
    expect(good).toEqual(rec(2, 'y', ['y']));
  });

  it('counts UTF-8 bytes, not UTF-16 code units', () => {
    // é is 2 bytes, 😀 is 4 bytes (2 code units).
    expect(fieldsOf(parseCsvText('éé\nééé\n😀\n😀a\n', { maxRecordBytes: 4 }))).toEqual([['éé'], 'error@2', ['😀'], 'error@4']);
  });

  it('never cuts a surrogate pair in half', () => {
    const [bad] = parseCsvText('a😀😀\n', { maxRecordBytes: 7 });
    expect(bad).toMatchObject({ kind: 'error', raw: 'a😀' });
  });

  it('stops an unterminated quote at the limit and resumes after the next newline', () => {
    const body = Array.from({ length: 100 }, (_, k) => `${k},v${k}`).join('\n');
    const records = parseCsvText(`h\n"never closed,${body}\n`, { maxRecordBytes: 64 });
    expect(records[0]).toEqual(rec(1, 'h', ['h']));
    const bad = records[1] as CsvRecord;
    expect(bad.kind).toBe('error');
    expect(bad.line).toBe(2);
    expect(Buffer.byteLength(bad.raw)).toBeLessThanOrEqual(64);
    expect(bad.kind === 'error' && bad.reason).toMatch(/maxRecordBytes \(64\).*quoted field opened on line 2/);
    // 64 bytes reach exactly the end of line 11 ("9,v9\n"); the cut falls on line 12, which is
    // skipped to its end, and parsing resumes on line 13.
    expect(bad.raw).toBe(`"never closed,${body.split('\n').slice(0, 10).join('\n')}\n`);
    const rest = records.slice(2);
    expect(rest[0]).toEqual(rec(13, '11,v11', ['11', 'v11']));
    expect(rest).toHaveLength(89);
    expect(rest.every((r) => r.kind === 'record')).toBe(true);
  });

  it('keeps the first reason when a malformed line also runs over the limit', () => {
    const [bad] = parseCsvText(`a"${'b'.repeat(20)}\n`, { maxRecordBytes: 8 });
    expect(bad).toEqual({
      kind: 'error',
      line: 1,
      raw: 'a"bbbbbb',
      reason: 'stray quote in unquoted field 1; record exceeds maxRecordBytes (8)',
    });
  });
});

describe('CsvParser: chunking never changes the result', () => {
  const tricky =
    '\uFEFFid,"na,me",note\r\n1,"say ""hi""\r\nagain",x\n\n2,plain,"😀é"\r3,bad"quote,z\n' +
    '"ab"c,1\n4,"multi\n\nline",\r\n5,,\r\n"6",7,"open\n8,9';
  const cases: [string, CsvParserOptions][] = [
    ['default options', {}],
    ['a small maxRecordBytes', { maxRecordBytes: 12 }],
    ['empty lines kept', { skipEmptyLines: false }],
  ];

  it.each(cases)('splitting at every index gives the same records (%s)', (_name, options) => {
    const whole = parseChunks([tricky], options);
    expect(whole.length).toBeGreaterThan(5);
    for (let i = 0; i <= tricky.length; i++) {
      expect(parseChunks([tricky.slice(0, i), tricky.slice(i)], options)).toEqual(whole);
    }
  });

  it.each(cases)('splitting at every pair of indices gives the same records (%s)', (_name, options) => {
    const whole = parseChunks([tricky], options);
    for (let i = 0; i <= tricky.length; i++) {
      for (let j = i; j <= tricky.length; j++) {
        const got = parseChunks([tricky.slice(0, i), tricky.slice(i, j), tricky.slice(j)], options);
        if (JSON.stringify(got) !== JSON.stringify(whole)) expect({ i, j, got }).toEqual({ i, j, got: whole });
      }
    }
  });

  it('one code unit per chunk gives the same records', () => {
    expect(parseChunks(tricky.split(''))).toEqual(parseChunks([tricky]));
  });

  it('gives the expected records for the tricky input', () => {
    expect(fieldsOf(parseChunks([tricky]))).toEqual([
      ['id', 'na,me', 'note'],
      ['1', 'say "hi"\r\nagain', 'x'],
      ['2', 'plain', '😀é'],
      'error@6',
      'error@7',
      ['4', 'multi\n\nline', ''],
      ['5', '', ''],
      'error@12',
      ['8', '9'],
    ]);
  });
});

describe('formatCsvRow', () => {
  it('quotes only fields that need it', () => {
    expect(formatCsvRow(['a', 'b c', '1.5'])).toBe('a,b c,1.5');
    expect(formatCsvRow(['a,b', 'x"y', 'l\nf', 'c\rr', ' lead', 'trail ', '\ttab'])).toBe(
      '"a,b","x""y","l\nf","c\rr"," lead","trail ","\ttab"',
    );
  });

  it('writes a lone empty field so that it is not read back as an empty line', () => {
    expect(formatCsvRow([''])).toBe('""');
    expect(fieldsOf(parseCsvText(`${formatCsvRow(['a'])}\n${formatCsvRow([''])}\n`))).toEqual([['a'], ['']]);
    expect(formatCsvRow(['', ''])).toBe(',');
  });

  it('quotes a leading BOM so it is not taken for a byte-order mark', () => {
    expect(fieldsOf(parseCsvText(formatCsvRow(['\uFEFFx', 'y'])))).toEqual([['\uFEFFx', 'y']]);
  });

  it('refuses a row without fields', () => {
    expect(() => formatCsvRow([])).toThrow(RangeError);
  });

  it('round-trips random rows through the parser, in random chunks', () => {
    const rand = mulberry32(0xc5f);
    const alphabet = ['a', 'b', 'Z', '0', '9', ',', '"', '\r', '\n', ' ', '\t', 'é', '😀', '\uFEFF', '-', '.'];
    const randomField = (): string => {
      const len = Math.floor(rand() * rand() * 12);
      let s = '';
      for (let k = 0; k < len; k++) s += alphabet[Math.floor(rand() * alphabet.length)];
      return s;
    };
    for (let trial = 0; trial < 300; trial++) {
      const rows = Array.from({ length: 1 + Math.floor(rand() * 6) }, () =>
        Array.from({ length: 1 + Math.floor(rand() * 5) }, randomField),
      );
      const eol = rand() < 0.5 ? '\n' : '\r\n';
      const text = rows.map(formatCsvRow).join(eol) + (rand() < 0.5 ? eol : '');
      const chunks: string[] = [];
      for (let at = 0; at < text.length; ) {
        const size = 1 + Math.floor(rand() * 8);
        chunks.push(text.slice(at, at + size));
        at += size;
      }
      const records = parseChunks(chunks);
      expect(records.map((r) => (r.kind === 'record' ? r.fields : r))).toEqual(rows);
    }
  });
});

describe('formatNumber', () => {
  it('writes the shortest round-trip text', () => {
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(1999)).toBe('1999');
    expect(formatNumber(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(formatNumber(-2.5)).toBe('-2.5');
    expect(formatNumber(1e21)).toBe('1e+21');
    expect(formatNumber(5e-324)).toBe('5e-324');
  });

  it('keeps the sign of negative zero', () => {
    expect(formatNumber(-0)).toBe('-0');
    expect(Object.is(Number(formatNumber(-0)), -0)).toBe(true);
  });

  it.each([NaN, Infinity, -Infinity])('refuses %p', (x) => {
    expect(() => formatNumber(x)).toThrow(RangeError);
  });

  it('round-trips random finite doubles bit for bit', () => {
    const rand = mulberry32(7);
    const view = new DataView(new ArrayBuffer(8));
    for (let k = 0; k < 5000; k++) {
      view.setUint32(0, Math.floor(rand() * 2 ** 32));
      view.setUint32(4, Math.floor(rand() * 2 ** 32));
      const x = view.getFloat64(0);
      if (!Number.isFinite(x)) continue;
      expect(Object.is(Number(formatNumber(x)), x)).toBe(true);
    }
  });
});

describe('firstInvalidUtf8', () => {
  it.each<[string, number[], number]>([
    ['ASCII', [0x61, 0x62], -1],
    ['2-, 3- and 4-byte sequences', [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80], -1],
    ['a 0xff byte', [0x61, 0xff, 0x62], 1],
    ['an overlong encoding', [0xc0, 0x80], 0],
    ['an overlong 3-byte encoding', [0x61, 0xe0, 0x80, 0x80], 1],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80], 0],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['a truncated sequence', [0x61, 0xe2, 0x82], 1],
    ['a lone continuation byte', [0x80], 0],
  ])('%s', (_name, bytes, expected) => {
    expect(firstInvalidUtf8(Uint8Array.from(bytes))).toBe(expected);
  });
});

describe('CSV files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vgmflow-csv-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function readAll(path: string, options?: CsvReadOptions): Promise<CsvRecord[]> {
    const out: CsvRecord[] = [];
    for await (const record of readCsvRecords(path, options)) out.push(record);
    return out;
  }

  it('reads a file exactly as parseCsvText reads its text, whatever the read size', async () => {
    const text = '\uFEFFa,"b\r\nc"\r\n😀é€,x"y\n\n"q""",1\r2,3';
    const path = join(dir, 'plain.csv');
    writeFileSync(path, text, 'utf8');
    const expected = parseCsvText(text);
    for (const highWaterMark of [1, 2, 3, 5, 7, 64 * 1024]) {
      expect(await readAll(path, { highWaterMark })).toEqual(expected);
    }
  });

  it('turns a line with invalid UTF-8 into an error record and keeps the others', async () => {
    const path = join(dir, 'bad-utf8.csv');
    writeFileSync(
      path,
      Buffer.concat([Buffer.from('a,b\r\n1,é\r\n2,'), Buffer.from([0x78, 0xff, 0x79]), Buffer.from('\r\n3,😀\r\n4,z')]),
    );
    for (const highWaterMark of [1, 4, 64 * 1024]) {
      const records = await readAll(path, { highWaterMark });
      expect(records).toEqual([
        rec(1, 'a,b', ['a', 'b']),
        rec(2, '1,é', ['1', 'é']),
        { kind: 'error', line: 3, raw: '2,x\uFFFDy', reason: 'invalid UTF-8 on line 3 at byte 4 of the line (0xff)' },
        rec(4, '3,😀', ['3', '😀']),
        rec(5, '4,z', ['4', 'z']),
      ]);
    }
  });

  it('rejects the whole record when a line inside a quoted field is invalid', async () => {
    const path = join(dir, 'bad-multiline.csv');
    writeFileSync(path, Buffer.concat([Buffer.from('1,"x\n'), Buffer.from([0xc3, 0x28]), Buffer.from('\ny"\n2,ok\n')]));
    const records = await readAll(path, { highWaterMark: 3 });
    expect(records).toEqual([
      { kind: 'error', line: 1, raw: '1,"x\n\uFFFD(\ny"', reason: 'invalid UTF-8 on line 2 at byte 1 of the line (0xc3)' },
      rec(4, '2,ok', ['2', 'ok']),
    ]);
  });

  it('reports a truncated sequence at the end of the file', async () => {
    const path = join(dir, 'bad-tail.csv');
    writeFileSync(path, Buffer.concat([Buffer.from('ok\nx'), Buffer.from([0xe2, 0x82])]));
    const records = await readAll(path);
    expect(records[0]).toEqual(rec(1, 'ok', ['ok']));
    expect(records[1]).toMatchObject({ kind: 'error', line: 2, reason: 'invalid UTF-8 on line 2 at byte 2 of the line (0xe2)' });
    expect(records).toHaveLength(2);
  });

  it('bounds an over-long line and carries on after it', async () => {
    const path = join(dir, 'long.csv');
    writeFileSync(path, Buffer.concat([Buffer.from(`a\n${'x'.repeat(5000)}`), Buffer.from([0xff]), Buffer.from('y\nb\n')]));
    const records = await readAll(path, { maxRecordBytes: 100, highWaterMark: 64 });
    expect(records).toEqual([
      rec(1, 'a', ['a']),
      { kind: 'error', line: 2, raw: 'x'.repeat(100), reason: 'record exceeds maxRecordBytes (100)' },
      rec(3, 'b', ['b']),
    ]);
  });

  it('stops early without error when the consumer breaks', async () => {
    const path = join(dir, 'many.csv');
    writeFileSync(path, Array.from({ length: 1000 }, (_, k) => `${k}`).join('\n'));
    let seen = 0;
    for await (const record of readCsvRecords(path, { highWaterMark: 16 })) {
      expect(record).toEqual(rec(seen + 1, `${seen}`, [`${seen}`]));
      if (++seen === 10) break;
    }
    expect(seen).toBe(10);
  });

  it('throws for a missing file', async () => {
    await expect(readAll(join(dir, 'missing.csv'))).rejects.toThrow(/ENOENT/);
  });

  it('writes rows that read back identically, through many small flushes', async () => {
    const path = join(dir, 'written.csv');
    const rows = [['Amount', 'Note'], ...Array.from({ length: 500 }, (_, k) => [formatNumber(k / 7), k % 3 === 0 ? `q"${k}\n,` : ` ${k}`])];
    const writer = new CsvFileWriter(path, { bufferSize: 64 });
    for (const row of rows) await writer.writeRow(row);
    await writer.close();
    await writer.close();
    const records = await readAll(path);
    expect(records.map((r) => (r.kind === 'record' ? r.fields : r))).toEqual(rows);
    expect(readFileSync(path, 'utf8').startsWith('Amount,Note\n0,')).toBe(true);
  });

  it('writes CRLF when asked', async () => {
    const path = join(dir, 'crlf.csv');
    const writer = new CsvFileWriter(path, { eol: '\r\n' });
    await writer.writeRow(['a', 'b']);
    await writer.writeRow(['c', 'd']);
    await writer.close();
    expect(readFileSync(path, 'utf8')).toBe('a,b\r\nc,d\r\n');
  });

  it('refuses rows after close', async () => {
    const writer = new CsvFileWriter(join(dir, 'closed.csv'));
    await writer.close();
    await expect(writer.writeRow(['x'])).rejects.toThrow(/after close/);
  });

  it('reports an I/O error on close', async () => {
    const writer = new CsvFileWriter(join(dir, 'no-such-dir', 'x.csv'));
    await writer.writeRow(['x']).catch(() => undefined);
    await expect(writer.close()).rejects.toThrow(/ENOENT/);
  });
});

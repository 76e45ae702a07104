/**
 * Column type inference reads bytes, with a text fallback; it must infer exactly what a pass of
 * the CSV reader over the records does (the reference below, the way inference worked before),
 * whatever the file holds: quotes, line breaks in quotes, invalid UTF-8, rows of another width,
 * blanks, CRLF, numbers in every syntax.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseFiniteNumber } from '../../core/normalization/column-spec';
import { readCsvRecords } from '../../topics/files/csv-file';
import { inferColumnTypes } from '../../pipeline/jobs/infer-columns';
import { mulberry32 } from '../support/random';

async function referenceNumeric(path: string, header: readonly string[]): Promise<boolean[]> {
  const numeric = header.map(() => true);
  let seenHeader = false;
  for await (const record of readCsvRecords(path)) {
    if (!seenHeader) {
      seenHeader = true;
      continue;
    }
    if (record.kind === 'error' || record.fields.length !== header.length) continue;
    record.fields.forEach((f, i) => {
      if (parseFiniteNumber(f.trim()) === null) numeric[i] = false;
    });
  }
  return numeric;
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vgmflow-infer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function inferred(name: string, content: Buffer | string, header: readonly string[]): Promise<{ mine: boolean[]; reference: boolean[] }> {
  const path = join(dir, name);
  writeFileSync(path, content);
  const specs = await inferColumnTypes(path, header, new Set(header));
  return { mine: header.map((h) => specs.get(h)?.type === 'continuous'), reference: await referenceNumeric(path, header) };
}

const HEADER = ['a', 'b', 'c'];

describe('inferColumnTypes', () => {
  it.each([
    ['plain numbers', 'a,b,c\n1,2.5,x\n-3,1e-7,y\n'],
    ['numbers with blanks and signs', 'a,b,c\n +1 ,2. ,3\n-0,.5,+4\n'],
    ['a text in a numeric column', 'a,b,c\n1,2,3\n4,five,6\n'],
    ['an empty field', 'a,b,c\n1,,3\n'],
    ['NaN and Infinity', 'a,b,c\nNaN,Infinity,1\n'],
    ['a quoted number', 'a,b,c\n"1",2,3\n'],
    ['a quoted text with a comma and a line break', 'a,b,c\n1,"x,\ny",3\n4,5,6\n'],
    ['a stray quote (malformed: skipped)', 'a,b,c\n1,2x",3\n4,5,6\n'],
    ['an unterminated quote at the end', 'a,b,c\n1,2,3\n4,"5,6\n7,8,9\n'],
    ['rows of another width (skipped)', 'a,b,c\n1,2\nx,y,z,w\n1,2,3\n'],
    ['CRLF and a lone CR', 'a,b,c\r\n1,2,3\r\n4,5,6\r7,8,x\r\n'],
    ['blank lines', 'a,b,c\n\n1,2,3\n\n\n'],
    ['no final line break', 'a,b,c\n1,2,3\n4,5,x'],
    ['non-ASCII text', 'a,b,c\n1,2,café\n3,4,5\n'],
    ['a non-breaking space around a number', 'a,b,c\n\u00a01,2,3\n'],
    ['only the header', 'a,b,c\n'],
  ])('%s', async (name, text) => {
    const r = await inferred(`${name.replace(/\W+/g, '-')}.csv`, text, HEADER);
    expect(r.mine).toEqual(r.reference);
  });

  it('invalid UTF-8 in a numeric column (the record is skipped, as the reader rejects it)', async () => {
    const r = await inferred('bad-utf8.csv', Buffer.concat([Buffer.from('a,b,c\n1,2,3\n4,'), Buffer.from([0xff, 0x35]), Buffer.from(',6\n')]), HEADER);
    expect(r.reference).toEqual([true, true, true]);
    expect(r.mine).toEqual(r.reference);
  });

  it('a record longer than the reader takes (skipped)', async () => {
    const long = `1,${'9'.repeat(1024 * 1024)},x`;
    const r = await inferred('long.csv', `a,b,c\n1,2,3\n${long}\n`, HEADER);
    expect(r.mine).toEqual(r.reference);
  });

  it('agrees with the reader on 300 random files of numbers, texts, quotes and stray bytes', async () => {
    const rand = mulberry32(20261201);
    const pieces = ['1', '-2.5', '3e4', ' 7 ', '', 'x', '"8"', '"a,b"', '"q\nr"', '0x10', '1_000', '.', '-', '1e400', 'é', '\u00a02', '"', '""'];
    for (let f = 0; f < 300; f++) {
      const lines = ['a,b,c'];
      const rows = 1 + Math.floor(rand() * 6);
      for (let r = 0; r < rows; r++) {
        const width = rand() < 0.85 ? 3 : 2 + Math.floor(rand() * 3);
        // Mostly numbers, so that a column stays numeric in some files.
        lines.push(Array.from({ length: width }, () => (rand() < 0.7 ? (pieces[Math.floor(rand() * 4)] as string) : (pieces[Math.floor(rand() * pieces.length)] as string))).join(','));
      }
      const text = lines.join(rand() < 0.2 ? '\r\n' : '\n') + (rand() < 0.5 ? '\n' : '');
      const r = await inferred(`random-${f}.csv`, text, HEADER);
      expect({ f, text, types: r.mine }).toEqual({ f, text, types: r.reference });
    }
  });
});

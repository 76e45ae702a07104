/**
 * The byte-level record splitter `vgmflow produce` uses must end records exactly where
 * CsvParser ends them (the file jobs and ingest parse with CsvParser, and row ids count
 * records), whatever the chunking. Checked against CsvParser on random inputs.
 */
import { countLineBreaks, CsvParser } from '../../core/csv/csv';
import { CsvRecordSplitter } from '../../core/csv/record-splitter';
import { mulberry32 } from '../support/random';

/** [line, raw] of each record as the splitter gives them, the bytes read as latin1. */
function split(bytes: Uint8Array, cuts: readonly number[], maxRecordBytes: number): [number, string][] {
  const splitter = new CsvRecordSplitter({ maxRecordBytes });
  const out: [number, string][] = [];
  const sink = (b: Uint8Array, from: number, to: number, line: number, lastLine: number): void => {
    const raw = Buffer.from(b.subarray(from, to)).toString('latin1');
    // The record's last line: where its text ends (the rest of a cut record has no line break).
    expect(lastLine).toBe(line + countLineBreaks(raw));
    out.push([line, raw]);
  };
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    // A copy per chunk: records handed over must not depend on the chunk staying intact.
    splitter.push(Uint8Array.from(bytes.subarray(from, cut)), sink);
    from = cut;
  }
  splitter.end(sink);
  return out;
}

/** [line, raw] of each record as CsvParser gives them on the latin1 text. */
function parse(text: string, maxRecordBytes: number): [number, string][] {
  const parser = new CsvParser({ maxRecordBytes });
  return [...parser.push(text), ...parser.end()].map((r) => [r.line, r.raw]);
}

describe('CsvRecordSplitter', () => {
  it('splits plain, quoted, CRLF, lone-CR and blank-line input as CsvParser does', () => {
    const text = 'a,b\r\n"x\ny",2\n\n\r\nlone\rcr\n"q""q",3';
    expect(split(Buffer.from(text, 'latin1'), [], 100)).toEqual(parse(text, 100));
    expect(split(Buffer.from(text, 'latin1'), [], 100)).toEqual([
      [1, 'a,b'],
      [2, '"x\ny",2'],
      [6, 'lone'],
      [7, 'cr'],
      [8, '"q""q",3'],
    ]);
  });

  it('keeps the bytes of invalid UTF-8 and of a byte-order mark', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0x0a, 0xff, 0xfe, 0x2c, 0x31]);
    const records: Uint8Array[] = [];
    const splitter = new CsvRecordSplitter({ maxRecordBytes: 100 });
    splitter.push(bytes, (b, from, to) => records.push(b.slice(from, to)));
    splitter.end((b, from, to) => records.push(b.slice(from, to)));
    expect(records.map((r) => Array.from(r))).toEqual([
      [0xef, 0xbb, 0xbf, 0x61],
      [0xff, 0xfe, 0x2c, 0x31],
    ]);
  });

  it('cuts a record over the limit and resumes at the next line', () => {
    const text = `1,${'x'.repeat(30)}\n"${'y'.repeat(10)}\n${'z'.repeat(30)}\n2,b\n`;
    expect(split(Buffer.from(text, 'latin1'), [7, 20], 16)).toEqual(parse(text, 16));
  });

  it('ends an unterminated quoted field at the end of its line and splits what follows again', () => {
    const text = '1,a\n2,"open\n3,c\n4,"again\n5,e';
    expect(split(Buffer.from(text, 'latin1'), [5, 13], 100)).toEqual(parse(text, 100));
  });

  it('agrees with CsvParser on random input and random chunking', () => {
    const rand = mulberry32(11);
    const alphabet = ['a', 'b', '1', ',', ',', '"', '"', '\n', '\n', '\r', '\r\n', ' '];
    for (let trial = 0; trial < 3000; trial++) {
      const length = Math.floor(rand() * 60);
      let text = '';
      for (let k = 0; k < length; k++) text += alphabet[Math.floor(rand() * alphabet.length)];
      const bytes = Buffer.from(text, 'latin1');
      const cuts: number[] = [];
      for (let at = 0; at < bytes.length; at += 1 + Math.floor(rand() * 12)) if (at > 0) cuts.push(at);
      const max = 1 + Math.floor(rand() * 40);
      expect({ text, max, records: split(bytes, cuts, max) }).toEqual({ text, max, records: parse(text, max) });
    }
  });

  it('counts every byte of a non-ASCII record against the limit', () => {
    // 'é' is one byte in latin1 and two in UTF-8: with a large limit the boundaries agree.
    const text = 'é,1\n"é\né",2\n';
    expect(split(Buffer.from(text, 'latin1'), [2], 1000)).toEqual(parse(text, 1000));
  });
});

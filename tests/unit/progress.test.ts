import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { fileProgress } from '../../pipeline/cli/progress';

/** A stand-in for process.stderr that records what is written. */
function sink(isTTY: boolean): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = { isTTY, write: (s: string) => written.push(s) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

const file = join(mkdtempSync(join(tmpdir(), 'vgm-progress-')), 'in.csv');
writeFileSync(file, 'x'.repeat(200));

test('on a terminal: a bar redrawn in place with percent, rows/s and ETA, cleared at the end', () => {
  const { stream, written } = sink(true);
  const p = fileProgress('transform', file, stream);
  p.update(10, 50);
  p.update(20, 100); // within the redraw interval: not drawn
  p.done();
  expect(written).toHaveLength(2);
  expect(written[0]).toMatch(/^\rtransform: \[######\.{18}\] 25% 10 rows, \d+ rows\/s, ETA \d+ s/);
  expect(written[1]).toBe('\r\x1b[K');
});

test('elsewhere: plain lines, no bar, nothing to clear', () => {
  const { stream, written } = sink(false);
  const p = fileProgress('inverse', file, stream);
  p.update(40, 200);
  p.done();
  expect(written).toHaveLength(1);
  expect(written[0]).toMatch(/^inverse: 100% 40 rows, \d+ rows\/s, ETA 0 s\n$/);
});

test('a restart says why where progress was shown, clears the bar, and counts rate and ETA afresh', () => {
  const { stream, written } = sink(true);
  const p = fileProgress('transform', file, stream);
  p.restart('not shown: nothing was drawn yet');
  expect(written).toEqual([]);
  p.update(10, 50);
  p.restart('reading the file again row by row');
  expect(written.slice(1)).toEqual(['\r\x1b[K', 'transform: reading the file again row by row\n']);
  // Drawn again at once (the redraw interval starts over), from the new start.
  p.update(5, 25);
  expect(written[3]).toMatch(/^\rtransform: \[###\.{21}\] 13% 5 rows, \d+ rows\/s/);
  p.done();
  expect(written[4]).toBe('\r\x1b[K');
});

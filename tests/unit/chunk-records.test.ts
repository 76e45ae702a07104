import { chunkRecords } from '../../topics/kafka';
import type { OutRecord } from '../../topics/transport';

const record = (bytes: number, key: string | null = null, headers?: Record<string, string>): OutRecord => ({
  topic: 't',
  key,
  value: new Uint8Array(bytes),
  ...(headers === undefined ? {} : { headers }),
});

describe('chunkRecords', () => {
  it('keeps order and cuts before a record that would pass the limit', () => {
    const records = [record(40), record(50), record(20), record(90), record(10)];
    const chunks = chunkRecords(records, 100);
    expect(chunks.map((c) => c.map((r) => r.value.byteLength))).toEqual([[40, 50], [20], [90, 10]]);
    expect(chunks.flat()).toEqual(records);
  });

  it('counts keys and headers (90 + 10 bytes fit in 100), and sends a record over the limit alone', () => {
    const chunks = chunkRecords([record(60, 'k'.repeat(30)), record(5, null, { h: 'v'.repeat(4) }), record(250), record(1)], 100);
    expect(chunks.map((c) => c.length)).toEqual([2, 1, 1]);
  });

  it('makes no chunk of nothing', () => {
    expect(chunkRecords([], 100)).toEqual([]);
  });
});

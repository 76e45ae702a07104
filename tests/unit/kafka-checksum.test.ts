/**
 * The native CRC-32C the Kafka transport puts in kafkajs's place (topics/kafka/checksum.ts):
 * the same checksum as kafkajs's JavaScript one, and the one kafkajs's record batch encoder then
 * writes. (The broker checks every batch's checksum: the integration tests produce through it.)
 */
import { randomBytes } from 'node:crypto';
import { KafkaTransport } from '../../topics/kafka/transport';
import { kafkajsRecordBatchChecksum, nativeRecordBatchChecksum, useNativeChecksum, type RecordBatchChecksum } from '../../topics/kafka/checksum';

interface KafkaJsEncoder {
  readonly buffer: Buffer;
}
type RecordFn = (r: { key: Buffer; value: Buffer; headers: Record<string, Buffer>; offsetDelta: number; timestampDelta: number }) => KafkaJsEncoder;
type RecordBatchFn = (b: { records: KafkaJsEncoder[]; firstTimestamp: number; maxTimestamp: number; lastOffsetDelta: number }) => Promise<KafkaJsEncoder>;

describe('the record batch checksum', () => {
  const kafkajs = kafkajsRecordBatchChecksum();
  // The binary loads on this platform (linux-x64-gnu); without it kafkajs's own is kept.
  const native = nativeRecordBatchChecksum as RecordBatchChecksum;

  it('loads natively here', () => {
    expect(nativeRecordBatchChecksum).not.toBeNull();
  });

  it.each([0, 1, 7, 8, 63, 64, 65, 1000, 4096 + 3, 1 << 20])('is kafkajs\'s CRC-32C for %d random bytes', (bytes) => {
    for (let trial = 0; trial < 5; trial++) {
      const buffer = randomBytes(bytes);
      expect(native(buffer)).toBe(kafkajs(buffer));
    }
  });

  it('is CRC-32C (the check value of "123456789" is 0xe3069283)', () => {
    expect(native(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(kafkajs(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('is what kafkajs record batches carry once a transport exists', async () => {
    // Constructing a transport installs it (no broker is contacted).
    new KafkaTransport({ brokers: ['127.0.0.1:1'] });
    expect(useNativeChecksum()).toBe('native');
    expect(require('kafkajs/src/protocol/recordBatch/crc32C/index.js')).toBe(nativeRecordBatchChecksum);
    const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as RecordFn;
    const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: RecordBatchFn };
    const records = Array.from({ length: 50 }, (_, i) => Record({ key: Buffer.from(`k${i}`), value: randomBytes(100 + i), headers: { h: Buffer.from('v') }, offsetDelta: i, timestampDelta: 0 }));
    const batch = (await RecordBatch({ records, firstTimestamp: 1, maxTimestamp: 1, lastOffsetDelta: 49 })).buffer;
    // FirstOffset int64, Length int32 (of what follows), PartitionLeaderEpoch int32, Magic int8, CRC uint32, then the checksummed body.
    expect(batch.readInt32BE(8)).toBe(batch.length - 12);
    expect(batch.readUInt32BE(17)).toBe(kafkajs(batch.subarray(21)));
  });
});

/**
 * The snappy, lz4 and zstd codecs the Kafka transport registers with kafkajs (topics/kafka/
 * compression.ts), without a broker: round trips of sizes that span several lz4 blocks and more
 * than a MiB, snappy-java's xerial framing (what the Java client writes), and their registration.
 * tests/integration/kafka-compression.test.ts reads and writes them against librdkafka.
 */
import { compressSync as snappyCompressSync } from 'snappy';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { lz4Codec, registerCompressionCodecs, snappyCodec, zstdCodec, type KafkaJsCodec } from '../../topics/kafka/compression';

/** Compressible but not trivial bytes: CSV-like rows with varying numbers. */
function sample(bytes: number): Buffer {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i += 1) {
    const row = `${(i * 7919) % 100_003},${i % 13},visa,${5000 + (i % 97)}\n`;
    parts.push(row);
    size += row.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

const CODECS: ReadonlyArray<[string, KafkaJsCodec]> = [
  ['snappy', snappyCodec],
  ['lz4', lz4Codec],
  ['zstd', zstdCodec],
];

describe.each(CODECS)('%s codec', (_name, codec) => {
  it.each([0, 1, 1000, 200_000, 3_000_000])('round-trips %d bytes', async (bytes) => {
    const data = sample(bytes);
    const compressed = await codec.compress({ buffer: data });
    expect(Buffer.isBuffer(compressed)).toBe(true);
    if (bytes >= 1000) expect(compressed.length).toBeLessThan(data.length);
    const back = await codec.decompress(compressed);
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(back.equals(data)).toBe(true);
  });

  it('rejects bytes that are not its format', async () => {
    await expect(codec.decompress(Buffer.from('definitely not compressed, no header, no frame magic'))).rejects.toThrow();
  });
});

describe('snappy in snappy-java\'s xerial framing', () => {
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const framed = (chunks: readonly Buffer[]): Buffer =>
    Buffer.concat([
      header,
      ...chunks.flatMap((chunk) => {
        const compressed = snappyCompressSync(chunk);
        const size = Buffer.alloc(4);
        size.writeUInt32BE(compressed.length);
        return [size, compressed];
      }),
    ]);

  it('reads every chunk, in order', async () => {
    const data = sample(100_000);
    const chunks = [data.subarray(0, 32_768), data.subarray(32_768, 65_536), data.subarray(65_536)];
    expect((await snappyCodec.decompress(framed(chunks))).equals(data)).toBe(true);
  });

  it('reads a stream of the header alone as empty', async () => {
    expect((await snappyCodec.decompress(header)).length).toBe(0);
  });

  it('refuses a truncated chunk instead of dropping it', async () => {
    const whole = framed([sample(10_000)]);
    await expect(snappyCodec.decompress(whole.subarray(0, whole.length - 3))).rejects.toThrow(/truncated/);
    await expect(snappyCodec.decompress(whole.subarray(0, header.length + 2))).rejects.toThrow(/truncated/);
  });
});

it('registers snappy, lz4 and zstd with kafkajs, idempotently', () => {
  registerCompressionCodecs();
  registerCompressionCodecs();
  expect(CompressionCodecs[CompressionTypes.Snappy]()).toBe(snappyCodec);
  expect(CompressionCodecs[CompressionTypes.LZ4]()).toBe(lz4Codec);
  expect(CompressionCodecs[CompressionTypes.ZSTD]()).toBe(zstdCodec);
});

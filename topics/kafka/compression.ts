/**
 * Record batch compression beyond kafkajs's own gzip: snappy, lz4 and zstd, registered once in
 * kafkajs's (process-wide) CompressionCodecs by the Kafka transport. Without them kafkajs stops on
 * the first batch another client compressed with one of them (`KafkaJSNotImplemented: LZ4
 * compression not implemented`). kafkajs asks a codec for `compress(encoder)` (the uncompressed
 * records in `encoder.buffer`) and `decompress(buffer)`, both promising a Buffer.
 *
 * - snappy (`snappy`, napi-rs binaries shipped in npm packages): librdkafka writes raw snappy;
 *   the Java client writes snappy-java's "xerial" framing (a magic header, then chunks, each
 *   prefixed by its big-endian length), which Kafka keeps for compatibility. Both are read; raw
 *   snappy is written (snappy-java reads it too).
 * - lz4 (`lz4-napi`, binaries shipped in npm packages): Kafka's record batches (magic 2) hold one
 *   LZ4 *frame* (the frame format, not a bare block). Written with lz4_flex's default frame:
 *   independent 64 KiB blocks, no content size, no checksums, which the Java client's
 *   KafkaLZ4BlockInputStream requires.
 * - zstd: read with `fzstd` (pure JavaScript; handles frames without a content size, as
 *   librdkafka and the Java client write them, and concatenated frames), written with
 *   `@bokuweb/zstd-wasm` (zstd compiled to WebAssembly, level 3, zstd's default).
 */
import { compress as zstdWasmCompress, init as zstdWasmInit } from '@bokuweb/zstd-wasm';
import { decompress as fzstdDecompress } from 'fzstd';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { compressFrame, decompressFrame } from 'lz4-napi';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappy';

/** The codec shape kafkajs calls. */
export interface KafkaJsCodec {
  compress(encoder: { readonly buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** What a KafkaTransport's producers compress their record batches with. */
export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export const COMPRESSIONS: readonly Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** kafkajs's attribute value of each compression. */
export function compressionType(compression: Compression): CompressionTypes {
  switch (compression) {
    case 'none':
      return CompressionTypes.None;
    case 'gzip':
      return CompressionTypes.GZIP;
    case 'snappy':
      return CompressionTypes.Snappy;
    case 'lz4':
      return CompressionTypes.LZ4;
    case 'zstd':
      return CompressionTypes.ZSTD;
  }
}

const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

/** snappy-java's stream header: 0x82 "SNAPPY" 0x00, then a version and a compatible version (int32 each). */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

async function snappyBlock(block: Buffer): Promise<Buffer> {
  const out = await snappyUncompress(block, { asBuffer: true });
  if (typeof out === 'string') throw new Error('snappy returned a string for asBuffer: true');
  return out;
}

export const snappyCodec: KafkaJsCodec = {
  compress: (encoder) => snappyCompress(encoder.buffer),
  async decompress(buffer) {
    if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) return snappyBlock(buffer);
    const chunks: Buffer[] = [];
    let offset = XERIAL_HEADER_BYTES;
    while (offset < buffer.length) {
      if (offset + 4 > buffer.length) throw new Error(`truncated xerial snappy chunk length at byte ${offset} of ${buffer.length}`);
      const size = buffer.readUInt32BE(offset);
      offset += 4;
      if (offset + size > buffer.length) throw new Error(`truncated xerial snappy chunk: ${size} bytes at byte ${offset} of ${buffer.length}`);
      chunks.push(await snappyBlock(buffer.subarray(offset, offset + size)));
      offset += size;
    }
    return Buffer.concat(chunks);
  },
};

export const lz4Codec: KafkaJsCodec = {
  compress: (encoder) => compressFrame(encoder.buffer),
  decompress: (buffer) => decompressFrame(buffer),
};

/** zstd's default level (librdkafka's and the Java client's default too). */
const ZSTD_LEVEL = 3;
let zstdWasmReady: Promise<void> | null = null;

export const zstdCodec: KafkaJsCodec = {
  async compress(encoder) {
    zstdWasmReady ??= zstdWasmInit();
    await zstdWasmReady;
    return asBuffer(zstdWasmCompress(encoder.buffer, ZSTD_LEVEL));
  },
  // fzstd is synchronous; a batch is at most a fetch's worth of bytes.
  decompress: async (buffer) => asBuffer(fzstdDecompress(buffer)),
};

let registered = false;

/** Registers snappy, lz4 and zstd in kafkajs's CompressionCodecs (gzip is kafkajs's own). Idempotent. */
export function registerCompressionCodecs(): void {
  if (registered) return;
  CompressionCodecs[CompressionTypes.Snappy] = () => snappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = () => lz4Codec;
  CompressionCodecs[CompressionTypes.ZSTD] = () => zstdCodec;
  registered = true;
}

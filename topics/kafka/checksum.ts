/**
 * The CRC-32C of every record batch kafkajs produces, computed natively. kafkajs computes it in
 * JavaScript, a table lookup per byte (about 115–165 MB/s on the development machine), and every
 * byte a stage sends goes through it: on the main thread of a Kafka fit it was 2.4 s of CPU per
 * 10M rows. `@node-rs/crc32` (napi-rs binaries shipped in npm packages, as the lz4 and snappy
 * codecs are) gives the same checksum about ten times faster.
 *
 * kafkajs has no setting for it: its record batch encoder takes the checksum function from
 * its sibling module crc32C when the encoder module is first loaded, which kafkajs does lazily, on
 * the first produce. So the transport puts the native function in that module's place in
 * Node's module cache before then. Where that is not possible (the encoder already loaded by
 * another kafkajs user in the process, or no binary for this platform) kafkajs keeps its own
 * function: the bytes on the wire are the same either way, only the CPU differs.
 */

/** The modules of kafkajs 2.2.x involved: the checksum function, and the encoder that binds it at load. */
const KAFKAJS_CHECKSUM_MODULE = 'kafkajs/src/protocol/recordBatch/crc32C/index.js';
const KAFKAJS_ENCODER_MODULE = 'kafkajs/src/protocol/recordBatch/v0/index.js';

/** kafkajs's checksum: the unsigned CRC-32C of a whole buffer. */
export type RecordBatchChecksum = (buffer: Buffer) => number;

/** Which checksum kafkajs's record batches get in this process. */
export type ChecksumUse = 'native' | 'kafkajs';

let use: ChecksumUse | null = null;

type Crc32c = (input: Uint8Array, initialState?: number) => number;

/** `@node-rs/crc32`'s CRC-32C, or null where its binary does not load (a platform it has none for). */
function loadNativeCrc32c(): Crc32c | null {
  try {
    return (require('@node-rs/crc32') as { crc32c: Crc32c }).crc32c;
  } catch {
    return null;
  }
}

const nativeCrc32c = loadNativeCrc32c();

/** The native CRC-32C, unsigned, as kafkajs's function returns it (null without the binary). */
export const nativeRecordBatchChecksum: RecordBatchChecksum | null = nativeCrc32c === null ? null : (buffer) => nativeCrc32c(buffer) >>> 0;

/**
 * Makes kafkajs's record batches use the native CRC-32C, once per process; says which checksum
 * they use. Idempotent.
 */
export function useNativeChecksum(): ChecksumUse {
  if (use !== null) return use;
  use = install();
  return use;
}

function install(): ChecksumUse {
  if (nativeRecordBatchChecksum === null) return 'kafkajs';
  let checksumPath: string;
  let encoderPath: string;
  try {
    checksumPath = require.resolve(KAFKAJS_CHECKSUM_MODULE);
    encoderPath = require.resolve(KAFKAJS_ENCODER_MODULE);
  } catch {
    return 'kafkajs';
  }
  if (require.cache[encoderPath] !== undefined) return 'kafkajs';
  // Loaded first so that the cache holds its module, whose exports the encoder will import.
  require(checksumPath);
  const module = require.cache[checksumPath];
  if (module === undefined) return 'kafkajs';
  module.exports = nativeRecordBatchChecksum;
  return 'native';
}

/** kafkajs's own JavaScript checksum, for tests that compare the two. */
export function kafkajsRecordBatchChecksum(): RecordBatchChecksum {
  // The file beside index.js is the plain function (index.js, which we replace, wraps it).
  const raw = require(require.resolve('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js')) as (buffer: Buffer) => number;
  return (buffer) => raw(buffer) >>> 0;
}

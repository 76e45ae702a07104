/**
 * The command-line options of the transform and inverse stages, and the stage options they
 * make, shared by `vgmflow stage transform|inverse` (runs for ever) and
 * `vgmflow transform|inverse --brokers` (runs until caught up).
 */
import type { Client } from '@confluentinc/schemaregistry';
import { DECODED_OUTPUTS, type DecodedOutput, type InverseOptions } from '../../stages/inverse/inverse-stage';
import { ENCODED_FORMATS, type EncodedFormat } from '../../stages/inverse/inverse-batch';
import { TRANSFORMED_FORMATS, type TransformedFormat, type TransformOptions } from '../../stages/transform/transform-stage';
import { DEFAULT_MODEL_NAME, topicNames } from '../../topics/topology';
import { registryClient, type RegistryAccess } from '../../topics/registry';
import { processSecrets } from '../../topics/secrets';
import type { Transport } from '../../topics/transport';
import type { KafkaTransportOptions } from '../../topics/kafka/options';
import { COMPRESSIONS, type Compression } from '../../topics/kafka/compression';
import { s3Client, s3SettingsFromEnv } from '../../topics/s3/model-sink';
import { integerOption, stringOption, type ParsedArgs } from './args';
import { availableParallelism } from 'node:os';
import { UsageError } from './command';
import type { KafkaSettings } from './kafka-options';
import { readTextFile } from './option-sources';
import { REGISTRY_SECURITY_OPTIONS, registrySecurity } from './registry-security';

export { ENCODE_THREADS_HELP, INVERSE_STAGE_OPTIONS, MODEL_STAGE_OPTIONS, TRANSFORM_STAGE_OPTIONS } from './stage-option-specs';

/**
 * Fetches of the stages that read blocks (CSV blocks of up to 1 MiB by default, row batches,
 * encoded blocks): several per partition and every partition in one fetch. kafkajs's defaults
 * (1 MiB per partition, 10 MiB in all) return one whole block per fetch — a broker sends a
 * record batch over the per-partition limit only for the first partition of a fetch — so a
 * stage would parse one partition at a time, and every fetch ends in a transaction.
 */
export const BLOCK_FETCHES = { maxBytesPerPartition: 8 * 1024 * 1024, maxBytes: 48 * 1024 * 1024 } as const;

/**
 * The Kafka transport settings of the transform and inverse stages writing blocks. Fetches:
 * BLOCK_FETCHES. Sends: blocks go out in record batches of up to 8 MiB per
 * partition instead of 512 KiB (the stages create their output topics with 16 MiB messages).
 * Per-row output keeps kafkajs's fetches and the small batches a topic with Kafka's default
 * 1 MiB limit takes: a large fetch there means hundreds of thousands of row objects at once.
 */
export function modelStageTransport(args: ParsedArgs): Pick<KafkaTransportOptions, 'consumer' | 'maxBatchBytes' | 'compression'> {
  const consumer = BLOCK_FETCHES;
  const blocks = (stringOption(args, 'output-format') ?? 'block') === 'block';
  const compression = stringOption(args, 'compression') ?? (blocks ? DEFAULT_BLOCK_COMPRESSION : 'none');
  if (!(COMPRESSIONS as readonly string[]).includes(compression)) throw new UsageError(`--compression must be one of ${COMPRESSIONS.join(', ')}, not "${compression}"`);
  return blocks ? { consumer, compression: compression as Compression, maxBatchBytes: 8 * 1024 * 1024 } : { compression: compression as Compression };
}

/**
 * What the transform and inverse stages compress their blocks' record batches with, unless told
 * (per-row output: none). lz4 pays on blocks: 3.4× fewer bytes for the bench's amounts (28 →
 * 8.2 B per encoded row), and 10–20 % less CPU in vgmflow and in the broker together, since
 * kafkajs copies and checksums every byte it sends in JavaScript (measured, see the README).
 */
export const DEFAULT_BLOCK_COMPRESSION: Compression = 'lz4';

/** --registry-url or $SCHEMA_REGISTRY_URL; undefined when neither is set. */
function registryUrl(args: ParsedArgs): string | undefined {
  const url = (stringOption(args, 'registry-url') ?? process.env.SCHEMA_REGISTRY_URL ?? '').trim();
  if (url === '') {
    const flag = Object.keys(REGISTRY_SECURITY_OPTIONS).find((name) => args.values[name] !== undefined);
    if (flag !== undefined) throw new UsageError(`--${flag} needs --registry-url (or SCHEMA_REGISTRY_URL)`);
    return undefined;
  }
  return url;
}

/** The registry's credentials and CA (./registry-security), read now so that a mistake shows before anything connects. */
function registryAccess(args: ParsedArgs): RegistryAccess {
  const { access, secrets } = registrySecurity(args.values, process.env, readTextFile);
  processSecrets.add(...secrets);
  return access;
}

/** The registry client of --registry-url or $SCHEMA_REGISTRY_URL; undefined when neither is set. */
export function registryFromArgs(args: ParsedArgs): Client | undefined {
  const url = registryUrl(args);
  return url === undefined ? undefined : registryClient(url, registryAccess(args));
}

/**
 * The registry client made on first use: the client package takes a second or more to load,
 * and a stage reading and writing blocks may never need it.
 */
function lazyRegistryFromArgs(args: ParsedArgs): (() => Client) | undefined {
  const url = registryUrl(args);
  if (url === undefined) return undefined;
  const access = registryAccess(args);
  let client: Client | undefined;
  return () => (client ??= registryClient(url, access));
}

function encodeThreads(args: ParsedArgs): number {
  return integerOption(args, 'encode-threads', availableParallelism());
}

function prefixOf(args: ParsedArgs): string {
  return stringOption(args, 'topic-prefix') ?? 'vgm';
}

/** Everything of the transform stage's options that comes from the command line. */
export function transformOptionsFromArgs(args: ParsedArgs, kafka: KafkaSettings, transport: Transport, log: (line: string) => void): Omit<TransformOptions, 'onProgress' | 'onInputPosition'> {
  const format = stringOption(args, 'output-format') ?? 'block';
  if (!(TRANSFORMED_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--output-format must be block or avro, not "${format}"`);
  const vector = args.values.vector === true;
  if (vector && format !== 'block') throw new UsageError('--vector is for the block format (Avro records always carry the vector)');
  const registry = format === 'avro' ? registryFromArgs(args) : undefined;
  if (format === 'avro' && registry === undefined) throw new UsageError('--output-format avro needs --registry-url (or set SCHEMA_REGISTRY_URL)');
  const s3 = s3SettingsFromEnv(stringOption(args, 's3-bucket'), 'vgmflow/transformed');
  return {
    transport,
    topics: kafka.topics,
    log,
    transformedTopic: stringOption(args, 'transformed-topic') ?? topicNames(prefixOf(args)).transformed,
    modelName: stringOption(args, 'model-name') ?? DEFAULT_MODEL_NAME,
    outputFormat: format as TransformedFormat,
    vector,
    threads: encodeThreads(args),
    registry,
    s3: s3 === null ? undefined : { client: s3Client(s3), bucket: s3.bucket, prefix: s3.prefix },
    group: stringOption(args, 'group'),
    transactionalId: stringOption(args, 'transactional-id'),
  };
}

/** Everything of the inverse stage's options that comes from the command line. */
export function inverseOptionsFromArgs(args: ParsedArgs, kafka: KafkaSettings, transport: Transport, log: (line: string) => void): Omit<InverseOptions, 'onProgress' | 'onInputPosition'> {
  const format = stringOption(args, 'format');
  if (format !== undefined && !(ENCODED_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be block, avro or csv, not "${format}"`);
  const output = stringOption(args, 'output-format');
  if (output !== undefined && !(DECODED_OUTPUTS as readonly string[]).includes(output)) throw new UsageError(`--output-format must be block, csv or avro, not "${output}"`);
  if (args.values.vector === true) throw new UsageError('--vector is an option of transform');
  const registry = lazyRegistryFromArgs(args);
  if (output === 'avro' && registry === undefined) throw new UsageError('--output-format avro needs --registry-url (or set SCHEMA_REGISTRY_URL)');
  const prefix = prefixOf(args);
  return {
    transport,
    topics: kafka.topics,
    log,
    encodedTopic: stringOption(args, 'encoded-topic') ?? topicNames(prefix).encoded,
    decodedTopic: stringOption(args, 'decoded-topic') ?? topicNames(prefix).decoded,
    modelName: stringOption(args, 'model-name') ?? DEFAULT_MODEL_NAME,
    registry,
    format: format as EncodedFormat | undefined,
    output: output as DecodedOutput | undefined,
    group: stringOption(args, 'group'),
    transactionalId: stringOption(args, 'transactional-id'),
    partitions: kafka.partitions,
  };
}

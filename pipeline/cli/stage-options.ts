/**
 * The command-line options of the transform and inverse stages, and the stage options they
 * make, shared by `vgmflow stage transform|inverse` (runs for ever) and
 * `vgmflow transform|inverse --brokers` (runs until caught up).
 */
import type { Client } from '@confluentinc/schemaregistry';
import type { ParseArgsConfig } from 'util';
import { type InverseOptions } from '../../stages/inverse/inverse-stage';
import { type TransformOptions } from '../../stages/transform/transform-stage';
import { DEFAULT_MODEL_NAME, topicNames } from '../../topics/topology';
import { registryClient } from '../../topics/registry';
import type { Transport } from '../../topics/transport';
import { s3Client, s3SettingsFromEnv } from '../../topics/s3/model-sink';
import { stringOption, type ParsedArgs } from './args';
import { UsageError } from './command';
import type { KafkaSettings } from './kafka-options';

type Options = NonNullable<ParseArgsConfig['options']>;

export const MODEL_STAGE_OPTIONS: Options = {
  'model-name': { type: 'string' },
  'registry-url': { type: 'string' },
  group: { type: 'string' },
  'transactional-id': { type: 'string' },
};

export const TRANSFORM_STAGE_OPTIONS: Options = { ...MODEL_STAGE_OPTIONS, 's3-bucket': { type: 'string' } };

export const INVERSE_STAGE_OPTIONS: Options = {
  ...MODEL_STAGE_OPTIONS,
  'encoded-topic': { type: 'string' },
  'decoded-topic': { type: 'string' },
  format: { type: 'string' },
  'output-format': { type: 'string' },
};

/** The registry client of --registry-url or $SCHEMA_REGISTRY_URL; undefined when neither is set. */
export function registryFromArgs(args: ParsedArgs): Client | undefined {
  const url = (stringOption(args, 'registry-url') ?? process.env.SCHEMA_REGISTRY_URL ?? '').trim();
  return url === '' ? undefined : registryClient(url);
}

function prefixOf(args: ParsedArgs): string {
  return stringOption(args, 'topic-prefix') ?? 'vgm';
}

/** Everything of the transform stage's options that comes from the command line. */
export function transformOptionsFromArgs(args: ParsedArgs, kafka: KafkaSettings, transport: Transport, log: (line: string) => void): Omit<TransformOptions, 'onProgress' | 'onInputPosition'> {
  const registry = registryFromArgs(args);
  if (registry === undefined) throw new UsageError('--registry-url is required (or set SCHEMA_REGISTRY_URL)');
  const s3 = s3SettingsFromEnv(stringOption(args, 's3-bucket'), 'vgmflow/transformed');
  return {
    transport,
    topics: kafka.topics,
    log,
    transformedTopic: topicNames(prefixOf(args)).transformed,
    modelName: stringOption(args, 'model-name') ?? DEFAULT_MODEL_NAME,
    registry,
    s3: s3 === null ? undefined : { client: s3Client(s3), bucket: s3.bucket, prefix: s3.prefix },
    group: stringOption(args, 'group'),
    transactionalId: stringOption(args, 'transactional-id'),
  };
}

/** Everything of the inverse stage's options that comes from the command line. */
export function inverseOptionsFromArgs(args: ParsedArgs, kafka: KafkaSettings, transport: Transport, log: (line: string) => void): Omit<InverseOptions, 'onProgress' | 'onInputPosition'> {
  const format = stringOption(args, 'format');
  if (format !== undefined && format !== 'avro' && format !== 'csv') throw new UsageError(`--format must be avro or csv, not "${format}"`);
  const output = stringOption(args, 'output-format');
  if (output !== undefined && output !== 'csv' && output !== 'avro') throw new UsageError(`--output-format must be csv or avro, not "${output}"`);
  const registry = registryFromArgs(args);
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
    format,
    output,
    group: stringOption(args, 'group'),
    transactionalId: stringOption(args, 'transactional-id'),
    partitions: kafka.partitions,
  };
}

// What integration tests know about the running services, and small factories for clients
// of them. The values come from process.env, which tests/support/stack-setup.ts (the jest
// globalSetup of the `integration` project) fills in before any test worker starts.
import { randomBytes } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@confluentinc/schemaregistry';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { STACK_ENV, type StackProvider } from './stack-env';
import { registryClient } from '../../topics/registry';

export { STACK_ENV, type StackProvider } from './stack-env';

export interface S3Settings {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface StackConfig {
  provider: StackProvider;
  kafkaBrokers: string[];
  /** Base URL of the Confluent-compatible API (for Apicurio: http://host:port/apis/ccompat/v7). */
  schemaRegistryUrl: string;
  s3: S3Settings;
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(
      `${name} is not set: integration tests get the stack from tests/support/stack-setup.ts ` +
        '(jest project `integration`), or from KAFKA_BROKERS, SCHEMA_REGISTRY_URL, S3_ENDPOINT, ' +
        'S3_ACCESS_KEY and S3_SECRET_KEY',
    );
  }
  return value;
}

function parseProvider(value: string | undefined): StackProvider {
  return value === 'testcontainers' || value === 'local' ? value : 'env';
}

export function stackConfig(): StackConfig {
  return {
    provider: parseProvider(process.env[STACK_ENV.kind]),
    kafkaBrokers: required(STACK_ENV.kafkaBrokers)
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b !== ''),
    schemaRegistryUrl: required(STACK_ENV.schemaRegistryUrl).replace(/\/+$/, ''),
    s3: {
      endpoint: required(STACK_ENV.s3Endpoint),
      accessKeyId: required(STACK_ENV.s3AccessKey),
      secretAccessKey: required(STACK_ENV.s3SecretKey),
      region: process.env[STACK_ENV.s3Region] || 'us-east-1',
    },
  };
}

/**
 * A name no other test (or earlier run against the same stack) has used. Lower-case letters,
 * digits and hyphens only, at most 63 characters: valid both as a Kafka topic and as an S3
 * bucket name, and as a Schema Registry subject.
 */
export function uniqueName(prefix = 'vgm'): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'vgm';
  const suffix = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  return `${clean.slice(0, 63 - suffix.length - 1)}-${suffix}`;
}

const KAFKAJS_LEVELS: Record<string, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/**
 * A kafkajs client for the stack. Silent unless KAFKAJS_LOG_LEVEL (error|warn|info|debug) asks
 * otherwise: kafkajs logs every retried coordinator lookup as an error, which is noise in tests.
 */
export function kafkaClient(clientId = uniqueName('test-client'), overrides: Partial<KafkaConfig> = {}): Kafka {
  const level = KAFKAJS_LEVELS[(process.env.KAFKAJS_LOG_LEVEL ?? 'nothing').toLowerCase()] ?? logLevel.NOTHING;
  return new Kafka({
    clientId,
    brokers: stackConfig().kafkaBrokers,
    logLevel: level,
    connectionTimeout: 5000,
    retry: { retries: 8, initialRetryTime: 200 },
    ...overrides,
  });
}

/** An S3 client for the stack: path-style addressing, since neither S3Proxy nor MinIO serve virtual hosts here. */
export function s3Client(): S3Client {
  const { s3 } = stackConfig();
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

/** A Confluent Schema Registry client for the stack's Confluent-compatible endpoint, made as the CLI makes it. */
export function schemaRegistryClient(): Client {
  return registryClient(stackConfig().schemaRegistryUrl);
}

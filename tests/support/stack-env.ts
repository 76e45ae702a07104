// The environment variables through which a stack is named and handed to tests. Kept apart
// from ./stack so that globalSetup does not load the client libraries.
export type StackProvider = 'env' | 'testcontainers' | 'local';

export const STACK_ENV = {
  kind: 'STACK_KIND',
  kafkaBrokers: 'KAFKA_BROKERS',
  schemaRegistryUrl: 'SCHEMA_REGISTRY_URL',
  s3Endpoint: 'S3_ENDPOINT',
  s3AccessKey: 'S3_ACCESS_KEY',
  s3SecretKey: 'S3_SECRET_KEY',
  s3Region: 'S3_REGION',
} as const;

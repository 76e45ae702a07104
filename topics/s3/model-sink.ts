/** Keeps each final model as JSON in an S3 bucket: s3://<bucket>/<prefix>/<model name>/<job>.json. */
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ModelSink } from '../model-record';
import { serializeModel } from '../../core/normalization/model';

export interface S3Settings {
  readonly endpoint?: string;
  readonly region: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly bucket: string;
  readonly prefix: string;
}

/** S3 settings from options with the environment as fallback (the local stack's .stack/stack.env names). */
export function s3SettingsFromEnv(bucket: string | undefined, prefix = 'vgmflow'): S3Settings | null {
  const b = bucket ?? process.env.S3_BUCKET;
  if (b === undefined || b === '') return null;
  return {
    endpoint: process.env.S3_ENDPOINT,
    region: process.env.S3_REGION ?? 'us-east-1',
    accessKeyId: process.env.S3_ACCESS_KEY,
    secretAccessKey: process.env.S3_SECRET_KEY,
    bucket: b,
    prefix,
  };
}

export function s3Client(s: S3Settings): S3Client {
  return new S3Client({
    region: s.region,
    endpoint: s.endpoint,
    // Local S3 servers (S3Proxy, MinIO) serve buckets by path, not by host name.
    forcePathStyle: s.endpoint !== undefined,
    credentials: s.accessKeyId !== undefined && s.secretAccessKey !== undefined ? { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } : undefined,
  });
}

export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

export function modelObjectKey(s: S3Settings, modelName: string, job: string): string {
  return `${s.prefix}/models/${modelName}/${job}.json`;
}

export function s3ModelSink(s: S3Settings, log: (line: string) => void = () => undefined): ModelSink {
  const client = s3Client(s);
  let bucketReady: Promise<void> | null = null;
  return async (job, modelName, model) => {
    bucketReady ??= ensureBucket(client, s.bucket);
    await bucketReady;
    const key = modelObjectKey(s, modelName, job);
    await client.send(new PutObjectCommand({ Bucket: s.bucket, Key: key, Body: serializeModel(model), ContentType: 'application/json' }));
    log(`model written to s3://${s.bucket}/${key}`);
  };
}

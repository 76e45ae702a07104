/** Keeps each final model as JSON in an S3 bucket: s3://<bucket>/<prefix>/<model name>/<job>.json. */
import type { S3Client } from '@aws-sdk/client-s3';
import { lazyModule } from '../lazy-module';
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

/** The AWS SDK takes about half a second to load; most commands (fit, produce, files, --help) never touch S3. */
const s3Module = lazyModule(() => require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3'));

export function s3Client(s: S3Settings): S3Client {
  return new (s3Module().S3Client)({
    region: s.region,
    endpoint: s.endpoint,
    // Local S3 servers (S3Proxy, MinIO) serve buckets by path, not by host name.
    forcePathStyle: s.endpoint !== undefined,
    credentials: s.accessKeyId !== undefined && s.secretAccessKey !== undefined ? { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } : undefined,
  });
}

export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  const { CreateBucketCommand, HeadBucketCommand } = s3Module();
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

/** Writes one object (a retry of the same key overwrites it). */
export async function putObject(client: S3Client, bucket: string, key: string, body: Uint8Array | string, contentType: string): Promise<void> {
  await client.send(new (s3Module().PutObjectCommand)({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
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
    await putObject(client, s.bucket, key, serializeModel(model), 'application/json');
    log(`model written to s3://${s.bucket}/${key}`);
  };
}

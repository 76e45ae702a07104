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

/**
 * S3 settings from options with the environment as fallback (the local stack's .stack/stack.env
 * names). Without S3_ACCESS_KEY and S3_SECRET_KEY the AWS SDK's default credential chain
 * applies: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the shared config and AWS_PROFILE, web identity
 * (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, e.g. IRSA), container and instance roles.
 */
export function s3SettingsFromEnv(bucket: string | undefined, prefix = 'vgmflow', env: Readonly<Record<string, string | undefined>> = process.env): S3Settings | null {
  const b = bucket ?? env.S3_BUCKET;
  if (b === undefined || b === '') return null;
  const accessKeyId = env.S3_ACCESS_KEY || undefined;
  const secretAccessKey = env.S3_SECRET_KEY || undefined;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new Error(`${accessKeyId === undefined ? 'S3_SECRET_KEY' : 'S3_ACCESS_KEY'} is set without ${accessKeyId === undefined ? 'S3_ACCESS_KEY' : 'S3_SECRET_KEY'}: set both, or neither to use the AWS SDK's default credential chain`);
  }
  return {
    endpoint: env.S3_ENDPOINT || undefined,
    region: env.S3_REGION || env.AWS_REGION || 'us-east-1',
    ...(accessKeyId === undefined ? {} : { accessKeyId, secretAccessKey }),
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
    // No keys: the SDK's default credential chain (see s3SettingsFromEnv).
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

// Smoke test of the stack's S3 endpoint through @aws-sdk/client-s3 with path-style addressing:
// bucket lifecycle, put/get/head/list, and a three-part multipart upload.
import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3Client, uniqueName } from '../support/stack';

// jest.config.js sets testTimeout per project, which jest ignores (it is a global option);
// the stack's services need more than the 5 s default under load.
jest.setTimeout(120_000);

const MiB = 1024 * 1024;

/** Deterministic, non-repeating-looking bytes, so a misplaced part would change the digest. */
function pattern(length: number, seed: number): Buffer {
  const buf = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    if (i + 4 <= length) buf.writeUInt32LE(x, i);
    else for (let j = i; j < length; j += 1) buf[j] = (x >>> ((j - i) * 8)) & 0xff;
  }
  return buf;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function getBytes(s3: S3Client, Bucket: string, Key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket, Key }));
  if (res.Body === undefined) throw new Error(`no body for s3://${Bucket}/${Key}`);
  return Buffer.from(await res.Body.transformToByteArray());
}

describe('S3 (smoke)', () => {
  let s3: S3Client;
  let bucket: string;
  const keys: string[] = [];

  beforeAll(async () => {
    s3 = s3Client();
    bucket = uniqueName('smoke-s3');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });

  afterAll(async () => {
    for (const Key of keys) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    s3.destroy();
  });

  it('lists the new bucket', async () => {
    const res = await s3.send(new ListBucketsCommand({}));
    expect((res.Buckets ?? []).map((b) => b.Name)).toContain(bucket);
  });

  it('puts, heads, gets and lists objects', async () => {
    const objects: Record<string, string> = {
      'runs/a/params.json': JSON.stringify({ components: 10, weights: [0.5, 0.5] }),
      'runs/a/rows.csv': 'amount\n1.5\n2.25\n',
      'runs/b/params.json': '{}',
    };
    for (const [Key, body] of Object.entries(objects)) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: body, ContentType: 'text/plain' }));
      keys.push(Key);
    }

    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'runs/a/rows.csv' }));
    expect(head.ContentLength).toBe(Buffer.byteLength(objects['runs/a/rows.csv']));

    for (const [Key, body] of Object.entries(objects)) {
      expect((await getBytes(s3, bucket, Key)).toString('utf8')).toBe(body);
    }

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'runs/a/' }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(['runs/a/params.json', 'runs/a/rows.csv']);
    expect(listed.KeyCount).toBe(2);

    const delimited = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'runs/', Delimiter: '/' }));
    expect((delimited.CommonPrefixes ?? []).map((p) => p.Prefix).sort()).toEqual(['runs/a/', 'runs/b/']);
  });

  it('assembles a multipart upload of two 5 MiB parts and a remainder', async () => {
    const Key = 'multipart/blob.bin';
    const parts = [pattern(5 * MiB, 1), pattern(5 * MiB, 2), pattern(MiB + 12345, 3)];
    const whole = Buffer.concat(parts);

    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
    const UploadId = created.UploadId;
    if (UploadId === undefined) throw new Error('CreateMultipartUpload returned no UploadId');
    const uploaded = [];
    for (const [i, Body] of parts.entries()) {
      const res = await s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: i + 1, Body }));
      expect(res.ETag).toBeDefined();
      uploaded.push({ PartNumber: i + 1, ETag: res.ETag });
    }
    const done = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts: uploaded } }),
    );
    keys.push(Key);
    // A multipart ETag is the digest of the part digests, suffixed with the part count.
    expect(done.ETag).toMatch(/-3"?$/);

    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key }));
    expect(head.ContentLength).toBe(whole.length);
    const got = await getBytes(s3, bucket, Key);
    expect(got.length).toBe(whole.length);
    expect(sha256(got)).toBe(sha256(whole));
  });
});

/**
 * The transform stage on the real stack: `vgmflow produce` a 1000-row slice of the sample,
 * `vgmflow fit --all-stages` it, run the transform stage, then check the transformed topic
 * (read_committed, decoded with Confluent's AvroDeserializer) and the Arrow files on S3
 * against RowEncoder's encoding of the same rows with the same row ids, bit for bit.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { AvroDeserializer, SerdeType, type SchemaRegistryClient } from '@confluentinc/schemaregistry';
import { tableFromIPC, type Vector } from 'apache-arrow';
import { main } from '../../pipeline/cli/main';
import { loadModelFile } from '../../pipeline/jobs/model-file';
import { readTopicToEnd } from '../../pipeline/runners/read-topic';
import { runTransform, transformedTopicName, type TransformHandle } from '../../stages/transform/transform-stage';
import { encodeTransformedArrow, transformContext, transformRowBatch, transformedObjectKey } from '../../stages/transform/transform-batch';
import type { CellValue } from '../../stages/transformer/column-summary';
import { RowDecoder } from '../../stages/transformer/decoder';
import { RowEncoder } from '../../stages/transformer/encoder';
import { transformFile } from '../../pipeline/jobs/transform-file';
import type { TransformerModel } from '../../stages/transformer/model';
import type { RowId } from '../../stages/transformer/row-id';
import { decodeDeadLetter } from '../../topics/dead-letter';
import { KafkaTransport } from '../../topics/kafka-transport';
import { encodeModelRecord } from '../../topics/model-record';
import { RowBatchBuilder, rowBatchKey, type RowBatch } from '../../topics/row-batch';
import { encodeRowBatch } from '../../topics/row-batch-codec';
import { stageGroup, topicNames, topicSpecs } from '../../topics/topology';
import { numericColumnFields, sanitizeAvroName, transformedSchema, type TransformedValue } from '../../topics/transformed-schema';
import { cellsOf, quietly, SAMPLE, SAMPLE_COLUMNS } from '../support/sample';
import { s3Client, schemaRegistryClient, stackConfig, uniqueName } from '../support/stack';

jest.setTimeout(300_000);

const ROOT = join(__dirname, '..', '..');
const COLUMNS = SAMPLE_COLUMNS;
const ROWS = 1000;

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

async function until(what: string, check: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('transform-batch (pure)', () => {
  it('sanitises column names to Avro names and keeps them unique', () => {
    expect(sanitizeAvroName('Amount')).toBe('Amount');
    expect(sanitizeAvroName('Tip %')).toBe('Tip__');
    expect(sanitizeAvroName('2nd')).toBe('_2nd');
    expect(sanitizeAvroName('')).toBe('_');
    const names = (...columns: string[]): string[][] =>
      numericColumnFields({ columns: columns.map((name) => ({ name, type: 'continuous' })) } as unknown as TransformerModel).map((f) => [f.alpha, f.mode]);
    expect(names('a b', 'a_b', 'a-b')).toEqual([
      ['a_b_alpha', 'a_b_mode'],
      ['a_b_2_alpha', 'a_b_2_mode'],
      ['a_b_3_alpha', 'a_b_3_mode'],
    ]);
    // A column named like a fixed field's stem still gets distinct fields.
    expect(names('row_id', 'vector', 'x_alpha')).toEqual([
      ['row_id_alpha', 'row_id_mode'],
      ['vector_alpha', 'vector_mode'],
      ['x_alpha_alpha', 'x_alpha_mode'],
    ]);
  });
});

describe('transform stage on Kafka', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgm-transform-'));
  const prefix = uniqueName('kt');
  const topics = topicNames(prefix);
  const transformed = transformedTopicName(prefix);
  const bucket = uniqueName('kt-arrow');
  const job = `job-${prefix}`;
  const brokers = stackConfig().kafkaBrokers.join(',');
  const lines = readFileSync(SAMPLE, 'utf8').split('\n').slice(1, ROWS + 1);
  let transport: KafkaTransport;
  let registry: SchemaRegistryClient;
  let model: TransformerModel;
  let handle: TransformHandle | null = null;
  const logs: string[] = [];

  beforeAll(async () => {
    const input = join(dir, 'slice.csv');
    writeFileSync(input, `Amount,Tip,Network,Merchant\n${lines.join('\n')}\n`);
    const modelPath = join(dir, 'm.json');
    const fit = ['fit', '--brokers', brokers, '--topic-prefix', prefix, '--all-stages', '--model', modelPath, '--columns', COLUMNS, '--job', job];
    expect(await quietly(() => main(['produce', input, '--brokers', brokers, '--topic-prefix', prefix]))).toBe(0);
    expect(await quietly(() => main(fit))).toBe(0);
    model = await loadModelFile(modelPath);
    transport = new KafkaTransport({ brokers: stackConfig().kafkaBrokers, clientId: 'kt-test', log: (l) => logs.push(l) });
    registry = schemaRegistryClient();
    const s3 = s3Client();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    handle = await runTransform({
      transport,
      topics,
      transformedTopic: transformed,
      modelName: 'default',
      registry,
      s3: { client: s3, bucket, prefix: 'vgmflow/transformed' },
      // Small, so that large RecordBatches are split into several transactions too.
      maxTransactionRows: 100,
      log: (l) => logs.push(l),
    });
    await handle.started;
    const h = handle;
    await until('every row transformed', () => h.stats().rows + h.stats().deadLettered >= ROWS);
  });

  afterAll(async () => {
    await handle?.stop();
    await transport?.close();
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers vgmflow.Transformed under the topic value subject', async () => {
    const latest = await registry.getLatestSchemaMetadata(`${transformed}-value`);
    expect(JSON.parse(latest.schema)).toEqual(JSON.parse(JSON.stringify(transformedSchema(model))));
    expect(numericColumnFields(model).map((f) => [f.alpha, f.mode])).toEqual([
      ['Amount_alpha', 'Amount_mode'],
      ['Tip_alpha', 'Tip_mode'],
    ]);
  });

  it('writes every input row exactly once, bit-exact to RowEncoder, and it decodes back', async () => {
    // The input rows with their source row ids, from the rows topic itself.
    const input = new Map<string, { id: RowId; cells: CellValue[] }>();
    for (const r of await readTopicToEnd(transport, topics.rows)) {
      const text = Buffer.from(r.value).toString('utf8').replace(/\n+$/, '');
      text.split('\n').forEach((line, sub) => {
        input.set(`${r.partition}:${r.offset}:${sub}`, { id: { source: r.partition, index: r.offset, sub }, cells: cellsOf(line) });
      });
    }
    expect(input.size).toBe(ROWS);

    const records = await readTopicToEnd(transport, transformed);
    const deserializer = new AvroDeserializer(registry, SerdeType.VALUE, {});
    const encoder = new RowEncoder(model);
    const decoder = new RowDecoder(model);
    const fields = numericColumnFields(model);
    const seen = new Set<string>();
    for (const record of records) {
      const key = record.key as string;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
      const row = input.get(key);
      if (row === undefined) throw new Error(`unexpected key ${key}`);
      expect(record.partition).toBe(row.id.source);
      const value = (await deserializer.deserialize(transformed, Buffer.from(record.value))) as TransformedValue;
      expect(value.row_id).toEqual({ source_partition: row.id.source, source_offset: row.id.index, row_in_message: row.id.sub });
      expect(value.model_version).toBe(job);
      const expected = encoder.encode(row.cells, row.id);
      expect(sameBits(value.vector, expected.vector)).toBe(true);
      fields.forEach((f) => {
        const e = expected.numeric[f.column];
        expect(Object.is(value[f.alpha], e?.alpha)).toBe(true);
        expect(value[f.mode]).toBe(e?.mode);
      });
      const decoded = decoder.decode(value.vector);
      decoded.forEach((x, c) => {
        const want = row.cells[c] as CellValue;
        if (typeof want === 'number') expect(Math.abs((x as number) - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
        else expect(x).toBe(want);
      });
    }
    expect(seen.size).toBe(ROWS);
    expect([...seen].sort()).toEqual([...input.keys()].sort());
    // Nothing was rejected on the way.
    expect(await readTopicToEnd(transport, topics.deadLetters, 1000)).toHaveLength(0);
    expect(handle?.stats().deadLettered).toBe(0);

    // The Arrow files on S3 hold the same rows and vectors.
    const s3 = s3Client();
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `vgmflow/transformed/${job}/` }));
    const keys = (listed.Contents ?? []).map((o) => o.Key as string);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k).toMatch(new RegExp(`^vgmflow/transformed/${job}/part-\\d+-\\d+\\.arrow$`));
    const inFiles = new Set<string>();
    for (const k of keys) {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
      const table = tableFromIPC(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
      const col = (name: string): Vector => {
        const v = table.getChild(name);
        if (v === null) throw new Error(`no column ${name} in ${k}`);
        return v as Vector;
      };
      for (let i = 0; i < table.numRows; i++) {
        const id: RowId = { source: col('source_partition').get(i) as number, index: Number(col('source_offset').get(i) as bigint), sub: col('row_in_message').get(i) as number };
        const key = `${id.source}:${id.index}:${id.sub}`;
        expect(inFiles.has(key)).toBe(false);
        inFiles.add(key);
        const row = input.get(key);
        if (row === undefined) throw new Error(`unexpected row ${key} in ${k}`);
        expect(col('model_version').get(i)).toBe(job);
        const vector = col('vector').get(i) as Vector;
        const expected = encoder.encode(row.cells, row.id);
        expect(sameBits(vector.toArray() as Float64Array, expected.vector)).toBe(true);
        fields.forEach((f) => {
          expect(Object.is(col(f.alpha).get(i), expected.numeric[f.column]?.alpha)).toBe(true);
          expect(col(f.mode).get(i)).toBe(expected.numeric[f.column]?.mode);
        });
      }
    }
    expect(inFiles.size).toBe(ROWS);
    s3.destroy();
  });

  it('writes the same vectors as the embedded transform of the same file', async () => {
    const slice = join(dir, 'slice.csv');
    const encodedPath = join(dir, 'embedded-encoded.csv');
    await transformFile({ input: slice, model, output: encodedPath });
    const embedded = readFileSync(encodedPath, 'utf8').trim().split('\n').slice(1);
    expect(embedded).toHaveLength(ROWS);
    const byKey = new Map<string, number[]>();
    const deserializer = new AvroDeserializer(registry, SerdeType.VALUE, {});
    for (const record of await readTopicToEnd(transport, transformed)) {
      const value = (await deserializer.deserialize(transformed, Buffer.from(record.value))) as TransformedValue;
      byKey.set(record.key as string, value.vector);
    }
    embedded.forEach((line, n) => {
      // `vgmflow produce` put data row n at partition n mod 6, offset ⌊n/6⌋ of a new topic.
      const kafka = byKey.get(`${n % 6}:${Math.floor(n / 6)}:0`);
      if (kafka === undefined) throw new Error(`row ${n} is not on the transformed topic`);
      expect(sameBits(line.split(',').map(Number), kafka)).toBe(true);
    });
  });

  it('takes a newer model without a restart and dead-letters rows it cannot encode', async () => {
    const h = handle as TransformHandle;
    const producer = await transport.producer();
    // A new version of the same model (same parameters, new job id).
    await producer.send([{ topic: topics.models, key: 'default', value: encodeModelRecord({ job: `${job}-v2`, modelName: 'default', model }) }]);
    await until('the new model version', () => h.stats().modelVersion === `${job}-v2`, 60_000);
    // A hand-made row batch past everything ingest covered: one good row, one unseen category.
    const ends = await transport.endOffsets(topics.rows);
    const builder = new RowBatchBuilder(
      model.columns.map((c) => (c.type === 'mixed' ? { name: c.name, type: c.type, modalValues: c.modalValues } : { name: c.name, type: c.type })),
      topics.rows,
      0,
    );
    const base = (ends[0] as number) + 1000;
    builder.add(base, 0, cellsOf(lines[0] as string));
    builder.add(base, 1, [12.5, 0, 'no-such-network', '5812']);
    const batch = builder.build();
    const before = h.stats();
    await producer.send([{ topic: topics.batches, partition: 0, key: rowBatchKey(batch), value: encodeRowBatch(batch) }]);
    await producer.close();
    await until('the extra batch', () => h.stats().transactions > before.transactions, 60_000);

    const records = (await readTopicToEnd(transport, transformed)).filter((r) => r.key === `0:${base}:0`);
    expect(records).toHaveLength(1);
    const deserializer = new AvroDeserializer(registry, SerdeType.VALUE, {});
    const value = (await deserializer.deserialize(transformed, Buffer.from((records[0] as { value: Uint8Array }).value))) as TransformedValue;
    expect(value.model_version).toBe(`${job}-v2`);
    expect(sameBits(value.vector, new RowEncoder(model).encode(cellsOf(lines[0] as string), { source: 0, index: base, sub: 0 }).vector)).toBe(true);
    const dead = (await readTopicToEnd(transport, topics.deadLetters)).map((r) => decodeDeadLetter(r.value));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ topic: topics.rows, partition: 0, offset: base, line: 2, column: 'Network' });
    expect(dead[0]?.reason).toContain('no-such-network');

    // The pure parts agree with what went out: the same Arrow bytes for the same rows.
    const ctx = transformContext(model, `${job}-v2`);
    const result = transformRowBatch(ctx, batch);
    expect(result.rows.map((r) => r.key)).toEqual([`0:${base}:0`]);
    expect(result.deadLetters).toHaveLength(1);
    const s3 = s3Client();
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: transformedObjectKey('vgmflow/transformed', `${job}-v2`, batch) }));
    const bytes = await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    expect(Buffer.from(bytes).equals(Buffer.from(encodeTransformedArrow(ctx, result.rows)))).toBe(true);
    s3.destroy();
  });
});

/**
 * Exactly once across a crash: `vgmflow stage transform` as its own process, fed small row
 * batches while it runs, SIGKILLed mid-way and restarted (same transactional id); every row is
 * then in the transformed topic exactly once (read_committed) and in exactly one S3 file.
 */
describe('vgmflow stage transform, SIGKILLed and restarted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgm-transform-kill-'));
  const build = join(dir, 'build');
  const prefix = uniqueName('ktk');
  const topics = topicNames(prefix);
  const transformed = transformedTopicName(prefix);
  const bucket = uniqueName('ktk-arrow');
  const lines = readFileSync(SAMPLE, 'utf8').split('\n').slice(1, ROWS + 1);
  const PARTITIONS = 6;
  const MESSAGES_PER_BATCH = 3;
  let transport: KafkaTransport;
  let model: TransformerModel;
  const children: ChildProcess[] = [];

  /** Row i: partition i mod 6, source offset ⌊i/6⌋, one row per message (as `produce` lays out a fresh topic). */
  const rowIdOf = (i: number): RowId => ({ source: i % PARTITIONS, index: Math.floor(i / PARTITIONS), sub: 0 });

  function rowBatches(): RowBatch[][] {
    const specs = model.columns.map((c) => (c.type === 'mixed' ? { name: c.name, type: c.type, modalValues: c.modalValues } : { name: c.name, type: c.type }));
    const perPartition: RowBatch[][] = [];
    for (let p = 0; p < PARTITIONS; p++) {
      const batches: RowBatch[] = [];
      let builder = new RowBatchBuilder(specs, topics.rows, p);
      let from = 0;
      for (let i = p; i < lines.length; i += PARTITIONS) {
        const id = rowIdOf(i);
        builder.add(id.index, id.sub, cellsOf(lines[i] as string));
        if (builder.length === MESSAGES_PER_BATCH) {
          batches.push(builder.build({ from, to: id.index + 1 }));
          from = id.index + 1;
          builder = new RowBatchBuilder(specs, topics.rows, p);
        }
      }
      if (builder.length > 0) batches.push(builder.build());
      perPartition.push(batches);
    }
    return perPartition;
  }

  function startStage(): { child: ChildProcess; progress: () => number; exited: Promise<number | null>; stderr: () => string } {
    const launcher = `require(${JSON.stringify(join(build, 'pipeline', 'cli', 'main.js'))}).main(process.argv.slice(1)).then((c) => { process.exitCode = c; }, (e) => { console.error(e); process.exitCode = 1; })`;
    const { s3, schemaRegistryUrl, kafkaBrokers } = stackConfig();
    const args = ['stage', 'transform', '--brokers', kafkaBrokers.join(','), '--topic-prefix', prefix, '--registry-url', schemaRegistryUrl, '--s3-bucket', bucket, '--transactional-id', `${prefix}-tx`];
    const child = spawn(process.execPath, ['-e', launcher, ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules'), S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKeyId, S3_SECRET_KEY: s3.secretAccessKey, S3_REGION: s3.region },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let text = '';
    let rows = 0;
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      for (const m of text.matchAll(/\[transform\] (\d+) rows/g)) rows = Math.max(rows, Number(m[1]));
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, progress: () => rows, exited, stderr: () => text };
  }

  beforeAll(async () => {
    // The CLI as users run it, compiled from the current sources into a private directory.
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', build, '--noCheck', '--sourceMap', 'false'], { cwd: ROOT, encoding: 'utf8' });
    if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
    const input = join(dir, 'slice.csv');
    writeFileSync(input, `Amount,Tip,Network,Merchant\n${lines.join('\n')}\n`);
    const modelPath = join(dir, 'm.json');
    expect(await quietly(() => main(['fit', input, '--model', modelPath, '--columns', COLUMNS]))).toBe(0);
    model = await loadModelFile(modelPath);
    transport = new KafkaTransport({ brokers: stackConfig().kafkaBrokers, clientId: 'ktk-test', log: () => undefined });
    await transport.ensureTopics(topicSpecs(topics, PARTITIONS));
    const producer = await transport.producer();
    await producer.send([{ topic: topics.models, key: 'default', value: encodeModelRecord({ job: 'kill-job', modelName: 'default', model }) }]);
    await producer.close();
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await transport?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every row once after a SIGKILL mid-way and a restart', async () => {
    const perPartition = rowBatches();
    const rounds = Math.max(...perPartition.map((b) => b.length));
    const first = startStage();
    // Feed one small row batch per partition at a time while the stage runs.
    const producer = await transport.producer();
    let sent = 0;
    const feeding = (async () => {
      for (let k = 0; k < rounds; k++) {
        const out = perPartition.flatMap((batches, p) => {
          const b = batches[k];
          return b === undefined ? [] : [{ topic: topics.batches, partition: p, key: rowBatchKey(b), value: encodeRowBatch(b) }];
        });
        await producer.send(out);
        sent += out.length;
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    await until('the first process to commit some rows', () => first.progress() >= 60, 120_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const killedAt = first.progress();
    expect(killedAt).toBeLessThan(ROWS);
    const second = startStage();
    await feeding;
    await producer.close();
    expect(sent).toBe(perPartition.reduce((n, b) => n + b.length, 0));
    // Done when the group has committed every batch.
    const ends = await transport.endOffsets(topics.batches);
    const deadline = Date.now() + 180_000;
    for (;;) {
      const committed = await transport.committedOffsets(stageGroup(topics, 'transform'), topics.batches);
      if (ends.every((e, p) => (committed[p] ?? -1) >= e)) break;
      if (Date.now() > deadline) throw new Error(`not all committed: ${committed.join(',')} of ${ends.join(',')}\n${second.stderr()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const encoder = new RowEncoder(model);
    const expected = new Map<string, Float64Array>();
    lines.forEach((line, i) => {
      const id = rowIdOf(i);
      expected.set(`${id.source}:${id.index}:${id.sub}`, encoder.encode(cellsOf(line), id).vector);
    });
    const registry = schemaRegistryClient();
    const deserializer = new AvroDeserializer(registry, SerdeType.VALUE, {});
    const seen = new Set<string>();
    for (const record of await readTopicToEnd(transport, transformed)) {
      const key = record.key as string;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
      const value = (await deserializer.deserialize(transformed, Buffer.from(record.value))) as TransformedValue;
      expect(sameBits(value.vector, expected.get(key) ?? [])).toBe(true);
    }
    await registry.close();
    expect(seen.size).toBe(ROWS);

    // One Arrow file per row batch, each row in exactly one of them.
    const s3 = s3Client();
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'vgmflow/transformed/kill-job/', ContinuationToken: token }));
      keys.push(...(listed.Contents ?? []).map((o) => o.Key as string));
      token = listed.IsTruncated === true ? listed.NextContinuationToken : undefined;
    } while (token !== undefined);
    expect(keys.length).toBe(sent);
    const inFiles = new Set<string>();
    for (const k of keys) {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
      const table = tableFromIPC(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
      const get = (name: string, i: number): unknown => table.getChild(name)?.get(i);
      for (let i = 0; i < table.numRows; i++) {
        const key = `${String(get('source_partition', i))}:${String(get('source_offset', i))}:${String(get('row_in_message', i))}`;
        expect(inFiles.has(key)).toBe(false);
        inFiles.add(key);
        expect(sameBits((get('vector', i) as Vector).toArray() as Float64Array, expected.get(key) ?? [])).toBe(true);
      }
    }
    expect(inFiles.size).toBe(ROWS);
    s3.destroy();
  });
});

/** The side input: batches that arrive before any model wait, unconsumed, until one is published. */
describe('transform stage without a model yet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgm-transform-wait-'));
  const prefix = uniqueName('ktw');
  const topics = topicNames(prefix);
  const transformed = transformedTopicName(prefix);
  const lines = readFileSync(SAMPLE, 'utf8').split('\n').slice(1, 201);
  let transport: KafkaTransport;
  let registry: SchemaRegistryClient;
  let handle: TransformHandle | null = null;

  afterAll(async () => {
    await handle?.stop();
    await transport?.close();
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('consumes nothing until a model is published, then everything', async () => {
    const input = join(dir, 'slice.csv');
    writeFileSync(input, `Amount,Tip,Network,Merchant\n${lines.join('\n')}\n`);
    const modelPath = join(dir, 'm.json');
    expect(await quietly(() => main(['fit', input, '--model', modelPath, '--columns', COLUMNS]))).toBe(0);
    const model = await loadModelFile(modelPath);
    transport = new KafkaTransport({ brokers: stackConfig().kafkaBrokers, clientId: 'ktw-test', log: () => undefined });
    registry = schemaRegistryClient();
    await transport.ensureTopics(topicSpecs(topics, 6));
    const specs = model.columns.map((c) => (c.type === 'mixed' ? { name: c.name, type: c.type, modalValues: c.modalValues } : { name: c.name, type: c.type }));
    const builder = new RowBatchBuilder(specs, topics.rows, 2);
    lines.forEach((line, i) => builder.add(i, 0, cellsOf(line)));
    const batch = builder.build();
    const producer = await transport.producer();
    await producer.send([{ topic: topics.batches, partition: 2, key: rowBatchKey(batch), value: encodeRowBatch(batch) }]);

    handle = await runTransform({ transport, topics, transformedTopic: transformed, registry, modelIdleMs: 500 });
    const h = handle;
    let started = false;
    void h.started.then(() => (started = true));
    await new Promise((r) => setTimeout(r, 4000));
    expect(started).toBe(false);
    expect(h.stats()).toMatchObject({ rows: 0, transactions: 0, modelVersion: null });
    expect((await transport.committedOffsets(stageGroup(topics, 'transform'), topics.batches)).every((o) => o === -1)).toBe(true);
    expect((await transport.endOffsets(transformed)).every((o) => o === 0)).toBe(true);

    // Another model name does not count.
    await producer.send([{ topic: topics.models, key: 'other', value: encodeModelRecord({ job: 'other-1', modelName: 'other', model }) }]);
    await new Promise((r) => setTimeout(r, 2000));
    expect(started).toBe(false);

    await producer.send([{ topic: topics.models, key: 'default', value: encodeModelRecord({ job: 'wait-1', modelName: 'default', model }) }]);
    await producer.close();
    await h.started;
    await until('the waiting batch', () => h.stats().rows >= lines.length, 60_000);
    expect(h.stats()).toMatchObject({ rows: lines.length, deadLettered: 0, modelVersion: 'wait-1' });
    const records = await readTopicToEnd(transport, transformed);
    expect(records).toHaveLength(lines.length);
    expect(new Set(records.map((r) => r.key)).size).toBe(lines.length);
    expect(records.every((r) => r.partition === 2)).toBe(true);
  });
});

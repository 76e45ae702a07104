/**
 * The transform stage on the real stack, in both output formats: `vgmflow produce` a 1000-row
 * slice of the sample, `vgmflow fit --all-stages` it, run the transform stage, then check the
 * transformed topic (read_committed; Avro decoded with Confluent's AvroDeserializer, blocks with
 * apache-arrow and, in kafka-blocks-python.test.ts, with pyarrow) and the Arrow files on S3
 * against RowEncoder's encoding of the same rows with the same row ids, and against the
 * embedded transform of the same file, bit for bit. Then a SIGKILL mid-run in each format.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { AvroDeserializer, SerdeType, type Client } from '@confluentinc/schemaregistry';
import { tableFromIPC, type Vector } from 'apache-arrow';
import { readTopicToEnd } from '../../pipeline/runners/read-topic';
import { readTopicOnceCommitted } from '../support/committed-reads';
import type { InRecord } from '../../topics/transport';
import { runTransform, type TransformHandle } from '../../stages/transform/transform-stage';
import { blockVectors, transformContext, transformedAvroValues, transformRowBatch, transformedObjectKey } from '../../stages/transform/transform-batch';
import { ARROW_STREAM_CONTENT_TYPE, transformedArrowFile, transformedBlockCodec } from '../../topics/transformed-block';
import { producedRowKeys } from '../support/produced-rows';
import type { CellValue } from '../../core/normalization/column-summary';
import { RowDecoder } from '../../core/normalization/decoder';
import { RowEncoder } from '../../core/normalization/encoder';
import { transformFile } from '../../pipeline/jobs/transform-file';
import type { TransformerModel } from '../../core/normalization/model';
import { specsOfModel } from '../../core/normalization/model-specs';
import type { RowId } from '../../core/normalization/row-id';
import { deadLetterCodec } from '../../topics/dead-letter';
import { KafkaTransport } from '../../topics/kafka';
import { modelRecordCodec } from '../../topics/model-record';
import { RowBatchBuilder, rowBatchKey, type RowBatch } from '../../topics/row-batch';
import { rowBatchCodec } from '../../topics/row-batch-codec';
import { stageGroup, topicNames, topicSpecs } from '../../topics/topology';
import { numericColumnFields, sanitizeAvroName, transformedSchema, type TransformedValue } from '../../topics/transformed-schema';
import { fitSlice, produceAndFitSlice, publishModel, stageProgress, waitForGroupCommit } from '../support/kafka-stages';
import { ensureCliBuilt, Processes, sleep, waitUntil, type Child } from '../support/processes';
import { cellsOf, expectCellsClose, sampleLines } from '../support/sample';
import { s3Client, schemaRegistryClient, stackConfig, uniqueName } from '../support/stack';

jest.setTimeout(300_000);

const ROWS = 1000;

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
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

const MAX_MESSAGE_BYTES = 2048;

describe('transform stage on Kafka', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgm-transform-'));
  const prefix = uniqueName('kt');
  const topics = topicNames(prefix);
  const transformed = topicNames(prefix).transformed;
  const bucket = uniqueName('kt-arrow');
  const job = `job-${prefix}`;
  const lines = sampleLines(ROWS);
  let transport: KafkaTransport;
  let registry: Client;
  let model: TransformerModel;
  let handle: TransformHandle | null = null;
  const logs: string[] = [];

  beforeAll(async () => {
    // Messages of up to 2 KB, so the slice spreads over the six partitions as a large file does.
    model = await produceAndFitSlice(dir, lines, prefix, job, ['--max-message-bytes', String(MAX_MESSAGE_BYTES)]);
    transport = new KafkaTransport({ brokers: stackConfig().kafkaBrokers, clientId: 'kt-test', log: (l) => logs.push(l) });
    registry = schemaRegistryClient();
    const s3 = s3Client();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    handle = await runTransform({
      transport,
      topics,
      transformedTopic: transformed,
      modelName: 'default',
      outputFormat: 'avro',
      registry,
      s3: { client: s3, bucket, prefix: 'vgmflow/transformed' },
      // Small, so that large RecordBatches are split into several transactions too.
      maxTransactionRows: 100,
      log: (l) => logs.push(l),
    });
    await handle.started;
    const h = handle;
    await waitUntil(() => h.stats().rows + h.stats().deadLettered >= ROWS, 'every row transformed', 120_000, undefined, h.done);
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
        input.set(`${r.partition}:${r.offset}:${sub}`, { id: { partition: r.partition, offset: r.offset, rowInMessage: sub }, cells: cellsOf(line) });
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
      expect(record.partition).toBe(row.id.partition);
      const value = (await deserializer.deserialize(transformed, Buffer.from(record.value))) as TransformedValue;
      expect(value.row_id).toEqual({ source_partition: row.id.partition, source_offset: row.id.offset, row_in_message: row.id.rowInMessage });
      expect(value.model_version).toBe(job);
      const expected = encoder.encode(row.cells, row.id);
      expect(sameBits(value.vector, expected.vector)).toBe(true);
      fields.forEach((f) => {
        const e = expected.numeric[f.column];
        expect(Object.is(value[f.alpha], e?.alpha)).toBe(true);
        expect(value[f.mode]).toBe(e?.mode);
      });
      expectCellsClose(decoder.decode(value.vector), row.cells, `row ${key}`);
    }
    expect(seen.size).toBe(ROWS);
    expect([...seen].sort()).toEqual([...input.keys()].sort());
    // Nothing was rejected on the way.
    expect(await readTopicToEnd(transport, topics.deadLetters)).toHaveLength(0);
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
        const id: RowId = { partition: col('source_partition').get(i) as number, offset: Number(col('source_offset').get(i) as bigint), rowInMessage: col('row_in_message').get(i) as number };
        const key = `${id.partition}:${id.offset}:${id.rowInMessage}`;
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
    await transformFile({ input: slice, model, output: encodedPath, messageLimits: { maxMessageBytes: MAX_MESSAGE_BYTES } });
    const embedded = readFileSync(encodedPath, 'utf8').trim().split('\n').slice(1);
    expect(embedded).toHaveLength(ROWS);
    const byKey = new Map<string, number[]>();
    const deserializer = new AvroDeserializer(registry, SerdeType.VALUE, {});
    for (const record of await readTopicToEnd(transport, transformed)) {
      const value = (await deserializer.deserialize(transformed, Buffer.from(record.value))) as TransformedValue;
      byKey.set(record.key as string, value.vector);
    }
    // Where `vgmflow produce` put data row n (whole rows up to the bound, six partitions).
    const keys = producedRowKeys(lines, { maxMessageBytes: MAX_MESSAGE_BYTES });
    const partitions = new Set(keys.map((key) => key.split(':')[0]));
    embedded.forEach((line, n) => {
      const kafka = byKey.get(keys[n] as string);
      if (kafka === undefined) throw new Error(`row ${n} is not on the transformed topic`);
      expect(sameBits(line.split(',').map(Number), kafka)).toBe(true);
    });
    expect(partitions.size).toBe(6);
  });

  it('takes a newer model without a restart and dead-letters rows it cannot encode', async () => {
    const h = handle as TransformHandle;
    const producer = await transport.producer();
    // A new version of the same model (same parameters, new job id).
    await producer.send([{ topic: topics.models, key: 'default', value: modelRecordCodec.encode({ job: `${job}-v2`, modelName: 'default', model }) }]);
    await waitUntil(() => h.stats().modelVersion === `${job}-v2`, 'the new model version', 60_000, undefined, h.done);
    // A hand-made row batch past everything ingest covered: one good row, one unseen category.
    const ends = await transport.endOffsets(topics.rows);
    const builder = new RowBatchBuilder(specsOfModel(model), topics.rows, 0);
    const base = (ends[0] as number) + 1000;
    builder.add(base, 0, cellsOf(lines[0] as string));
    builder.add(base, 1, [12.5, 0, 'no-such-network', '5812']);
    const batch = builder.build();
    const before = h.stats();
    await producer.send([{ topic: topics.batches, partition: 0, key: rowBatchKey(batch), value: rowBatchCodec.encode(batch) }]);
    await producer.close();
    await waitUntil(() => h.stats().transactions > before.transactions, 'the extra batch', 60_000, undefined, h.done);

    const isExtra = (r: InRecord): boolean => r.key === `0:${base}:0`;
    const records = (await readTopicOnceCommitted(transport, transformed, (all) => all.some(isExtra), 'the extra row')).filter(isExtra);
    expect(records).toHaveLength(1);
    const deserializer = new AvroDeserializer(registry, SerdeType.VALUE, {});
    const value = (await deserializer.deserialize(transformed, Buffer.from((records[0] as { value: Uint8Array }).value))) as TransformedValue;
    expect(value.model_version).toBe(`${job}-v2`);
    expect(sameBits(value.vector, new RowEncoder(model).encode(cellsOf(lines[0] as string), { partition: 0, offset: base, rowInMessage: 0 }).vector)).toBe(true);
    const dead = (await readTopicOnceCommitted(transport, topics.deadLetters, (all) => all.length >= 1, 'the dead letter')).map((r) => deadLetterCodec.decode(r.value));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ topic: topics.rows, partition: 0, offset: base, line: 2, column: 'Network' });
    expect(dead[0]?.reason).toContain('no-such-network');

    // The pure parts agree with what went out: the same Arrow bytes for the same rows.
    const ctx = transformContext(model, `${job}-v2`);
    const result = transformRowBatch(ctx, batch);
    expect(transformedAvroValues(ctx, result.block).map((r) => r.key)).toEqual([`0:${base}:0`]);
    expect(result.deadLetters).toHaveLength(1);
    const s3 = s3Client();
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: transformedObjectKey('vgmflow/transformed', `${job}-v2`, batch) }));
    const bytes = await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    expect(Buffer.from(bytes).equals(Buffer.from(transformedArrowFile(result.block)))).toBe(true);
    s3.destroy();
  });

  it('writes a row batch of 200 000 rows as 200 000 Avro records', async () => {
    // Ingest's row batches hold up to 50 000 rows; a spread of one batch's records once
    // overflowed the call stack here (`vgmflow: Maximum call stack size exceeded`).
    const h = handle as TransformHandle;
    const ROWS_IN_BATCH = 200_000;
    const ends = await transport.endOffsets(topics.rows);
    const base = (ends[1] as number) + 5000;
    const builder = new RowBatchBuilder(specsOfModel(model), topics.rows, 1);
    const messages = ROWS_IN_BATCH / 1000;
    for (let m = 0; m < messages; m++) for (let r = 0; r < 1000; r++) builder.add(base + m, r, cellsOf(lines[(m * 1000 + r) % lines.length] as string));
    const batch = builder.build();
    const before = h.stats();
    const producer = await transport.producer();
    await producer.send([{ topic: topics.batches, partition: 1, key: rowBatchKey(batch), value: rowBatchCodec.encode(batch) }]);
    await producer.close();
    await waitUntil(() => h.stats().rows >= before.rows + ROWS_IN_BATCH, 'the large batch', 120_000, () => logs.slice(-5).join('\n'), h.done);
    expect(h.stats().rows - before.rows).toBe(ROWS_IN_BATCH);
    const isLarge = (r: InRecord): boolean => /^1:(\d+):/.test(r.key ?? '') && Number((r.key as string).split(':')[1]) >= base;
    const records = (await readTopicOnceCommitted(transport, transformed, (all) => all.filter(isLarge).length >= ROWS_IN_BATCH, 'the large batch\'s records')).filter(isLarge);
    expect(records).toHaveLength(ROWS_IN_BATCH);
    expect(new Set(records.map((r) => r.key)).size).toBe(ROWS_IN_BATCH);
    // Its last row, bit-exact to RowEncoder.
    const last = records.find((r) => r.key === `1:${base + messages - 1}:999`) as InRecord;
    const value = (await new AvroDeserializer(registry, SerdeType.VALUE, {}).deserialize(transformed, Buffer.from(last.value))) as TransformedValue;
    const encoded = new RowEncoder(model).encode(cellsOf(lines[(ROWS_IN_BATCH - 1) % lines.length] as string), { partition: 1, offset: base + messages - 1, rowInMessage: 999 });
    expect(sameBits(value.vector, encoded.vector)).toBe(true);
  });
});

/**
 * Exactly once across a crash, in each output format: `vgmflow stage transform` as its own
 * process, fed small row batches while it runs, SIGKILLed mid-way and restarted (same
 * transactional id); every row is then in the transformed topic exactly once (read_committed:
 * one Avro record, or one row of one block, encoded on two worker threads) and in exactly one S3
 * file, bit-exact to RowEncoder.
 */
describe.each(['avro', 'block'] as const)('vgmflow stage transform --output-format %s, SIGKILLed and restarted', (format) => {
  const dir = mkdtempSync(join(tmpdir(), `vgm-transform-kill-${format}-`));
  const prefix = uniqueName(`ktk-${format}`);
  const topics = topicNames(prefix);
  const transformed = topicNames(prefix).transformed;
  const bucket = uniqueName(`ktk-${format}-arrow`);
  const lines = sampleLines(ROWS);
  const PARTITIONS = 6;
  const MESSAGES_PER_BATCH = 3;
  const stack = stackConfig();
  // The stage takes its S3 endpoint and credentials from the environment.
  const procs = new Processes({
    logDir: join(dir, 'logs'),
    env: { S3_ENDPOINT: stack.s3.endpoint, S3_ACCESS_KEY: stack.s3.accessKeyId, S3_SECRET_KEY: stack.s3.secretAccessKey, S3_REGION: stack.s3.region },
  });
  let transport: KafkaTransport;
  let model: TransformerModel;

  /** Row i: partition i mod 6, source offset ⌊i/6⌋, one row per message (as `produce` lays out a fresh topic). */
  const rowIdOf = (i: number): RowId => ({ partition: i % PARTITIONS, offset: Math.floor(i / PARTITIONS), rowInMessage: 0 });

  function rowBatches(): RowBatch[][] {
    const specs = specsOfModel(model);
    const perPartition: RowBatch[][] = [];
    for (let p = 0; p < PARTITIONS; p++) {
      const batches: RowBatch[] = [];
      let builder = new RowBatchBuilder(specs, topics.rows, p);
      let from = 0;
      for (let i = p; i < lines.length; i += PARTITIONS) {
        const id = rowIdOf(i);
        builder.add(id.offset, id.rowInMessage, cellsOf(lines[i] as string));
        if (builder.length === MESSAGES_PER_BATCH) {
          batches.push(builder.build({ from, to: id.offset + 1 }));
          from = id.offset + 1;
          builder = new RowBatchBuilder(specs, topics.rows, p);
        }
      }
      if (builder.length > 0) batches.push(builder.build());
      perPartition.push(batches);
    }
    return perPartition;
  }

  const startStage = (): Child =>
    procs.spawn('transform', [
      'stage', 'transform', '--brokers', stack.kafkaBrokers.join(','), '--topic-prefix', prefix, '--output-format', format,
      '--registry-url', stack.schemaRegistryUrl, '--s3-bucket', bucket, '--transactional-id', `${prefix}-tx`,
      // Blocks are encoded on worker threads here: the same bits as in the stage's thread.
      ...(format === 'block' ? ['--encode-threads', '2'] : []),
    ]);
  const rowsOf = (child: Child): number => stageProgress(child, 'transform').rows;

  beforeAll(async () => {
    // The CLI as users run it: bin/vgmflow.js over dist/, rebuilt first if a source is newer.
    ensureCliBuilt();
    model = await fitSlice(dir, lines);
    transport = new KafkaTransport({ brokers: stack.kafkaBrokers, clientId: 'ktk-test', log: () => undefined });
    await transport.ensureTopics(topicSpecs(topics, PARTITIONS));
    await publishModel(transport, topics.models, 'kill-job', model);
  });

  afterAll(async () => {
    await procs.killAll();
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
          return b === undefined ? [] : [{ topic: topics.batches, partition: p, key: rowBatchKey(b), value: rowBatchCodec.encode(b) }];
        });
        await producer.send(out);
        sent += out.length;
        await sleep(150);
      }
    })();
    await waitUntil(() => rowsOf(first) >= 60, 'the first process to commit some rows', 120_000, () => first.describe());
    await first.kill('SIGKILL');
    const killedAt = rowsOf(first);
    expect(killedAt).toBeLessThan(ROWS);
    const second = startStage();
    await feeding;
    await producer.close();
    expect(sent).toBe(perPartition.reduce((n, b) => n + b.length, 0));
    // Done when the group has committed every batch.
    const ends = await transport.endOffsets(topics.batches);
    await waitForGroupCommit(transport, stageGroup(topics, 'transform'), topics.batches, ends, 180_000, () => second.describe());
    expect(await second.kill('SIGTERM')).toEqual({ code: 0, signal: null });

    const encoder = new RowEncoder(model);
    const expected = new Map<string, Float64Array>();
    lines.forEach((line, i) => {
      const id = rowIdOf(i);
      expected.set(`${id.partition}:${id.offset}:${id.rowInMessage}`, encoder.encode(cellsOf(line), id).vector);
    });
    const registry = schemaRegistryClient();
    const deserializer = new AvroDeserializer(registry, SerdeType.VALUE, {});
    const seen = new Set<string>();
    const see = (key: string, vector: ArrayLike<number>): void => {
      expect(seen.has(key)).toBe(false);
      seen.add(key);
      expect(sameBits(vector, expected.get(key) ?? [])).toBe(true);
    };
    for (const record of await readTopicToEnd(transport, transformed)) {
      if (format === 'avro') {
        const value = (await deserializer.deserialize(transformed, Buffer.from(record.value))) as TransformedValue;
        see(record.key as string, value.vector);
        continue;
      }
      expect(record.headers['content-type']).toBe(ARROW_STREAM_CONTENT_TYPE);
      const block = transformedBlockCodec.decode(record.value);
      const vectors = blockVectors(block);
      const width = block.layout.width;
      const ids = block.rows.rowIds;
      for (let i = 0; i < block.rows.length; i++) {
        see(`${ids.partition[i]}:${ids.offset[i]}:${ids.rowInMessage[i]}`, vectors.subarray(i * width, (i + 1) * width));
      }
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
  const transformed = topicNames(prefix).transformed;
  const lines = sampleLines(200);
  let transport: KafkaTransport;
  let registry: Client;
  let handle: TransformHandle | null = null;

  afterAll(async () => {
    await handle?.stop();
    await transport?.close();
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('consumes nothing until a model is published, then everything', async () => {
    const model = await fitSlice(dir, lines);
    transport = new KafkaTransport({ brokers: stackConfig().kafkaBrokers, clientId: 'ktw-test', log: () => undefined });
    registry = schemaRegistryClient();
    await transport.ensureTopics(topicSpecs(topics, 6));
    const builder = new RowBatchBuilder(specsOfModel(model), topics.rows, 2);
    lines.forEach((line, i) => builder.add(i, 0, cellsOf(line)));
    const batch = builder.build();
    const producer = await transport.producer();
    await producer.send([{ topic: topics.batches, partition: 2, key: rowBatchKey(batch), value: rowBatchCodec.encode(batch) }]);

    handle = await runTransform({ transport, topics, transformedTopic: transformed, registry, modelIdleMs: 500 });
    const h = handle;
    let started = false;
    void h.started.then(() => (started = true));
    await sleep(4000);
    expect(started).toBe(false);
    expect(h.stats()).toMatchObject({ rows: 0, transactions: 0, modelVersion: null });
    expect((await transport.committedOffsets(stageGroup(topics, 'transform'), topics.batches)).every((o) => o === -1)).toBe(true);
    expect((await transport.endOffsets(transformed)).every((o) => o === 0)).toBe(true);

    // Another model name does not count.
    await producer.send([{ topic: topics.models, key: 'other', value: modelRecordCodec.encode({ job: 'other-1', modelName: 'other', model }) }]);
    await sleep(2000);
    expect(started).toBe(false);

    await producer.send([{ topic: topics.models, key: 'default', value: modelRecordCodec.encode({ job: 'wait-1', modelName: 'default', model }) }]);
    await producer.close();
    await h.started;
    await waitUntil(() => h.stats().rows >= lines.length, 'the waiting batch', 60_000, undefined, h.done);
    expect(h.stats()).toMatchObject({ rows: lines.length, deadLettered: 0, modelVersion: 'wait-1' });
    // The default format: one block for the one row batch.
    const records = await readTopicOnceCommitted(transport, transformed, (all) => all.length >= 1, 'the block');
    expect(records).toHaveLength(1);
    expect(records.every((r) => r.partition === 2)).toBe(true);
    const block = transformedBlockCodec.decode((records[0] as { value: Uint8Array }).value);
    expect(block.layout.modelVersion).toBe('wait-1');
    expect(block.rows.length).toBe(lines.length);
    expect(new Set(Array.from(block.rows.rowIds.offset)).size).toBe(lines.length);
  });
});

/**
 * The block format on the real stack: `vgmflow produce` a 1000-row slice of the sample,
 * `vgmflow fit --all-stages` it, run the transform stage (default format: blocks, here with the
 * research-layout vector), then:
 *   - every row is in exactly one block (read_committed), bit-exact to RowEncoder's encoding of
 *     the same cells with the same row id, and to the embedded transform of the same file;
 *   - the Arrow files on S3 hold the same rows;
 *   - an independent reader, assets/examples/read_blocks.py (pyarrow + confluent-kafka from the
 *     pinned venv of assets/examples/setup-venv.sh, no vgmflow code), gets exactly the rows of
 *     the embedded transform: the count, unique row ids, equal values;
 *   - the inverse stage reads the blocks (and a CSV message, and bad input) and writes decoded
 *     blocks: every row back to its input, bad input dead-lettered with reasons.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { tableFromIPC, type Vector } from 'apache-arrow';
import { readTopicToEnd } from '../../pipeline/runners/read-topic';
import { readTopicOnceCommitted } from '../support/committed-reads';
import { transformFile } from '../../pipeline/jobs/transform-file';
import { runInverse, type InverseHandle } from '../../stages/inverse/inverse-stage';
import { blockVectors } from '../../stages/transform/transform-batch';
import { runTransform, type TransformHandle } from '../../stages/transform/transform-stage';
import type { CellValue } from '../../core/normalization/column-summary';
import { RowEncoder } from '../../core/normalization/encoder';
import { columnOffsets } from '../../core/normalization/layout';
import type { TransformerModel } from '../../core/normalization/model';
import { rowIdKey, type RowId } from '../../core/normalization/row-id';
import { producedRowKeys } from '../support/produced-rows';
import { deadLetterCodec } from '../../topics/dead-letter';
import { decodedBlockCodec } from '../../topics/decoded-block';
import { KafkaTransport } from '../../topics/kafka';
import { topicNames } from '../../topics/topology';
import { ARROW_STREAM_CONTENT_TYPE, transformedBlockCodec, type TransformedBlock } from '../../topics/transformed-block';
import type { InRecord } from '../../topics/transport';
import { produceAndFitSlice } from '../support/kafka-stages';
import { waitUntil } from '../support/processes';
import { cellsOf, expectCellsClose, sampleLines } from '../support/sample';
import { s3Client, stackConfig, uniqueName } from '../support/stack';

jest.setTimeout(300_000);

const ROWS = 1000;
const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** Every row of the blocks on `records`, by row id key: the block and the row's index in it. */
function blockRows(records: readonly InRecord[]): Map<string, { block: TransformedBlock; i: number; vector: Float64Array }> {
  const out = new Map<string, { block: TransformedBlock; i: number; vector: Float64Array }>();
  for (const r of records) {
    expect(r.headers['content-type']).toBe(ARROW_STREAM_CONTENT_TYPE);
    const block = transformedBlockCodec.decode(r.value);
    const vectors = blockVectors(block);
    const { width } = block.layout;
    const ids = block.rows.rowIds;
    for (let i = 0; i < block.rows.length; i++) {
      const key = rowIdKey({ partition: ids.partition[i] as number, offset: ids.offset[i] as number, rowInMessage: ids.rowInMessage[i] as number });
      if (out.has(key)) throw new Error(`row ${key} is in two blocks`);
      out.set(key, { block, i, vector: vectors.subarray(i * width, (i + 1) * width) });
    }
  }
  return out;
}

/** Small messages, so the slice spreads over the six partitions as a large file does. */
const MAX_MESSAGE_BYTES = 2048;

describe('the block format on Kafka', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgm-blocks-'));
  const prefix = uniqueName('kb');
  const topics = topicNames(prefix);
  const bucket = uniqueName('kb-arrow');
  const job = `job-${prefix}`;
  const lines = sampleLines(ROWS);
  /** Data row n's row id on Kafka, as a key. */
  const keys = producedRowKeys(lines, { maxMessageBytes: MAX_MESSAGE_BYTES });
  let transport: KafkaTransport;
  let model: TransformerModel;
  let transform: TransformHandle | null = null;
  let inverse: InverseHandle | null = null;
  /** The embedded transform of the same file: data row n's encoded CSV line. */
  let embedded: string[] = [];
  const logs: string[] = [];

  beforeAll(async () => {
    model = await produceAndFitSlice(dir, lines, prefix, job, ['--max-message-bytes', String(MAX_MESSAGE_BYTES)]);
    // lz4 record batches, as the CLI writes blocks by default: the readers below decompress them.
    transport = new KafkaTransport({ brokers: stackConfig().kafkaBrokers, clientId: 'kb-test', compression: 'lz4', log: (l) => logs.push(l) });
    const s3 = s3Client();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    transform = await runTransform({
      transport,
      topics,
      transformedTopic: topics.transformed,
      vector: true,
      s3: { client: s3, bucket, prefix: 'vgmflow/transformed' },
      // Small, so that RecordBatches are split into several transactions (and group commits).
      maxTransactionRows: 100,
      modelIdleMs: 500,
      log: (l) => logs.push(l),
    });
    await transform.started;
    const h = transform;
    await waitUntil(() => h.stats().rows + h.stats().deadLettered >= ROWS, 'every row transformed', 120_000, undefined, h.done);
    const encodedPath = join(dir, 'embedded-encoded.csv');
    await transformFile({ input: join(dir, 'slice.csv'), model, output: encodedPath, messageLimits: { maxMessageBytes: MAX_MESSAGE_BYTES } });
    embedded = readFileSync(encodedPath, 'utf8').trim().split('\n').slice(1);
    expect(embedded).toHaveLength(ROWS);
  });

  afterAll(async () => {
    await inverse?.stop();
    await transform?.stop();
    await transport?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts every input row in exactly one block, bit-exact to RowEncoder, with the model in the metadata and headers', async () => {
    const input = new Map<string, { id: RowId; cells: CellValue[] }>();
    for (const r of await readTopicToEnd(transport, topics.rows)) {
      Buffer.from(r.value)
        .toString('utf8')
        .replace(/\n+$/, '')
        .split('\n')
        .forEach((line, sub) => input.set(`${r.partition}:${r.offset}:${sub}`, { id: { partition: r.partition, offset: r.offset, rowInMessage: sub }, cells: cellsOf(line) }));
    }
    expect(input.size).toBe(ROWS);
    const records = await readTopicToEnd(transport, topics.transformed);
    // One block per row batch of the batches topic (every batch here has rows).
    expect(records.length).toBe((await readTopicToEnd(transport, topics.batches)).length);
    for (const r of records) expect(r.headers).toMatchObject({ 'model-version': job, 'model-name': 'default' });
    const rows = blockRows(records);
    expect([...rows.keys()].sort()).toEqual([...input.keys()].sort());
    const encoder = new RowEncoder(model);
    const offsets = columnOffsets(model);
    for (const [key, { block, i, vector }] of rows) {
      const row = input.get(key) as { id: RowId; cells: CellValue[] };
      expect(block.layout.modelVersion).toBe(job);
      const expected = encoder.encode(row.cells, row.id);
      expect(sameBits(vector, expected.vector)).toBe(true);
      model.columns.forEach((column, c) => {
        const position = (block.rows.position[c] as Int32Array)[i] as number;
        const numeric = expected.numeric[c];
        if (column.type === 'categorical') {
          expect(expected.vector[(offsets[c] as number) + position]).toBe(1);
        } else {
          expect(Object.is((block.rows.alpha[c] as Float64Array)[i], numeric?.alpha)).toBe(true);
          expect(position).toBe(numeric?.mode);
        }
      });
    }
    expect(await readTopicToEnd(transport, topics.deadLetters)).toHaveLength(0);
  });

  it('equals the embedded transform of the same file, bit for bit', async () => {
    const rows = blockRows(await readTopicToEnd(transport, topics.transformed));
    embedded.forEach((line, n) => {
      const row = rows.get(keys[n] as string);
      if (row === undefined) throw new Error(`data row ${n} is not on the transformed topic`);
      expect(sameBits(line.split(',').map(Number), row.vector)).toBe(true);
    });
  });

  it('writes the same rows to the Arrow files on S3', async () => {
    const rows = blockRows(await readTopicToEnd(transport, topics.transformed));
    const s3 = s3Client();
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `vgmflow/transformed/${job}/` }));
    const keys = (listed.Contents ?? []).map((o) => o.Key as string);
    expect(keys.length).toBeGreaterThan(0);
    const seen = new Set<string>();
    for (const k of keys) {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
      const table = tableFromIPC(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
      const col = (name: string): Vector => table.getChild(name) as Vector;
      for (let i = 0; i < table.numRows; i++) {
        const key = rowIdKey({ partition: col('source_partition').get(i) as number, offset: Number(col('source_offset').get(i) as bigint), rowInMessage: col('row_in_message').get(i) as number });
        expect(seen.has(key)).toBe(false);
        seen.add(key);
        const row = rows.get(key);
        if (row === undefined) throw new Error(`row ${key} of ${k} is in no block`);
        expect(col('model_version').get(i)).toBe(job);
        expect(sameBits((col('vector').get(i) as Vector).toArray() as Float64Array, row.vector)).toBe(true);
        expect(Object.is(col('Amount_alpha').get(i), (row.block.rows.alpha[0] as Float64Array)[row.i])).toBe(true);
        expect(col('Network_category').get(i)).toBe(model.columns[2]?.type === 'categorical' ? model.columns[2].categories[(row.block.rows.position[2] as Int32Array)[row.i] as number] : null);
      }
    }
    expect(seen.size).toBe(ROWS);
    s3.destroy();
  });

  it('an independent reader (pyarrow, confluent-kafka read_committed) gets exactly the rows of the embedded transform', async () => {
    const python = execFileSync('bash', [join(ROOT, 'assets', 'examples', 'setup-venv.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    const { stdout } = await run(python, [join(ROOT, 'assets', 'examples', 'read_blocks.py'), '--brokers', stackConfig().kafkaBrokers.join(','), '--topic', topics.transformed, '--json'], {
      timeout: 180_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const got = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(got).toHaveLength(ROWS);
    const byId = new Map(got.map((r) => [rowIdKey({ partition: r.source_partition as number, offset: r.source_offset as number, rowInMessage: r.row_in_message as number }), r]));
    expect(byId.size).toBe(ROWS);
    const offsets = columnOffsets(model);
    embedded.forEach((line, n) => {
      const row = byId.get(keys[n] as string);
      if (row === undefined) throw new Error(`data row ${n} is not among the reader's rows`);
      const vector = line.split(',').map(Number);
      expect(row.model_version).toBe(job);
      expect(sameBits(row.vector as number[], vector)).toBe(true);
      // The columns, not just the vector: alpha and mode per numeric column, index and name per categorical.
      expect(Object.is(row.Amount_alpha, vector[offsets[0] as number])).toBe(true);
      expect(vector[(offsets[0] as number) + 1 + (row.Amount_mode as number)]).toBe(1);
      expect(Object.is(row.Tip_alpha, vector[offsets[1] as number])).toBe(true);
      expect(vector[(offsets[1] as number) + 1 + (row.Tip_mode as number)]).toBe(1);
      expect(vector[(offsets[2] as number) + (row.Network_category as number)]).toBe(1);
      expect(row.Network_category_name).toBe(model.columns[2]?.type === 'categorical' ? model.columns[2].categories[row.Network_category as number] : null);
      expect(vector[(offsets[3] as number) + (row.Merchant_category as number)]).toBe(1);
    });
  });

  it('the inverse stage decodes blocks (and CSV) to decoded blocks, and dead-letters what it cannot read', async () => {
    const input = new Map<string, CellValue[]>();
    lines.forEach((line, n) => input.set(keys[n] as string, cellsOf(line)));
    // Bad input on the transformed topic, after the transform's blocks: bytes that claim to be
    // a block, a block whose mode lies outside its one-hot, and a CSV message of two rows.
    const good = (await readTopicToEnd(transport, topics.transformed)).find((r) => r.partition === 0) as InRecord;
    const block = transformedBlockCodec.decode(good.value);
    const bad: TransformedBlock = {
      ...block,
      rows: { ...block.rows, position: block.rows.position.map((p, c) => (c === 0 ? Int32Array.from(p, (x, i) => (i === 0 ? 99 : x)) : p)) },
    };
    const csv = `${embedded[0]}\n${embedded[1]}\n`;
    const producer = await transport.producer();
    await producer.send([
      { topic: topics.transformed, partition: 1, key: 'garbage', value: Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]), headers: { 'content-type': ARROW_STREAM_CONTENT_TYPE } },
      { topic: topics.transformed, partition: 1, key: 'bad-mode', value: transformedBlockCodec.encode(bad), headers: { 'content-type': ARROW_STREAM_CONTENT_TYPE } },
      { topic: topics.transformed, partition: 1, key: 'csv', value: Buffer.from(csv) },
    ]);
    await producer.close();

    inverse = await runInverse({ transport, topics, encodedTopic: topics.transformed, decodedTopic: topics.decoded, modelIdleMs: 500, log: (l) => logs.push(l) });
    await inverse.started;
    const h = inverse;
    // The good rows twice over (the bad-mode block's other rows), the CSV rows, and three dead letters.
    const expectedRows = ROWS + (block.rows.length - 1) + 2;
    await waitUntil(() => h.stats().rows + h.stats().deadLettered >= expectedRows + 2, 'every encoded row decoded or dead-lettered', 120_000, undefined, h.done);
    expect(h.stats()).toMatchObject({ rows: expectedRows, deadLettered: 2 });

    // Every row the stage counted committed, as read_committed readers see it (the last commit's
    // markers may land a moment after the stage counted it).
    const decodedRows = (records: readonly InRecord[]): number => records.reduce((n, r) => n + decodedBlockCodec.decode(r.value).length, 0);
    const decoded = await readTopicOnceCommitted(transport, topics.decoded, (records) => decodedRows(records) >= expectedRows, `${expectedRows} decoded rows`);
    const seen = new Map<string, number>();
    let csvRows = 0;
    for (const r of decoded) {
      expect(r.headers).toMatchObject({ 'content-type': ARROW_STREAM_CONTENT_TYPE, 'model-version': job });
      const d = decodedBlockCodec.decode(r.value);
      expect(d.layout.columns.map((c) => c.field)).toEqual(['Amount', 'Tip', 'Network', 'Merchant']);
      for (let i = 0; i < d.length; i++) {
        const cells = model.columns.map((column, c) => (column.type === 'categorical' ? (d.layout.categories[c] as string[])[(d.categories[c] as Int32Array)[i] as number] : (d.values[c] as Float64Array)[i])) as CellValue[];
        if (r.key === 'csv') {
          // A CSV message's rows are identified by the message: its partition, offset and row.
          expect([d.rowIds.partition[i], d.rowIds.rowInMessage[i]]).toEqual([1, i]);
          expectCellsClose(cells, cellsOf(lines[i] as string), `CSV row ${i}`);
          csvRows++;
          continue;
        }
        const key = rowIdKey({ partition: d.rowIds.partition[i] as number, offset: d.rowIds.offset[i] as number, rowInMessage: d.rowIds.rowInMessage[i] as number });
        const want = input.get(key);
        if (want === undefined) throw new Error(`decoded row ${key} has no input`);
        expectCellsClose(cells, want, `row ${key}`);
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    }
    expect(csvRows).toBe(2);
    // Every input row once, and the rows of the bad-mode block (but its first) a second time.
    expect(seen.size).toBe(ROWS);
    expect([...seen.values()].filter((k) => k === 2)).toHaveLength(block.rows.length - 1);

    const dead = (await readTopicOnceCommitted(transport, topics.deadLetters, (records) => records.length >= 2, 'two dead letters')).map((r) => deadLetterCodec.decode(r.value));
    expect(dead).toHaveLength(2);
    expect(dead.find((d) => d.reason.includes('not an Arrow IPC stream'))).toMatchObject({ topic: topics.transformed, partition: 1, line: 1 });
    expect(dead.find((d) => d.reason.includes('one-hot position 99'))).toMatchObject({ topic: topics.transformed, partition: 1, line: 1 });
  });
});

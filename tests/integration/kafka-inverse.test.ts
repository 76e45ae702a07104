/**
 * The inverse stage on the real stack: `vgmflow produce` a 1000-row slice of the sample,
 * `vgmflow fit --all-stages` it, run the transform stage in-process to fill
 * `<prefix>.transformed`, then the inverse stage reading that topic as its encoded topic.
 * Every row must come back (read_committed) exactly once, numbers to 1e-9·max(1,|x|) and
 * categories exactly. Then CSV-layout messages (good, wrong width, NaN) and a truncated Avro
 * value go to the same encoded topic: good rows are decoded, the rest dead-lettered with reasons.
 *
 * Then, on a pipeline of its own, the stage with Avro output: every decoded record is a
 * vgmflow.Decoded value (deserialised with the registry library) equal to the pure decode of
 * the same input message, i.e. to what CSV output writes; a newer model with another column
 * name registers a second version of `<decoded topic>-value` and its rows carry that schema.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroDeserializer, SerdeType, type Client } from '@confluentinc/schemaregistry';
import { readTopicToEnd } from '../../pipeline/runners/read-topic';
import { readTopicOnceCommitted } from '../support/committed-reads';
import { formatCsvRow, formatNumber, parseCsvText } from '../../core/csv/csv';
import { parseRow } from '../../core/csv/row-parser';
import { decodedCells, encodedFormat, inverseContext, inverseMessage, type DecodedRow } from '../../stages/inverse/inverse-batch';
import { runInverse, type InverseHandle } from '../../stages/inverse/inverse-stage';
import { runTransform, type TransformHandle } from '../../stages/transform/transform-stage';
import { parseColumnSpecs } from '../../core/normalization/column-spec';
import { ColumnSummaryBuilder, type CellValue } from '../../core/normalization/column-summary';
import { RowEncoder } from '../../core/normalization/encoder';
import { fitTransformer } from '../../core/normalization/fit-transformer';
import type { TransformerModel } from '../../core/normalization/model';
import { messageRowId } from '../../core/normalization/row-id';
import { deadLetterCodec } from '../../topics/dead-letter';
import { DECODED_AVRO_CONTENT_TYPE, decodedColumnFields, decodedSchema, decodedSubject, decodedValue, type DecodedValue } from '../../topics/decoded-schema';
import { KafkaTransport } from '../../topics/kafka';
import { topicNames, topicSpecs } from '../../topics/topology';
import type { InRecord, OutRecord } from '../../topics/transport';
import type { TransformedValue } from '../../topics/transformed-schema';
import { produceAndFitSlice, publishModel } from '../support/kafka-stages';
import { waitUntil } from '../support/processes';
import { cellsOf, expectCellsClose, sampleLines } from '../support/sample';
import { schemaRegistryClient, stackConfig, uniqueName } from '../support/stack';

jest.setTimeout(180_000);

const ROWS = 1000;

const text = (r: InRecord): string => Buffer.from(r.value).toString('utf8');

/** The decoded CSV line of a record as cells: numbers for numeric columns of `model`. */
function decodedOf(model: TransformerModel, r: InRecord): CellValue[] {
  const parsed = parseCsvText(text(r));
  expect(parsed).toHaveLength(1);
  const rec = parsed[0];
  if (rec?.kind !== 'record') throw new Error(`bad decoded CSV ${text(r)}`);
  return rec.fields.map((f, c) => (model.columns[c]?.type === 'categorical' ? f : Number(f)));
}

describe('inverse stage on Kafka', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgm-inverse-'));
  const prefix = uniqueName('ki');
  const topics = topicNames(prefix);
  const transformed = topicNames(prefix).transformed;
  const decoded = topicNames(prefix).decoded;
  const job = `job-${prefix}`;
  const lines = sampleLines(ROWS);
  let transport: KafkaTransport;
  let registry: Client;
  let model: TransformerModel;
  let transform: TransformHandle | null = null;
  let inverse: InverseHandle | null = null;
  const logs: string[] = [];

  beforeAll(async () => {
    model = await produceAndFitSlice(dir, lines, prefix, job);
    transport = new KafkaTransport({ brokers: stackConfig().kafkaBrokers, clientId: 'ki-test', log: (l) => logs.push(l) });
    registry = schemaRegistryClient();
    // The per-row formats (Avro in, CSV out); tests/integration/kafka-blocks.test.ts covers blocks.
    transform = await runTransform({ transport, topics, transformedTopic: transformed, outputFormat: 'avro', registry, modelIdleMs: 500, log: (l) => logs.push(l) });
    inverse = await runInverse({
      transport,
      topics,
      encodedTopic: transformed,
      decodedTopic: decoded,
      output: 'csv',
      registry,
      modelIdleMs: 500,
      log: (l) => logs.push(l),
    });
    await Promise.all([transform.started, inverse.started]);
    const t = transform;
    const i = inverse;
    await waitUntil(() => t.stats().rows + t.stats().deadLettered >= ROWS, 'every row transformed', 90_000, undefined, t.done);
    await waitUntil(() => i.stats().rows + i.stats().deadLettered >= ROWS, 'every row decoded', 90_000, undefined, i.done);
  });

  afterAll(async () => {
    await inverse?.stop();
    await transform?.stop();
    await transport?.close();
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('decodes every transformed row exactly once, back to its input value', async () => {
    const input = new Map<string, CellValue[]>();
    for (const r of await readTopicToEnd(transport, topics.rows)) {
      text(r)
        .replace(/\n+$/, '')
        .split('\n')
        .forEach((line, sub) => input.set(`${r.partition}:${r.offset}:${sub}`, cellsOf(line)));
    }
    expect(input.size).toBe(ROWS);
    const seen = new Set<string>();
    for (const r of await readTopicToEnd(transport, decoded)) {
      const key = r.key as string;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
      const want = input.get(key);
      if (want === undefined) throw new Error(`unexpected key ${key}`);
      expect(r.headers['model-version']).toBe(job);
      expectCellsClose(decodedOf(model, r), want, `row ${key}`);
    }
    expect(seen.size).toBe(ROWS);
    expect(inverse?.stats()).toMatchObject({ rows: ROWS, deadLettered: 0, modelVersion: job });
    expect(await readTopicToEnd(transport, topics.deadLetters)).toHaveLength(0);
  });

  it('decodes CSV-layout messages and dead-letters wrong widths, NaN and bad Avro with reasons', async () => {
    const i = inverse as InverseHandle;
    // A real encoded row (partition 0, offset 0 of the transformed topic) and its input.
    const first = (await readTopicToEnd(transport, transformed)).find((r) => r.partition === 0 && r.offset === 0);
    if (first === undefined) throw new Error('no transformed record at 0@0');
    const value = (await new AvroDeserializer(registry, SerdeType.VALUE, {}).deserialize(transformed, Buffer.from(first.value))) as TransformedValue;
    const vector = value.vector;
    const good = vector.map(formatNumber).join(',');
    const width = vector.length;
    const wrongWidth = vector.slice(1).map(formatNumber).join(',');
    const withNaN = ['NaN', ...vector.slice(1).map(formatNumber)].join(',');
    const truncated = Buffer.from(first.value).subarray(0, 7);
    // A schema id the registry does not know.
    const unknownId = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), Buffer.from(first.value).subarray(5)]);
    expect(encodedFormat(truncated)).toBe('avro');
    expect(encodedFormat(Buffer.from(good))).toBe('csv');

    const before = i.stats();
    const ends = await transport.endOffsets(transformed);
    const base = ends[1] as number; // nobody else writes partition 1 now
    const producer = await transport.producer();
    await producer.send([
      // offset base: two good rows, no key -> keys 1:<base>:0 and 1:<base>:1
      { topic: transformed, partition: 1, key: null, value: Buffer.from(`${good}\n${good}\n`) },
      // base+1: one good row with a key -> kept
      { topic: transformed, partition: 1, key: 'gen-7', value: Buffer.from(good) },
      { topic: transformed, partition: 1, key: null, value: Buffer.from(`${wrongWidth}\n`) },
      { topic: transformed, partition: 1, key: null, value: Buffer.from(`${good}\n${withNaN}\n`) },
      { topic: transformed, partition: 1, key: null, value: truncated },
      { topic: transformed, partition: 1, key: null, value: unknownId },
    ]);
    await producer.close();
    await waitUntil(() => i.stats().rows + i.stats().deadLettered >= before.rows + before.deadLettered + 8, 'the CSV messages', 60_000, undefined, i.done);
    expect(i.stats().rows - before.rows).toBe(4);
    expect(i.stats().deadLettered - before.deadLettered).toBe(4);

    const want = input0(first.key as string);
    // Transformed keys name source rows (offsets < 200 here); these name encoded offsets >= base.
    const isExtra = (r: InRecord): boolean => r.key === 'gen-7' || (r.key ?? '').startsWith(`1:${base}:`) || (r.key ?? '').startsWith(`1:${base + 3}:`);
    const extra = (await readTopicOnceCommitted(transport, decoded, (all) => all.filter(isExtra).length >= 4, 'the four decoded rows')).filter(isExtra);
    expect(extra.every((r) => r.partition === 1)).toBe(true);
    expect(extra.map((r) => r.key).sort()).toEqual([`1:${base + 3}:0`, `1:${base}:0`, `1:${base}:1`, 'gen-7'].sort());
    for (const r of extra) expectCellsClose(decodedOf(model, r), want, `row ${String(r.key)}`);

    const dead = (await readTopicOnceCommitted(transport, topics.deadLetters, (all) => all.length >= 4, 'the four dead letters')).map((r) => deadLetterCodec.decode(r.value));
    const at = (offset: number) => dead.filter((d) => d.offset === offset);
    expect(dead).toHaveLength(4);
    expect(at(base + 2)).toEqual([expect.objectContaining({ topic: transformed, partition: 1, line: 1, raw: wrongWidth })]);
    expect(at(base + 2)[0]?.reason).toBe(`inverse: expected ${width} encoded values, got ${width - 1}`);
    expect(at(base + 3)).toEqual([expect.objectContaining({ topic: transformed, partition: 1, line: 2, raw: withNaN, column: 'Amount.alpha' })]);
    expect(at(base + 3)[0]?.reason).toBe('inverse: encoded value 0 (Amount.alpha): "NaN" is not a finite number');
    expect(at(base + 4)).toEqual([expect.objectContaining({ topic: transformed, partition: 1, line: 1, raw: '' })]);
    expect(at(base + 4)[0]?.reason).toMatch(/^inverse: undecodable Avro value: /);
    expect(at(base + 5)).toEqual([expect.objectContaining({ topic: transformed, partition: 1, line: 1, raw: '' })]);
    expect(at(base + 5)[0]?.reason).toMatch(/^inverse: undecodable Avro value: /);

    function input0(key: string): CellValue[] {
      const [p, o, r] = key.split(':').map(Number);
      expect([p, o, r]).toEqual([0, 0, 0]);
      // produce puts message j on partition j mod 6 at offset floor(j / 6): 0:0:0 is the first row of the file.
      return cellsOf(lines[0] as string);
    }
  });

  it('inverse-batch (pure): keys, rows in a message, missing values', () => {
    const ctx = inverseContext(model, 'v');
    const zeros = new Array<string>(ctx.decoder.width).fill('0');
    const src = { topic: 't', partition: 2, offset: 9, key: 'k' };
    // One row with a key keeps it; several rows get partition:offset:row.
    expect(inverseMessage(ctx, src, { kind: 'csv', text: zeros.join(',') }).rows.map((r) => r.key)).toEqual(['k']);
    const two = inverseMessage(ctx, src, { kind: 'csv', text: `${zeros.join(',')}\n"1,2"\n${zeros.join(',')}` });
    expect(two.rows.map((r) => r.key)).toEqual(['2:9:0', '2:9:2']);
    expect(two.deadLetters.map((d) => d.line)).toEqual([2]);
    expect(inverseMessage(ctx, src, { kind: 'vector', vector: 'nope' }).deadLetters[0]?.reason).toBe('inverse: the Avro value has no array field "vector"');
    expect(inverseMessage(ctx, src, { kind: 'vector', vector: [Infinity, ...zeros.slice(1).map(Number)] }).deadLetters).toHaveLength(1);
    // A mixed column's missing-value marker is an empty cell; numbers shortest round-trip.
    expect(decodedCells(model, [0.1, -9999999, 'visa', 'a,b'])).toEqual(['0.1', '', 'visa', 'a,b']);
    expect(decodedCells(model, [-0, 1e21, 'x', 'y'])).toEqual(['-0', '1e+21', 'x', 'y']);
  });
});

describe('inverse stage on Kafka, Avro output', () => {
  // Tip lists the missing-value marker, and every 10th row has an empty Tip: such rows decode
  // to null in Avro (an empty cell in CSV).
  const specs = parseColumnSpecs('Amount:continuous,Tip:mixed(0;-9999999),Network:categorical,Merchant:categorical');
  const N = 300;
  const PHASE1 = 200;
  const prefix = uniqueName('kia');
  const topics = topicNames(prefix);
  const encoded = topicNames(prefix).encoded;
  const decoded = topicNames(prefix).decoded;
  const subject = decodedSubject(decoded);
  const job1 = `job1-${prefix}`;
  const job2 = `job2-${prefix}`;
  let transport: KafkaTransport;
  let registry: Client;
  let inverse: InverseHandle | null = null;
  let model1: TransformerModel;
  let model2: TransformerModel;
  /** End offsets of the encoded topic after the first model's messages. */
  let phase1Ends: number[] = [];
  const logs: string[] = [];

  /** The sample's first N rows, parsed (an empty Tip reads as the missing-value marker). */
  function sampleCells(): CellValue[][] {
    return sampleLines(N).map((line, j) => {
      const fields = line.split(',');
      if (j % 10 === 3) fields[1] = '';
      const parsed = parseRow(specs, [0, 1, 2, 3], fields, 4);
      if (!parsed.ok) throw new Error(`sample row ${j}: ${parsed.reason}`);
      return parsed.cells;
    });
  }

  /** Rows [from, to) encoded with `model` as research-layout CSV lines. */
  function encodedLines(model: TransformerModel, cells: readonly CellValue[][], from: number, to: number): string[] {
    const encoder = new RowEncoder(model);
    const out: string[] = [];
    for (let j = from; j < to; j++) out.push(Array.from(encoder.encode(cells[j] as CellValue[], messageRowId(j)).vector, formatNumber).join(','));
    return out;
  }

  /** One-row messages with a key, and every fourth message three rows without one (keys partition:offset:row). */
  function messages(lines: readonly string[], first: number): OutRecord[] {
    const out: OutRecord[] = [];
    for (let i = 0, m = 0; i < lines.length; m++) {
      const size = m % 4 === 0 ? 3 : 1;
      const rows = lines.slice(i, i + size);
      out.push({ topic: encoded, partition: m % 6, key: size === 1 ? `gen-${first + i}` : null, value: Buffer.from(`${rows.join('\n')}\n`) });
      i += size;
    }
    return out;
  }

  async function produceEncoded(records: OutRecord[]): Promise<void> {
    const producer = await transport.producer();
    await producer.send(records);
    await producer.close();
  }

  beforeAll(async () => {
    const cells = sampleCells();
    const builders = specs.map((s) => new ColumnSummaryBuilder(s));
    for (const row of cells) row.forEach((cell, c) => builders[c]?.add(cell));
    model1 = fitTransformer(builders.map((b) => b.build()));
    // Same mixtures, another column name: decodes the same vectors, but its schema differs.
    model2 = { ...model1, columns: model1.columns.map((c) => (c.name === 'Merchant' ? { ...c, name: 'Merchant name' } : c)) };

    transport = new KafkaTransport({ brokers: stackConfig().kafkaBrokers, clientId: 'kia-test', log: (l) => logs.push(l) });
    registry = schemaRegistryClient();
    await transport.ensureTopics(topicSpecs(topics, 6));
    await publishModel(transport, topics.models, job1, model1);
    inverse = await runInverse({
      transport,
      topics,
      encodedTopic: encoded,
      decodedTopic: decoded,
      registry,
      output: 'avro',
      modelIdleMs: 500,
      log: (l) => logs.push(l),
    });
    const i = inverse;
    await i.started;
    await produceEncoded(messages(encodedLines(model1, cells, 0, PHASE1), 0));
    await waitUntil(() => i.stats().rows + i.stats().deadLettered >= PHASE1, "the first model's rows", 90_000, undefined, i.done);
    phase1Ends = await transport.endOffsets(encoded);

    await publishModel(transport, topics.models, job2, model2);
    await waitUntil(() => i.stats().modelVersion === job2, 'the second model', 90_000, undefined, i.done);
    await produceEncoded(messages(encodedLines(model2, cells, PHASE1, N), PHASE1));
    await waitUntil(() => i.stats().rows + i.stats().deadLettered >= N, "the second model's rows", 90_000, undefined, i.done);
  });

  afterAll(async () => {
    await inverse?.stop();
    await transport?.close();
    await registry?.close();
  });

  it('writes every row once as vgmflow.Decoded, equal to the pure (CSV-mode) decode of the same input', async () => {
    // What the pure decode makes of every input message, by key, with the model it was meant for.
    const want = new Map<string, { row: DecodedRow; model: TransformerModel; job: string }>();
    for (const r of await readTopicToEnd(transport, encoded)) {
      const first = r.offset < (phase1Ends[r.partition] as number);
      const [model, job] = first ? [model1, job1] : [model2, job2];
      const result = inverseMessage(inverseContext(model, job), r, { kind: 'csv', text: text(r) });
      expect(result.deadLetters).toEqual([]);
      for (const row of result.rows) want.set(row.key, { row, model, job });
    }
    expect(want.size).toBe(N);

    const deserializer = new AvroDeserializer(registry, SerdeType.VALUE, {});
    const ids = new Map<string, Set<number>>([[job1, new Set()], [job2, new Set()]]);
    const seen = new Set<string>();
    let missing = 0;
    for (const r of await readTopicToEnd(transport, decoded)) {
      const key = r.key as string;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
      const w = want.get(key);
      if (w === undefined) throw new Error(`unexpected key ${key}`);
      expect(r.headers).toMatchObject({ 'content-type': DECODED_AVRO_CONTENT_TYPE, 'model-version': w.job });
      const bytes = Buffer.from(r.value);
      expect(bytes[0]).toBe(0);
      ids.get(w.job)?.add(bytes.readInt32BE(1));
      const value = (await deserializer.deserialize(decoded, bytes)) as DecodedValue;
      expect(value).toEqual(decodedValue(w.model, w.job, w.row));
      // The same cells CSV output writes: numbers shortest round-trip, null as an empty cell.
      const cells = decodedColumnFields(w.model).map((f) => {
        const v = value[f.field];
        return v === null ? '' : typeof v === 'number' ? formatNumber(v) : (v as string);
      });
      expect(formatCsvRow(cells)).toBe(w.row.csv);
      expect(cells).toEqual(decodedCells(w.model, w.row.values));
      if (value.Tip === null) missing++;
    }
    expect(seen.size).toBe(N);
    expect(missing).toBe(N / 10);
    expect(inverse?.stats()).toMatchObject({ rows: N, deadLettered: 0, modelVersion: job2 });
    expect(await readTopicToEnd(transport, topics.deadLetters)).toHaveLength(0);

    // One schema per model: the second model's rows carry the new version's id.
    const [id1, id2] = [[...(ids.get(job1) ?? [])], [...(ids.get(job2) ?? [])]];
    expect(id1).toHaveLength(1);
    expect(id2).toHaveLength(1);
    expect(id1[0]).not.toBe(id2[0]);
    expect((await registry.getAllSubjects()).includes(subject)).toBe(true);
    expect(await registry.getAllVersions(subject)).toHaveLength(2);
    const latest = await registry.getLatestSchemaMetadata(subject);
    expect(latest.id).toBe(id2[0]);
    const schema = JSON.parse(latest.schema ?? '{}') as { name?: string; fields?: Array<{ name: string; type: unknown }> };
    expect(schema.fields?.map((f) => [f.name, f.type])).toEqual(decodedSchema(model2).fields.map((f) => [f.name, f.type]));
    expect(schema.fields?.map((f) => f.name)).toEqual(['key', 'model_version', 'Amount', 'Tip', 'Network', 'Merchant_name']);
  });
});

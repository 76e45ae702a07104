/**
 * `vgmflow transform --brokers` and `vgmflow inverse --brokers` on the real stack, run as
 * the command line a user runs: each reads its input topic up to the end it had at the
 * start, exits 0 and says how many rows it wrote; a second run writes nothing more; Ctrl-C
 * (SIGINT) mid-way exits 130 and the next run goes on, every row exactly once; beside a
 * running stage of its group, or without a model, the command gives up with a clear error
 * instead of hanging. The tests run in order: the later ones read what the first wrote to the
 * transformed topic. They use the per-row formats (Avro transformed, CSV decoded), which count
 * one record per row; tests/integration/kafka-blocks.test.ts covers the block format.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroDeserializer, SerdeType, type Client } from '@confluentinc/schemaregistry';
import { readTopicToEnd } from '../../pipeline/runners/read-topic';
import { parseCsvText } from '../../core/csv/csv';
import type { CellValue } from '../../core/normalization/column-summary';
import type { TransformerModel } from '../../core/normalization/model';
import { KafkaTransport } from '../../topics/kafka';
import { topicNames } from '../../topics/topology';
import type { InRecord } from '../../topics/transport';
import type { TransformedValue } from '../../topics/transformed-schema';
import { ensureCliBuilt, Processes, waitUntil } from '../support/processes';
import { produceAndFitSlice } from '../support/kafka-stages';
import { cellsOf, expectCellsClose, sampleLines } from '../support/sample';
import { schemaRegistryClient, stackConfig, uniqueName } from '../support/stack';

jest.setTimeout(240_000);

const ROWS = 1500;
/** Encoded CSV messages for the Ctrl-C test: enough that the inverse takes several seconds. */
const ENCODED_MESSAGES = 60_000;

const text = (r: InRecord): string => Buffer.from(r.value).toString('utf8');

function decodedOf(model: TransformerModel, r: InRecord): CellValue[] {
  const parsed = parseCsvText(text(r));
  const rec = parsed[0];
  if (parsed.length !== 1 || rec?.kind !== 'record') throw new Error(`bad decoded CSV ${text(r)}`);
  return rec.fields.map((f, c) => (model.columns[c]?.type === 'categorical' ? f : Number(f)));
}

describe('vgmflow transform|inverse --brokers (one-shot runs on Kafka)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgm-one-shot-'));
  const prefix = uniqueName('k1');
  const topics = topicNames(prefix);
  const transformed = topicNames(prefix).transformed;
  const decoded = topicNames(prefix).decoded;
  const job = `job-${prefix}`;
  const { kafkaBrokers, schemaRegistryUrl } = stackConfig();
  const brokers = kafkaBrokers.join(',');
  const kafka = ['--brokers', brokers, '--topic-prefix', prefix];
  const lines = sampleLines(ROWS);
  const procs = new Processes({ logDir: join(dir, 'logs') });
  let transport: KafkaTransport;
  let registry: Client;
  let model: TransformerModel;

  beforeAll(async () => {
    ensureCliBuilt();
    model = await produceAndFitSlice(dir, lines, prefix, job);
    transport = new KafkaTransport({ brokers: kafkaBrokers, clientId: 'k1-test', log: () => undefined });
    registry = schemaRegistryClient();
  });

  afterAll(async () => {
    await procs.killAll();
    await transport?.close();
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('transform --brokers encodes every row once and exits; a second run finds nothing new', async () => {
    const first = procs.spawn('transform', ['transform', ...kafka, '--output-format', 'avro', '--registry-url', schemaRegistryUrl]);
    const exit = await first.exited;
    expect({ code: exit.code, stderr: first.stderr }).toMatchObject({ code: 0 });
    expect(first.stderr).toMatch(new RegExp(`encoded ${ROWS} rows \\(0 dead-lettered\\) from ${topics.batches} to ${transformed}`));
    expect(first.stderr).toContain(`version ${job}`);

    const records = await readTopicToEnd(transport, transformed);
    expect(records).toHaveLength(ROWS);
    const deserializer = new AvroDeserializer(registry, SerdeType.VALUE, {});
    const ids = new Set<string>();
    for (const r of records) {
      const value = (await deserializer.deserialize(transformed, Buffer.from(r.value))) as TransformedValue;
      ids.add(`${value.row_id.source_partition}:${value.row_id.source_offset}:${value.row_id.row_in_message}`);
      expect(value.model_version).toBe(job);
    }
    expect(ids.size).toBe(ROWS);

    const second = procs.spawn('transform', ['transform', ...kafka, '--output-format', 'avro', '--registry-url', schemaRegistryUrl]);
    expect((await second.exited).code).toBe(0);
    expect(second.stderr).toMatch(/encoded 0 rows \(0 dead-lettered\)/);
    expect(await readTopicToEnd(transport, transformed)).toHaveLength(ROWS);
  });

  it('inverse --brokers decodes the transformed topic back to the input rows, each once', async () => {
    const run = procs.spawn('inverse', ['inverse', ...kafka, '--encoded-topic', transformed, '--output-format', 'csv', '--registry-url', schemaRegistryUrl]);
    expect((await run.exited).code).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`decoded ${ROWS} rows \\(0 dead-lettered\\) from ${transformed} to ${decoded}`));

    // The transformed record's row id names the input row; the decoded row keeps its key.
    const inputById = new Map<string, CellValue[]>();
    for (const r of await readTopicToEnd(transport, topics.rows)) {
      text(r)
        .replace(/\n+$/, '')
        .split('\n')
        .forEach((line, sub) => inputById.set(`${r.partition}:${r.offset}:${sub}`, cellsOf(line)));
    }
    const decodedRecords = await readTopicToEnd(transport, decoded);
    expect(decodedRecords).toHaveLength(ROWS);
    const keys = new Set(decodedRecords.map((r) => r.key));
    expect(keys.size).toBe(ROWS);
    for (const r of decodedRecords) {
      const want = inputById.get(r.key as string);
      if (want === undefined) throw new Error(`decoded key ${String(r.key)} names no input row`);
      expectCellsClose(decodedOf(model, r), want, `decoded row ${String(r.key)}`);
    }
  });

  it('Ctrl-C stops inverse --brokers mid-way (exit 130); the next run goes on, every row exactly once', async () => {
    // Encoded rows in the research CSV layout, as a generator would produce them.
    const vectors = await encodedLines();
    expect(vectors.length).toBe(ROWS);
    const encodedTopic = `${prefix}.generated`;
    const decodedTopic = `${prefix}.generated-decoded`;
    await transport.ensureTopics([{ name: encodedTopic, partitions: 3, config: {} }]);
    const producer = await transport.producer();
    for (let start = 0; start < ENCODED_MESSAGES; start += 4000) {
      const chunk = Array.from({ length: Math.min(4000, ENCODED_MESSAGES - start) }, (_, i) => ({
        topic: encodedTopic,
        partition: (start + i) % 3,
        key: null,
        value: Buffer.from(vectors[(start + i) % vectors.length] as string, 'utf8'),
      }));
      await producer.send(chunk);
    }
    await producer.close();

    const args = ['inverse', ...kafka, '--encoded-topic', encodedTopic, '--decoded-topic', decodedTopic, '--output-format', 'csv'];
    const first = procs.spawn('inverse-interrupted', args);
    await first.waitFor(/consuming/, { timeoutMs: 60_000 });
    // Interrupt as soon as the first transaction has written decoded rows.
    await waitUntil(async () => (await transport.endOffsets(decodedTopic)).some((n) => n > 0), 'the first decoded rows', 60_000);
    const exit = await first.kill('SIGINT');
    expect(exit.code).toBe(130);
    expect(first.stderr).toMatch(/interrupted: what was committed stays/);
    const afterFirst = (await readTopicToEnd(transport, decodedTopic)).length;
    // The interrupt landed mid-way: some rows were decoded and committed, not all.
    expect(afterFirst).toBeGreaterThan(0);
    expect(afterFirst).toBeLessThan(ENCODED_MESSAGES);

    const second = procs.spawn('inverse-resumed', args);
    expect((await second.exited).code).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`decoded ${ENCODED_MESSAGES - afterFirst} rows \\(0 dead-lettered\\)`));
    const all = await readTopicToEnd(transport, decodedTopic);
    expect(all).toHaveLength(ENCODED_MESSAGES);
    expect(new Set(all.map((r) => r.key)).size).toBe(ENCODED_MESSAGES);
  });

  it('refuses to run beside a running stage of the same group, which would own part of the input', async () => {
    const stage = procs.spawn('stage-inverse', ['stage', 'inverse', ...kafka, '--encoded-topic', transformed, '--decoded-topic', `${prefix}.beside`, '--registry-url', schemaRegistryUrl]);
    await stage.waitFor(/consuming/, { timeoutMs: 60_000 });
    const run = procs.spawn('inverse-beside', ['inverse', ...kafka, '--encoded-topic', transformed, '--decoded-topic', `${prefix}.beside`, '--registry-url', schemaRegistryUrl]);
    expect((await run.exited).code).toBe(1);
    expect(run.stderr).toContain(`consumer group vgmflow-${prefix}-inverse already has 1 member(s)`);
    await stage.kill('SIGTERM');
  });

  it('gives up with a clear error when the model does not exist', async () => {
    const run = procs.spawn('inverse-no-model', ['inverse', ...kafka, '--model-name', 'no-such-model', '--model-wait', '2']);
    expect((await run.exited).code).toBe(1);
    expect(run.stderr).toContain(`no model "no-such-model" on ${topics.models} after 2 s`);
  });

  /** The transformed topic's vectors as research-layout CSV lines. */
  async function encodedLines(): Promise<string[]> {
    const deserializer = new AvroDeserializer(registry, SerdeType.VALUE, {});
    const out: string[] = [];
    for (const r of await readTopicToEnd(transport, transformed)) {
      const value = (await deserializer.deserialize(transformed, Buffer.from(r.value))) as TransformedValue;
      out.push(value.vector.map((x) => String(x)).join(','));
    }
    return out;
  }
});

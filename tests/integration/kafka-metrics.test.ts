/**
 * Metrics and probes of a running `vgmflow stage transform --metrics-port 0` on the real stack:
 * /readyz is 503 (waiting for a model) until a model is published on the models topic, then 200;
 * /metrics shows the row counters moving between two scrapes as row batches arrive, agreeing with
 * the stage's own progress lines and with the rows on the transformed topic; the consumer lag
 * of every batches partition is 0 once everything is committed; SIGTERM stops the server too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTopicOnceCommitted } from '../support/committed-reads';
import type { InRecord } from '../../topics/transport';
import type { TransformerModel } from '../../core/normalization/model';
import { specsOfModel } from '../../core/normalization/model-specs';
import { KafkaTransport } from '../../topics/kafka';
import { RowBatchBuilder, rowBatchKey, type RowBatch } from '../../topics/row-batch';
import { rowBatchCodec } from '../../topics/row-batch-codec';
import { stageGroup, topicNames, topicSpecs } from '../../topics/topology';
import { transformedBlockCodec } from '../../topics/transformed-block';
import { fitSlice, publishModel, stageProgress, waitForGroupCommit } from '../support/kafka-stages';
import { ensureCliBuilt, Processes, sleep, waitUntil, type Child } from '../support/processes';
import { sample, samples } from '../support/prometheus-text';
import { cellsOf, sampleLines } from '../support/sample';
import { stackConfig, uniqueName } from '../support/stack';

jest.setTimeout(300_000);

const ROWS = 600;
const PARTITIONS = 6;
const ROWS_PER_BATCH = 5;

describe('metrics and probes of the transform stage on Kafka', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgm-metrics-'));
  const prefix = uniqueName('km');
  const topics = topicNames(prefix);
  const lines = sampleLines(ROWS);
  const stack = stackConfig();
  const procs = new Processes({ logDir: join(dir, 'logs') });
  let transport: KafkaTransport;
  let model: TransformerModel;

  /** Row i's row batches: partition i mod 6, source offset ⌊i/6⌋, ROWS_PER_BATCH rows each, in order. */
  function rowBatches(): RowBatch[][] {
    const specs = specsOfModel(model);
    return Array.from({ length: PARTITIONS }, (_, p) => {
      const batches: RowBatch[] = [];
      let builder = new RowBatchBuilder(specs, topics.rows, p);
      let from = 0;
      for (let i = p; i < lines.length; i += PARTITIONS) {
        const offset = Math.floor(i / PARTITIONS);
        builder.add(offset, 0, cellsOf(lines[i] as string));
        if (builder.length === ROWS_PER_BATCH) {
          batches.push(builder.build({ from, to: offset + 1 }));
          from = offset + 1;
          builder = new RowBatchBuilder(specs, topics.rows, p);
        }
      }
      if (builder.length > 0) batches.push(builder.build());
      return batches;
    });
  }

  /** Sends the k-th row batch of every partition for k in [from, to); the number of rows sent. */
  async function feed(perPartition: RowBatch[][], from: number, to: number): Promise<number> {
    const producer = await transport.producer();
    let rows = 0;
    try {
      for (let k = from; k < to; k++) {
        const out = perPartition.flatMap((batches, p) => {
          const b = batches[k];
          if (b === undefined) return [];
          rows += b.length;
          return [{ topic: topics.batches, partition: p, key: rowBatchKey(b), value: rowBatchCodec.encode(b) }];
        });
        if (out.length > 0) await producer.send(out);
      }
    } finally {
      await producer.close();
    }
    return rows;
  }

  beforeAll(async () => {
    ensureCliBuilt();
    model = await fitSlice(dir, lines);
    transport = new KafkaTransport({ brokers: stack.kafkaBrokers, clientId: 'km-test', log: () => undefined });
    await transport.ensureTopics(topicSpecs(topics, PARTITIONS));
  });

  afterAll(async () => {
    await procs.killAll();
    await transport?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is not ready before the model, ready after it, and its row counters move', async () => {
    const stage: Child = procs.spawn('transform', [
      'stage', 'transform', '--brokers', stack.kafkaBrokers.join(','), '--topic-prefix', prefix, '--metrics-port', '0', '--transactional-id', `${prefix}-tx`,
    ]);
    const port = Number((await stage.waitFor(/\[metrics\] serving \/metrics, \/healthz and \/readyz on port (\d+)/))[1]);
    const get = (path: string): Promise<Response> => fetch(`http://127.0.0.1:${port}${path}`);
    const scrape = async (): Promise<string> => {
      const res = await get('/metrics');
      expect(res.status).toBe(200);
      return res.text();
    };
    const rowsOut = (text: string): number => sample(text, 'vgmflow_rows_out_total', { stage: 'transform' }) ?? NaN;

    expect((await get('/healthz')).status).toBe(200);
    // Not ready while no model exists: once the stage follows the models topic it says so.
    await waitUntil(async () => (await (await get('/readyz')).text()).includes('waiting for a model'), '/readyz to name the missing model', 60_000, () => stage.describe());
    await sleep(1_000);
    const before = await get('/readyz');
    expect(before.status).toBe(503);
    expect(await before.text()).toBe(`transform: waiting for a model "default" on ${topics.models}\n`);
    expect(sample(await scrape(), 'vgmflow_ready', { stage: 'transform' })).toBe(0);

    const job = `job-${prefix}`;
    await publishModel(transport, topics.models, job, model);
    await waitUntil(async () => (await get('/readyz')).status === 200, '/readyz to turn 200 after the model', 60_000, () => stage.describe());
    const ready = await scrape();
    expect(sample(ready, 'vgmflow_ready', { stage: 'transform' })).toBe(1);
    expect(sample(ready, 'vgmflow_model_info', { stage: 'transform', model_name: 'default', model_version: job })).toBe(1);
    expect(rowsOut(ready)).toBe(0);

    // Half the row batches, then a scrape once the stage has committed them; then the rest.
    const perPartition = rowBatches();
    const rounds = Math.max(...perPartition.map((b) => b.length));
    const half = Math.floor(rounds / 2);
    const firstRows = await feed(perPartition, 0, half);
    let first = '';
    await waitUntil(async () => rowsOut((first = await scrape())) === firstRows, `rows_out to reach ${firstRows}`, 120_000, () => `${first}\n${stage.describe()}`);
    const secondRows = await feed(perPartition, half, rounds);
    expect(firstRows + secondRows).toBe(ROWS);
    let second = '';
    await waitUntil(async () => rowsOut((second = await scrape())) === ROWS, `rows_out to reach ${ROWS}`, 120_000, () => `${second}\n${stage.describe()}`);

    // The counters moved between the two scrapes, and agree with each other.
    expect(rowsOut(second)).toBeGreaterThan(rowsOut(first));
    const counter = (text: string, name: string): number => sample(text, name, { stage: 'transform' }) ?? NaN;
    for (const name of ['vgmflow_rows_in_total', 'vgmflow_batches_total', 'vgmflow_input_records_total', 'vgmflow_transactions_committed_total']) {
      expect(counter(second, name)).toBeGreaterThan(counter(first, name));
    }
    expect(counter(second, 'vgmflow_dead_letters_total')).toBe(0);
    expect(counter(second, 'vgmflow_rows_in_total')).toBe(ROWS);
    expect(counter(second, 'vgmflow_input_records_total')).toBe(perPartition.reduce((n, b) => n + b.length, 0));
    expect(counter(second, 'vgmflow_transactions_aborted_total')).toBe(0);
    expect(sample(second, 'vgmflow_process_resident_memory_bytes', {})).toBeGreaterThan(0);

    // The stage's own progress lines and the transformed topic say the same.
    await waitUntil(() => stageProgress(stage, 'transform').rows === ROWS, 'the stage to report every row', 30_000, () => stage.describe());
    const blockRows = (records: readonly InRecord[]): number => records.reduce((n, r) => n + transformedBlockCodec.decode(r.value).rows.length, 0);
    const onTopic = blockRows(await readTopicOnceCommitted(transport, topics.transformed, (records) => blockRows(records) >= ROWS, `${ROWS} transformed rows`));
    expect(onTopic).toBe(ROWS);

    // Every batches partition committed: its lag is 0 for this (the only) member, per partition.
    const ends = await transport.endOffsets(topics.batches);
    await waitForGroupCommit(transport, stageGroup(topics, 'transform'), topics.batches, ends, 60_000, () => stage.describe());
    let lag: ReturnType<typeof samples> = [];
    await waitUntil(
      async () => {
        lag = samples(await scrape(), 'vgmflow_consumer_lag').filter((s) => s.labels.stage === 'transform' && s.labels.topic === topics.batches);
        return lag.length === PARTITIONS && lag.every((s) => s.value === 0);
      },
      'the consumer lag of every partition to be 0',
      30_000,
      () => JSON.stringify(lag),
    );
    expect(lag.map((s) => Number(s.labels.partition)).sort()).toEqual([0, 1, 2, 3, 4, 5]);

    // A stopped stage stops serving too (and the process exits).
    expect(await stage.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    await expect(get('/healthz')).rejects.toThrow();
  });
});

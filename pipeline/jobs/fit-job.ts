/**
 * The fit job's controller: fixes the job's rows (the input topic's offsets when it
 * starts), waits for ingest to catch up with them, submits the job to the reducer
 * through the params topic, reports progress round by round and returns the model
 * the reducer publishes.
 */
import { broadcastCodec, FIT_PROTOCOL_VERSION, type FitBroadcast, type FitJobSpec } from '../../topics/fit-messages';
import { modelRecordCodec } from '../../topics/model-record';
import type { TopicNames } from '../../topics/topology';
import type { Transport } from '../../topics/transport';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { InitialMeans } from '../../core/normalization/fit-transformer';
import type { TransformerModel, TransformerOptions } from '../../core/normalization/model';
import { InputError } from './input-error';

export interface FitJobOptions {
  readonly transport: Transport;
  readonly topics: TopicNames;
  readonly job: string;
  readonly columns: readonly ColumnSpec[];
  readonly options: TransformerOptions;
  readonly initialMeans: InitialMeans;
  readonly modelName: string;
  readonly ingestGroup: string;
  readonly log: (line: string) => void;
  /** Give up waiting for ingest or the reducer after this long without progress. */
  readonly stallTimeoutMs?: number;
}

export interface FitJobResult {
  readonly model: TransformerModel;
  readonly rounds: number;
  readonly rows: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the ingest group has committed every input offset below `ends`. */
async function waitForIngest(o: FitJobOptions, starts: number[], ends: number[]): Promise<void> {
  const stall = o.stallTimeoutMs ?? 120_000;
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const committed = await o.transport.committedOffsets(o.ingestGroup, o.topics.rows);
    let behind = 0;
    ends.forEach((end, p) => {
      if (end > starts[p]) behind += Math.max(0, end - Math.max(committed[p] ?? -1, starts[p]));
    });
    if (behind === 0) return;
    if (behind !== last) {
      o.log(`waiting for ingest: ${behind} input messages not yet ingested`);
      last = behind;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > stall) {
      throw new InputError(`ingest made no progress for ${stall / 1000} s (is an ingest stage running for group ${o.ingestGroup}?)`);
    }
    await sleep(250);
  }
}

export async function runFitJob(o: FitJobOptions): Promise<FitJobResult> {
  const { transport, topics } = o;
  const starts = await transport.startOffsets(topics.rows);
  const ends = await transport.endOffsets(topics.rows);
  const rows = ends.reduce((n, e, p) => n + e - starts[p], 0);
  o.log(`job ${o.job}: input ${topics.rows}, ${ends.length} partitions, ${rows} messages`);
  await waitForIngest(o, starts, ends);

  const spec: FitJobSpec = {
    job: o.job,
    columns: o.columns,
    options: o.options,
    initialMeans: o.initialMeans,
    sourceStartOffsets: starts,
    sourceEndOffsets: ends,
    modelName: o.modelName,
  };
  let resolveModel: (m: { model: TransformerModel }) => void = () => undefined;
  let rejectModel: (e: Error) => void = () => undefined;
  const modelArrived = new Promise<{ model: TransformerModel }>((resolve, reject) => {
    resolveModel = resolve;
    rejectModel = reject;
  });
  let submitted = false;
  let paramsSeen = 0;
  let existing: string | null = null;
  let rounds = 0;
  let lastRoundAt = Date.now();
  const started = Date.now();

  const params = await transport.subscribe({
    topic: topics.params,
    group: null,
    eachBatch: async (batch) => {
      for (const record of batch.records) {
        paramsSeen = Math.max(paramsSeen, record.offset + 1);
        if (record.key !== o.job) continue;
        let b: FitBroadcast;
        try {
          b = broadcastCodec.decode(record.value);
        } catch {
          continue;
        }
        if (!submitted) {
          existing = b.status;
          continue;
        }
        if (b.status === 'failed') rejectModel(new InputError(`job ${o.job} failed: ${b.error ?? 'unknown error'}`));
        if (b.status === 'done') rounds = Math.max(rounds, b.round);
        if (b.round > rounds) {
          const now = Date.now();
          o.log(`round ${b.round} (${((now - lastRoundAt) / 1000).toFixed(2)} s/round): ${b.progress.join('; ') || b.status}`);
          rounds = b.round;
          lastRoundAt = now;
        }
      }
    },
  });
  const models = await transport.subscribe({
    topic: topics.models,
    group: null,
    eachBatch: async (batch) => {
      for (const record of batch.records) {
        if (record.key !== o.modelName) continue;
        try {
          const r = modelRecordCodec.decode(record.value, `${topics.models}@${record.offset}`);
          if (r.job === o.job) resolveModel(r);
        } catch {
          continue;
        }
      }
    },
  });
  try {
    // Read what the params topic already holds first, so that a reused job id is caught.
    const paramsEnd = (await transport.endOffsets(topics.params)).reduce((a, b) => a + b, 0);
    while (paramsSeen < paramsEnd && existing === null) await sleep(100);
    if (existing !== null) throw new InputError(`job ${o.job} already exists (status ${existing}); choose another --job`);
    submitted = true;
    const producer = await transport.producer();
    try {
      const submission: FitBroadcast = { protocol: FIT_PROTOCOL_VERSION, spec, status: 'submitted', round: -1, request: null, progress: [] };
      await producer.send([{ topic: topics.params, key: o.job, value: broadcastCodec.encode(submission) }]);
    } finally {
      await producer.close();
    }
    const { model } = await modelArrived;
    o.log(`job ${o.job}: done in ${((Date.now() - started) / 1000).toFixed(1)} s, ${rounds} rounds, ${model.rows} rows fitted`);
    return { model, rounds, rows: model.rows };
  } finally {
    await params.stop();
    await models.stop();
  }
}

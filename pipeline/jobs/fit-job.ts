/**
 * The fit job's controller: fixes the job's rows (the input topic's offsets when it
 * starts), submits the job to the reducer through the params topic, watches ingest catch up
 * with those rows (the stats workers summarise row batches as ingest commits them, so ingest
 * and summaries overlap), reports progress round by round and returns the model the reducer
 * publishes.
 */
import { broadcastCodec, FIT_PROTOCOL_VERSION, type FitBroadcast, type FitJobSpec } from '../../topics/fit-messages';
import { modelRecordCodec } from '../../topics/model-record';
import type { TopicNames } from '../../topics/topology';
import type { InRecord, Subscription, Transport } from '../../topics/transport';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { InitialMeans } from '../../core/normalization/fit-transformer';
import type { TransformerModel, TransformerOptions } from '../../core/normalization/model';
import { NO_STAGE_METRICS, type StageMetrics } from '../../stages/runner/stage-metrics';
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
  /** The job's round and end (label stage "fit"); ready once it reads params and models. Default none. */
  readonly metrics?: StageMetrics;
  /**
   * Aborting cancels the job: once submitted, it is marked failed on params (so that no reducer or
   * stats worker keeps working on it, nor a later job's stages take it up), and runFitJob rejects
   * with FitCancelledError.
   */
  readonly signal?: AbortSignal;
}

/** The job was cancelled through FitJobOptions.signal. */
export class FitCancelledError extends Error {}

export interface FitJobResult {
  readonly model: TransformerModel;
  readonly rounds: number;
  readonly rows: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the ingest group has committed every input offset below `ends`; rejects when it
 * makes no progress for the stall timeout (no ingest stage running, or one that cannot go on).
 */
async function waitForIngest(o: FitJobOptions, starts: number[], ends: number[], ended: () => boolean): Promise<void> {
  const stall = o.stallTimeoutMs ?? 120_000;
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    if (ended()) return;
    const committed = await o.transport.committedOffsets(o.ingestGroup, o.topics.rows);
    let behind = 0;
    ends.forEach((end, p) => {
      if (end > starts[p]) behind += Math.max(0, end - Math.max(committed[p] ?? -1, starts[p]));
    });
    if (behind === 0) {
      if (last > 0) o.log(`ingest has caught up with the job's input`);
      return;
    }
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

/** The job's rows: per input partition, the offsets it starts and ends at now. */
async function jobInput(o: FitJobOptions): Promise<{ starts: number[]; ends: number[] }> {
  const starts = await o.transport.startOffsets(o.topics.rows);
  const ends = await o.transport.endOffsets(o.topics.rows);
  const rows = ends.reduce((n, e, p) => n + e - starts[p], 0);
  o.log(`job ${o.job}: input ${o.topics.rows}, ${ends.length} partitions, ${rows} messages`);
  return { starts, ends };
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * The job's broadcasts on the params topic, read as they arrive: before the job is submitted,
 * whether its id is already taken; after, its rounds (logged) and whether it failed.
 */
class JobBroadcasts {
  /** One past the highest params offset read. */
  seen = 0;
  /** The status of a broadcast for this job id read before submitting: the id is taken. */
  existing: string | null = null;
  submitted = false;
  rounds = 0;
  private lastRoundAt = Date.now();

  constructor(
    private readonly o: FitJobOptions,
    private readonly fail: (error: Error) => void,
  ) {}

  read(record: InRecord): void {
    this.seen = Math.max(this.seen, record.offset + 1);
    if (record.key !== this.o.job) return;
    let b: FitBroadcast;
    try {
      b = broadcastCodec.decode(record.value);
    } catch {
      return;
    }
    if (!this.submitted) {
      this.existing = b.status;
      return;
    }
    const metrics = this.o.metrics ?? NO_STAGE_METRICS;
    if (b.status === 'failed') {
      metrics.fitEnded(this.o.job, 'failed');
      this.fail(new InputError(`job ${this.o.job} failed: ${b.error ?? 'unknown error'}`));
    }
    if (b.status === 'done') {
      this.rounds = Math.max(this.rounds, b.round);
      metrics.fitEnded(this.o.job, 'done');
    }
    // Iterations and lower bounds are the reducer's (vgmflow_fit_iteration{stage="reduce"}).
    if (b.status === 'running' && b.round > this.rounds) metrics.fitRound(this.o.job, b.round, []);
    if (b.round > this.rounds) {
      const now = Date.now();
      this.o.log(`round ${b.round} (${((now - this.lastRoundAt) / 1000).toFixed(2)} s/round): ${b.progress.join('; ') || b.status}`);
      this.rounds = b.round;
      this.lastRoundAt = now;
    }
  }
}

/** Hands the first model published for this job (under o.modelName) to `arrived`. */
function watchForModel(o: FitJobOptions, arrived: (record: { model: TransformerModel }) => void): Promise<Subscription> {
  return o.transport.subscribe({
    topic: o.topics.models,
    group: null,
    eachBatch: async (batch) => {
      for (const record of batch.records) {
        if (record.key !== o.modelName) continue;
        try {
          const r = modelRecordCodec.decode(record.value, `${o.topics.models}@${record.offset}`);
          if (r.job === o.job) arrived(r);
        } catch {
          continue;
        }
      }
    },
  });
}

/** Reads what the params topic already holds first, so that a reused job id is caught. */
async function assertNewJob(o: FitJobOptions, broadcasts: JobBroadcasts, readersFailed: Promise<never>): Promise<void> {
  const paramsEnd = (await o.transport.endOffsets(o.topics.params)).reduce((a, b) => a + b, 0);
  while (broadcasts.seen < paramsEnd && broadcasts.existing === null) await Promise.race([sleep(100), readersFailed]);
  if (broadcasts.existing !== null) throw new InputError(`job ${o.job} already exists (status ${broadcasts.existing}); choose another --job`);
}

/** Rejects when one of the readers fails (e.g. Kafka stayed away too long); never resolves. */
function anyFailed(subscriptions: readonly Subscription[]): Promise<never> {
  const failed = new Promise<never>((_, reject) => {
    for (const s of subscriptions) s.done.catch(reject);
  });
  failed.catch(() => undefined);
  return failed;
}

/** Puts a broadcast of the job on params: its submission, or its end when this controller gives up. */
async function broadcastJob(o: FitJobOptions, spec: FitJobSpec, status: 'submitted' | 'failed', error?: string): Promise<void> {
  const producer = await o.transport.producer();
  try {
    const broadcast: FitBroadcast = { protocol: FIT_PROTOCOL_VERSION, spec, status, round: -1, request: null, progress: [], ...(error === undefined ? {} : { error }) };
    await producer.send([{ topic: o.topics.params, key: o.job, value: broadcastCodec.encode(broadcast) }]);
  } finally {
    await producer.close();
  }
}

export async function runFitJob(o: FitJobOptions): Promise<FitJobResult> {
  o.metrics?.notReady(`starting job ${o.job}`);
  const { starts, ends } = await jobInput(o);

  const spec: FitJobSpec = {
    job: o.job,
    columns: o.columns,
    options: o.options,
    initialMeans: o.initialMeans,
    sourceStartOffsets: starts,
    sourceEndOffsets: ends,
    summaryStartOffsets: await o.transport.endOffsets(o.topics.summaries),
    modelName: o.modelName,
  };
  const outcome = deferred<{ model: TransformerModel }>();
  const broadcasts = new JobBroadcasts(o, outcome.reject);
  const started = Date.now();

  const params = await o.transport.subscribe({
    topic: o.topics.params,
    group: null,
    eachBatch: async (batch) => {
      for (const record of batch.records) broadcasts.read(record);
    },
  });
  let models: Subscription;
  try {
    models = await watchForModel(o, outcome.resolve);
  } catch (err) {
    await params.stop();
    throw err;
  }
  // Without its readers the job would wait for ever: their failure is the job's.
  const readersFailed = anyFailed([params, models]);
  let ended = false;
  let submitted = false;
  const cancelled = new Promise<never>((_, reject) => {
    const cancel = (): void => reject(new FitCancelledError(`job ${o.job} cancelled`));
    if (o.signal?.aborted === true) cancel();
    else o.signal?.addEventListener('abort', cancel, { once: true });
  });
  cancelled.catch(() => undefined);
  o.metrics?.ready();
  try {
    await Promise.race([assertNewJob(o, broadcasts, readersFailed), cancelled]);
    broadcasts.submitted = true;
    await broadcastJob(o, spec, 'submitted');
    submitted = true;
    if (o.signal?.aborted === true) throw new FitCancelledError(`job ${o.job} cancelled`);
    // Ingest catches up while the stats workers summarise what it has committed; when it
    // stalls, the job ends as failed, so that no reducer or worker keeps waiting for its rows.
    const ingestStalled = waitForIngest(o, starts, ends, () => ended).then(
      () => new Promise<never>(() => undefined),
      async (err: unknown) => {
        // Once the job has ended, a failed poll (the transport closing) is nobody's concern.
        if (ended) return new Promise<never>(() => undefined);
        await broadcastJob(o, spec, 'failed', err instanceof Error ? err.message : String(err)).catch(() => undefined);
        throw err;
      },
    );
    ingestStalled.catch(() => undefined);
    const { model } = await Promise.race([outcome.promise, readersFailed, ingestStalled, cancelled]);
    o.log(`job ${o.job}: done in ${((Date.now() - started) / 1000).toFixed(1)} s, ${broadcasts.rounds} rounds, ${model.rows} rows fitted`);
    return { model, rounds: broadcasts.rounds, rows: model.rows };
  } catch (err) {
    // A cancelled job that was submitted ends as failed, or every reducer and stats worker (a
    // later job's too) would go on working for it.
    if (err instanceof FitCancelledError && submitted) {
      await broadcastJob(o, spec, 'failed', 'cancelled: its fit command was interrupted').catch(() => undefined);
    }
    throw err;
  } finally {
    ended = true;
    await params.stop();
    await models.stop();
  }
}

/**
 * The reducer stage: one process (restartable) that turns partials into broadcasts.
 * It learns jobs from the params topic, replays the stats topic from the start (so a
 * restart resumes where the last one stopped), and after catching up broadcasts each
 * job's next round, or publishes its model to the models topic (and to a model sink,
 * e.g. S3) when the fit is done.
 */
import { broadcastCodec, partialCodec, type FitBroadcast, type FitPartialMessage } from '../../topics/fit-messages';
import { modelRecordCodec, type ModelSink } from '../../topics/model-record';
import type { TopicNames } from '../../topics/topology';
import type { Producer, RecordBatch, Subscription, Transport } from '../../topics/transport';
import { JobReducer } from './job-reducer';
import { serial } from '../../core/serial';
import type { StageHandle } from '../runner/stage-handle';
import { NO_STAGE_METRICS, type StageMetrics } from '../runner/stage-metrics';

/** Somewhere else to keep each final model, e.g. an S3 bucket. */

export interface ReducerOptions {
  readonly transport: Transport;
  readonly topics: TopicNames;
  readonly modelSink?: ModelSink;
  readonly log?: (line: string) => void;
  /** Fit jobs' rounds, iterations and lower bounds; ready once it has replayed stats and params (default: none). */
  readonly metrics?: StageMetrics;
}

export type ReducerHandle = StageHandle;

class Reducer {
  private readonly jobs = new Map<string, JobReducer>();
  private readonly finished = new Set<string>();
  /** Partials that arrived before their job's spec. */
  private readonly early = new Map<string, FitPartialMessage[]>();
  private producer: Producer | null = null;
  /**
   * Broadcasts wait until both topics have been replayed up to their ends at start:
   * the stats topic (to rebuild each job's state) and the params topic (to know which
   * jobs are finished, so their models are not published again).
   */
  private statsEnd = 0;
  private statsRead = 0;
  private paramsEnd = 0;
  private paramsRead = 0;
  /** Handlers of both subscriptions run one at a time, in arrival order. */
  private readonly handlers = serial();
  private readonly dirty = new Set<string>();

  private readonly metrics: StageMetrics;

  constructor(private readonly o: ReducerOptions) {
    this.metrics = o.metrics ?? NO_STAGE_METRICS;
    this.metrics.notReady(`replaying ${o.topics.stats} and ${o.topics.params}`);
  }

  async start(): Promise<Subscription[]> {
    const { transport, topics } = this.o;
    this.producer = await transport.producer();
    this.statsEnd = (await transport.endOffsets(topics.stats)).reduce((a, b) => a + b, 0);
    this.paramsEnd = (await transport.endOffsets(topics.params)).reduce((a, b) => a + b, 0);
    const params = await transport.subscribe({ topic: topics.params, group: null, eachBatch: (b) => this.handlers.run(() => this.onBroadcasts(b)) });
    const stats = await transport.subscribe({ topic: topics.stats, group: null, eachBatch: (b) => this.handlers.run(() => this.onPartials(b)) });
    if (this.caughtUp) this.handlers.run(() => this.flush());
    return [params, stats];
  }

  async close(): Promise<void> {
    this.metrics.notReady('stopped');
    await this.handlers.idle();
    await this.producer?.close();
  }

  private log(line: string): void {
    this.o.log?.(`[reduce] ${line}`);
  }

  private get caughtUp(): boolean {
    return this.statsRead >= this.statsEnd && this.paramsRead >= this.paramsEnd;
  }

  private async onBroadcasts(batch: RecordBatch): Promise<void> {
    this.metrics.batch(batch.records.length);
    for (const record of batch.records) {
      this.paramsRead = Math.max(this.paramsRead, record.offset + 1);
      let b: FitBroadcast;
      try {
        b = broadcastCodec.decode(record.value);
      } catch {
        continue;
      }
      const job = b.spec.job;
      if (b.status === 'done' || b.status === 'failed') {
        // Finished before this reducer started (or by another reducer, or cancelled by its fit
        // command): never publish again.
        const driving = this.jobs.has(job);
        this.finished.add(job);
        this.jobs.delete(job);
        this.dirty.delete(job);
        this.early.delete(job);
        // A job ended elsewhere while this reducer drove it: the rounds it broadcast meanwhile came
        // after that end on params (compacted: the last record of a key stays), so it says the
        // end again, last, or a stats worker or a restarted reducer would take the job up again.
        if (driving && this.caughtUp) await this.send(b);
        continue;
      }
      if (this.jobs.has(job) || this.finished.has(job)) continue;
      let reducer: JobReducer;
      try {
        reducer = new JobReducer(b.spec);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        this.log(`job ${job} rejected: ${error}`);
        await this.send({ ...b, status: 'failed', request: null, progress: [], error });
        this.metrics.fitEnded(job, 'failed');
        this.finished.add(job);
        continue;
      }
      this.log(`job ${job}: ${b.spec.columns.length} columns, ${b.spec.sourceEndOffsets.length} input partitions, ${reducer.shards} value shards`);
      this.jobs.set(job, reducer);
      this.dirty.add(job);
      for (const m of this.early.get(job) ?? []) this.take(reducer, m);
      this.early.delete(job);
    }
    await this.flush();
  }

  private async onPartials(batch: RecordBatch): Promise<void> {
    this.metrics.batch(batch.records.length);
    for (const record of batch.records) {
      this.statsRead = Math.max(this.statsRead, record.offset + 1);
      let m: FitPartialMessage;
      try {
        m = partialCodec.decode(record.value);
      } catch {
        continue;
      }
      const reducer = this.jobs.get(m.job);
      if (reducer !== undefined) this.take(reducer, m);
      else if (!this.finished.has(m.job)) this.early.set(m.job, [...(this.early.get(m.job) ?? []), m]);
    }
    await this.flush();
  }

  private take(reducer: JobReducer, m: FitPartialMessage): void {
    if (reducer.add(m)) this.dirty.add(reducer.spec.job);
  }

  /** Publishes what changed: next rounds, finished models, failures. */
  private async flush(): Promise<void> {
    if (!this.caughtUp) return;
    this.metrics.ready();
    for (const job of [...this.dirty]) {
      this.dirty.delete(job);
      const reducer = this.jobs.get(job);
      if (reducer === undefined) continue;
      const b = reducer.broadcast();
      const model = reducer.result;
      if (model !== null) {
        await this.o.modelSink?.(job, reducer.spec.modelName, model);
        await this.producer?.send([
          { topic: this.o.topics.models, key: reducer.spec.modelName, value: modelRecordCodec.encode({ job, modelName: reducer.spec.modelName, model }) },
        ]);
        this.log(`job ${job}: model ${reducer.spec.modelName} published after ${reducer.round} rounds`);
      } else if (b.status === 'failed') {
        this.log(`job ${job} failed: ${b.error ?? ''}`);
      }
      await this.send(b);
      if (b.status === 'running') this.metrics.fitRound(job, b.round, reducer.columns());
      else if (b.status === 'done' || b.status === 'failed') this.metrics.fitEnded(job, b.status);
      if (reducer.done) {
        this.jobs.delete(job);
        this.finished.add(job);
      }
    }
  }

  private async send(b: FitBroadcast): Promise<void> {
    await this.producer?.send([{ topic: this.o.topics.params, key: b.spec.job, value: broadcastCodec.encode(b) }]);
  }
}

export async function runReducer(options: ReducerOptions): Promise<ReducerHandle> {
  const reducer = new Reducer(options);
  const subscriptions = await reducer.start();
  return {
    async stop() {
      await Promise.all(subscriptions.map((s) => s.stop()));
      await reducer.close();
    },
    done: Promise.all(subscriptions.map((s) => s.done)).then(() => undefined),
  };
}

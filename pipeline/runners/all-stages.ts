/**
 * Every stage of the fit in this process: ingest, stats workers and the reducer, over
 * one transport. The embedded runner uses it over memory; `vgmflow fit --brokers
 * --all-stages` over Kafka (a laptop's whole pipeline in one process).
 */
import { runIngest, type IngestHandle } from '../../stages/ingest/ingest-stage';
import { runReducer, type ReducerHandle } from '../../stages/reduce/reducer-stage';
import type { ModelSink } from '../../topics/model-record';
import { runStatsWorker, type StatsWorkerHandle } from '../../stages/stats/stats-worker';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { TopicNames } from '../../topics/topology';
import type { Transport } from '../../topics/transport';
import type { StageMetrics } from '../../stages/runner/stage-metrics';

export interface AllStagesOptions {
  readonly transport: Transport;
  readonly topics: TopicNames;
  readonly columns: readonly ColumnSpec[];
  readonly statsWorkers?: number;
  /** Worker threads per stats worker for its partials, and ingest's parse threads (0: their own thread). Default 0. */
  readonly statsThreads?: number;
  readonly header?: boolean;
  readonly modelSink?: ModelSink;
  readonly log?: (line: string) => void;
  /** The metrics of each stage started (one call per stage instance); default none. */
  readonly metrics?: (stage: string) => StageMetrics;
}

export interface AllStagesHandle {
  readonly ingest: IngestHandle;
  stop(): Promise<void>;
  /** Rejects as soon as any stage fails. */
  readonly failed: Promise<never>;
}

export async function startAllStages(o: AllStagesOptions): Promise<AllStagesHandle> {
  const reducer: ReducerHandle = await runReducer({ transport: o.transport, topics: o.topics, modelSink: o.modelSink, log: o.log, metrics: o.metrics?.('reduce') });
  const workers: StatsWorkerHandle[] = [];
  let ingest: IngestHandle;
  try {
    for (let i = 0; i < (o.statsWorkers ?? 1); i++) {
      workers.push(await runStatsWorker({ transport: o.transport, topics: o.topics, workerId: `local-${i}`, threads: o.statsThreads, log: o.log, metrics: o.metrics?.('stats') }));
    }
    ingest = await runIngest({ transport: o.transport, topics: o.topics, columns: o.columns, header: o.header, metrics: o.metrics?.('ingest'), threads: o.statsThreads });
  } catch (err) {
    // What started must stop, or its threads and consumers would keep the process from exiting.
    await Promise.allSettled([...workers.map((w) => w.stop()), reducer.stop()]);
    throw err;
  }
  const all = [ingest.done, reducer.done, ...workers.map((w) => w.done)];
  const failed = new Promise<never>((_, reject) => {
    for (const done of all) done.catch(reject);
  });
  failed.catch(() => undefined);
  return {
    ingest,
    failed,
    async stop() {
      // At once: each consumer's stop waits for its fetch in flight (up to the fetch wait, 1 s
      // when idle), and none of the stages needs another to stop first.
      await Promise.all([ingest.stop(), ...workers.map((w) => w.stop()), reducer.stop()]);
    },
  };
}

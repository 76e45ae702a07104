/**
 * The stats worker stage: a stateless CombineFn worker. It owns some partitions of the
 * batches topic (shared with other workers through a consumer group), builds each
 * partition's summary for the current fit job by reading it from the start, and answers
 * every broadcast round with one partial per owned partition. Everything it holds is
 * rebuilt from topics after a restart; duplicate partials are ignored by the reducer.
 */
import { broadcastCodec, partialCodec, FIT_PROTOCOL_VERSION, partialKey, type FitBroadcast } from '../../topics/fit-messages';
import { rowBatchCodec } from '../../topics/row-batch-codec';
import { stageGroup, type TopicNames } from '../../topics/topology';
import type { Producer, RecordBatch, Subscription, Transport } from '../../topics/transport';
import type { PartitionPartial } from '../../core/normalization/fit-transformer';
import { partialComputer, type PartialComputer } from './partial-pool';
import { PartitionSummary } from './partition-summary';
import { serial } from '../../core/serial';
import type { StageHandle } from '../runner/stage-handle';

export interface StatsWorkerOptions {
  readonly transport: Transport;
  readonly topics: TopicNames;
  /** Consumer group the workers share. Default stageGroup(topics, 'stats'), e.g. vgmflow-vgm-stats. */
  readonly group?: string;
  /** Name in logs and partial messages. */
  readonly workerId: string;
  /**
   * Worker threads that compute the partials of the owned partitions (partition p on thread
   * p mod n); 0 computes them in this thread. Default 0.
   */
  readonly threads?: number;
  readonly log?: (line: string) => void;
}

export interface StatsWorkerHandle extends StageHandle {
  /** Partials this worker has produced. */
  readonly partialsSent: number;
}

interface CurrentJob {
  readonly broadcast: FitBroadcast;
  readonly summaries: Map<number, PartitionSummary>;
  /** Rounds answered per partition. */
  readonly answered: Map<number, number>;
}

class StatsWorker {
  private owned = new Set<number>();
  private job: CurrentJob | null = null;
  private batches: Subscription | null = null;
  private batchStarts: number[] = [];
  private producer: Producer | null = null;
  private sent = 0;
  /** Emissions run one at a time, in order, after the handlers that trigger them. */
  private readonly emissions = serial();
  private readonly partials: PartialComputer;
  /** Rejects when partials cannot be sent (the transport has given up): the worker cannot go on. */
  readonly failed: Promise<never>;
  private fail: (error: unknown) => void = () => undefined;

  constructor(private readonly o: StatsWorkerOptions) {
    this.partials = partialComputer(o.threads ?? 0);
    this.failed = new Promise<never>((_, reject) => (this.fail = reject));
    this.failed.catch(() => undefined);
  }

  get partialsSent(): number {
    return this.sent;
  }

  async start(): Promise<Subscription[]> {
    const { transport, topics } = this.o;
    this.producer = await transport.producer();
    this.batchStarts = await transport.startOffsets(topics.batches);
    const params = await transport.subscribe({
      topic: topics.params,
      group: null,
      eachBatch: (b) => this.onBroadcasts(b),
    });
    this.batches = await transport.subscribe({
      topic: topics.batches,
      group: this.o.group ?? stageGroup(topics, 'stats'),
      fromBeginning: true,
      onAssign: (partitions) => this.onAssign(partitions),
      eachBatch: (b) => this.onBatches(b),
    });
    return [params, this.batches];
  }

  async close(): Promise<void> {
    await this.emissions.idle();
    await this.partials.close();
    await this.producer?.close();
  }

  private log(line: string): void {
    this.o.log?.(`[stats ${this.o.workerId}] ${line}`);
  }

  private onAssign(partitions: readonly number[]): void {
    const next = new Set(partitions);
    for (const p of next) if (!this.owned.has(p)) this.startPartition(p);
    if (this.job !== null) for (const p of this.owned) if (!next.has(p)) this.job.summaries.delete(p);
    this.owned = next;
    this.log(`owns partitions ${[...next].sort((a, b) => a - b).join(',') || '(none)'}`);
    this.scheduleEmit();
  }

  /** (Re)reads a partition from its start for the current job. */
  private startPartition(p: number): void {
    const job = this.job;
    if (job !== null) {
      const spec = job.broadcast.spec;
      const summary = new PartitionSummary(spec.columns, spec.sourceStartOffsets[p] ?? 0, spec.sourceEndOffsets[p] ?? 0);
      job.summaries.set(p, summary);
      job.answered.delete(p);
      // A partition with no rows in the job's snapshot is complete from the start.
      if (summary.complete) this.partials.load(spec.job, p, summary.partitionData());
    }
    this.batches?.seek(p, this.batchStarts[p] ?? 0);
  }

  private async onBroadcasts(batch: RecordBatch): Promise<void> {
    for (const record of batch.records) {
      let broadcast: FitBroadcast;
      try {
        broadcast = broadcastCodec.decode(record.value);
      } catch (err) {
        this.log(`ignoring a broadcast at offset ${record.offset}: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      if (broadcast.protocol !== FIT_PROTOCOL_VERSION) continue;
      const current = this.job;
      if (broadcast.status !== 'running') {
        if (current?.broadcast.spec.job === broadcast.spec.job) this.job = null;
        continue;
      }
      if (current !== null && current.broadcast.spec.job === broadcast.spec.job) {
        if (broadcast.round > current.broadcast.round) this.job = { ...current, broadcast };
        continue;
      }
      if (current !== null) this.partials.forget(current.broadcast.spec.job);
      // A new job: rebuild every owned partition's summary for its snapshot.
      this.log(`job ${broadcast.spec.job}: building summaries`);
      this.batchStarts = await this.o.transport.startOffsets(this.o.topics.batches);
      this.job = { broadcast, summaries: new Map(), answered: new Map() };
      for (const p of this.owned) this.startPartition(p);
    }
    this.scheduleEmit();
  }

  private async onBatches(batch: RecordBatch): Promise<void> {
    const job = this.job;
    if (job === null) return;
    const summary = job.summaries.get(batch.partition);
    if (summary === undefined || summary.complete) return;
    for (const record of batch.records) {
      const rows = rowBatchCodec.decode(record.value);
      const outcome = summary.add(rows);
      if (outcome === 'gap') {
        this.log(`partition ${batch.partition}: batch at offset ${record.offset} skips source offsets; re-reading the partition`);
        this.startPartition(batch.partition);
        return;
      }
      if (summary.complete) {
        this.partials.load(job.broadcast.spec.job, batch.partition, summary.partitionData());
        this.log(`partition ${batch.partition}: summary complete (${summary.rows} rows)`);
        break;
      }
    }
    this.scheduleEmit();
  }

  private scheduleEmit(): void {
    // A send that fails has outlasted the transport's retries: unanswered, the round would wait
    // for ever, so the worker fails instead.
    this.emissions.run(() => this.emit()).catch((err: unknown) => this.fail(err));
  }

  private async emit(): Promise<void> {
    const job = this.job;
    if (job === null || job.broadcast.request === null || this.producer === null) return;
    const { round, request, spec } = job.broadcast;
    const due = [...this.owned]
      .sort((a, b) => a - b)
      .filter((p) => job.summaries.get(p)?.complete === true && (job.answered.get(p) ?? -1) < round);
    // Computed concurrently (on threads when there are any), sent in partition order.
    const partials = await Promise.all(due.map((p) => this.partials.compute(spec.job, p, request)));
    const records = due.map((p, i) => ({
      topic: this.o.topics.stats,
      key: partialKey(spec.job, round, p),
      value: partialCodec.encode({ protocol: FIT_PROTOCOL_VERSION, job: spec.job, round, partition: p, worker: this.o.workerId, partial: partials[i] as PartitionPartial }),
    }));
    for (const p of due) job.answered.set(p, round);
    if (records.length > 0) {
      await this.producer.send(records);
      this.sent += records.length;
    }
  }
}

export async function runStatsWorker(options: StatsWorkerOptions): Promise<StatsWorkerHandle> {
  const worker = new StatsWorker(options);
  let subscriptions: Subscription[];
  try {
    subscriptions = await worker.start();
  } catch (err) {
    await worker.close().catch(() => undefined);
    throw err;
  }
  const done = Promise.race([Promise.all(subscriptions.map((s) => s.done)).then(() => undefined), worker.failed]);
  worker.failed.catch(() => Promise.allSettled(subscriptions.map((s) => s.stop())));
  return {
    get partialsSent() {
      return worker.partialsSent;
    },
    async stop() {
      await Promise.all(subscriptions.map((s) => s.stop()));
      await worker.close();
    },
    done,
  };
}

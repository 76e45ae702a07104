/**
 * The stats worker stage: a stateless CombineFn worker in two roles, each shared with the
 * other workers through its own consumer group.
 *
 * - Reader (group on `batches`): for each owned input partition it builds the partition's
 *   summary for the current fit job by reading the partition from the start, then cuts it
 *   into value shards and publishes one chunk per shard on `summaries` (partition = shard).
 * - Shard owner (group on `summaries`): for each owned value shard it merges the chunks of
 *   every input partition into the shard's summary and answers every broadcast round with
 *   one partial per owned shard, computed on worker threads.
 *
 * So a value is visited once per EM iteration however many partitions hold it, and the
 * partials are a function of the rows alone (ARCHITECTURE.md, "The fit round protocol").
 * Everything a worker holds is rebuilt from topics after a restart; the reducer ignores
 * duplicate partials and the shard owners duplicate chunks.
 */
import { broadcastCodec, partialCodec, FIT_PROTOCOL_VERSION, partialKey, type FitBroadcast } from '../../topics/fit-messages';
import { summaryChunkCodec, summaryChunkJob } from '../../topics/summary-chunk';
import { stageGroup, type TopicNames } from '../../topics/topology';
import type { OutRecord, Producer, RecordBatch, Subscription, Transport } from '../../topics/transport';
import { SummaryData } from '../../core/normalization/summary-data';
import { partialComputer, type PartialComputer } from './partial-pool';
import { partitionJob, type ChunkRecord } from './partition-chunks';
import { partitionSummarizers, type PartitionSummarizers } from './summary-pool';
import { ShardAssembly } from './shard-assembly';
import { serial } from '../../core/serial';
import type { StageHandle } from '../runner/stage-handle';
import { NO_STAGE_METRICS, partitionLag, type StageMetrics } from '../runner/stage-metrics';

export interface StatsWorkerOptions {
  readonly transport: Transport;
  readonly topics: TopicNames;
  /** Consumer group of the readers of `batches`. Default stageGroup(topics, 'stats'), e.g. vgmflow-vgm-stats. */
  readonly group?: string;
  /** Consumer group of the shard owners on `summaries`: the readers' group with `-shards` appended. */
  /** Name in logs and partial messages. */
  readonly workerId: string;
  /**
   * Worker threads that compute the partials of the owned shards (shard s on thread s mod n), and
   * as many that build the owned input partitions' summaries (partition p on thread p mod n);
   * 0 does both in this thread. Default 0.
   */
  readonly threads?: number;
  readonly log?: (line: string) => void;
  /** Batches and rows read into summaries, partials sent, lag on batches, readiness (default: none). */
  readonly metrics?: StageMetrics;
}

export interface StatsWorkerHandle extends StageHandle {
  /** Partials this worker has produced. */
  readonly partialsSent: number;
}

/** Reader role: an owned input partition whose summary is being built (by the summarizers). */
interface PartitionState {
  /** Tells this summary from an earlier one of the same partition (restarted after a gap). */
  readonly generation: number;
  complete: boolean;
  /** Rows of the job summarised so far. */
  rows: number;
}

interface CurrentJob {
  readonly broadcast: FitBroadcast;
  /** Reader role: the owned input partitions' summaries being built. */
  readonly partitions: Map<number, PartitionState>;
  /** Shard-owner role: the owned shards' summaries being assembled. */
  readonly shards: Map<number, ShardAssembly>;
  /** Rounds answered per shard. */
  readonly answered: Map<number, number>;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

class StatsWorker {
  private ownedPartitions = new Set<number>();
  private ownedShards = new Set<number>();
  private job: CurrentJob | null = null;
  private batches: Subscription | null = null;
  private summaries: Subscription | null = null;
  private batchStarts: number[] = [];
  private producer: Producer | null = null;
  private sent = 0;
  /** Sends run one at a time, in order, after the handlers that trigger them. */
  private readonly sends = serial();
  private readonly partials: PartialComputer;
  private readonly summarizers: PartitionSummarizers;
  private generations = 0;
  /** Rejects when chunks or partials cannot be sent (the transport has given up): the worker cannot go on. */
  readonly failed: Promise<never>;
  private fail: (error: unknown) => void = () => undefined;
  private readonly metrics: StageMetrics;
  /** How far this worker has read each owned batches partition, for the lag. */
  private readonly reached = new Map<number, number>();

  constructor(private readonly o: StatsWorkerOptions) {
    this.metrics = o.metrics ?? NO_STAGE_METRICS;
    this.metrics.notReady('joining its consumer groups');
    this.partials = partialComputer(o.threads ?? 0);
    this.summarizers = partitionSummarizers(o.threads ?? 0);
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
    const params = await transport.subscribe({ topic: topics.params, group: null, eachBatch: (b) => this.onBroadcasts(b) });
    const group = this.o.group ?? stageGroup(topics, 'stats');
    this.summaries = await transport.subscribe({
      topic: topics.summaries,
      group: `${group}-shards`,
      fromBeginning: true,
      onAssign: (shards) => this.onAssignShards(shards),
      eachBatch: (b) => this.onChunks(b),
    });
    this.metrics.lag(topics.batches, () => this.batchesLag());
    this.batches = await transport.subscribe({
      topic: topics.batches,
      group,
      fromBeginning: true,
      onAssign: (partitions) => this.onAssignPartitions(partitions),
      eachBatch: (b) => this.onBatches(b),
      onPosition: (partition, next) => this.reached.set(partition, next),
      // Every partition's batches at once: each waits for its own summary thread, so one at a
      // time would keep all threads but one idle.
      partitionsAtOnce: Math.max(1, this.batchStarts.length),
    });
    this.metrics.ready();
    return [params, this.summaries, this.batches];
  }

  /** Per owned batches partition: its end offset minus how far this worker has read it. */
  private async batchesLag(): Promise<ReadonlyMap<number, number>> {
    const ends = await this.o.transport.endOffsets(this.o.topics.batches);
    return partitionLag(ends, this.ownedPartitions, (p) => this.reached.get(p) ?? this.batchStarts[p] ?? 0);
  }

  async close(): Promise<void> {
    this.metrics.notReady('stopped');
    await this.sends.idle();
    await this.partials.close();
    await this.summarizers.close();
    await this.producer?.close();
  }

  private log(line: string): void {
    this.o.log?.(`[stats ${this.o.workerId}] ${line}`);
  }

  private async onBroadcasts(batch: RecordBatch): Promise<void> {
    for (const record of batch.records) {
      let broadcast: FitBroadcast;
      try {
        broadcast = broadcastCodec.decode(record.value);
      } catch (err) {
        this.log(`ignoring a broadcast at offset ${record.offset}: ${message(err)}`);
        continue;
      }
      if (broadcast.protocol !== FIT_PROTOCOL_VERSION) continue;
      const current = this.job;
      if (broadcast.status !== 'running') {
        if (current?.broadcast.spec.job === broadcast.spec.job) {
          this.job = null;
          for (const p of this.ownedPartitions) this.summarizers.drop(p);
        }
        continue;
      }
      if (current !== null && current.broadcast.spec.job === broadcast.spec.job) {
        if (broadcast.round > current.broadcast.round) this.job = { ...current, broadcast };
        continue;
      }
      if (current !== null) this.partials.forget(current.broadcast.spec.job);
      this.log(`job ${broadcast.spec.job}: building summaries`);
      this.batchStarts = await this.o.transport.startOffsets(this.o.topics.batches);
      this.job = { broadcast, partitions: new Map(), shards: new Map(), answered: new Map() };
      for (const s of this.ownedShards) this.startShard(s);
      for (const p of this.ownedPartitions) this.startPartition(p);
    }
    this.scheduleAnswers();
  }

  // --- reader: input partitions → shard chunks -------------------------------------------

  private onAssignPartitions(partitions: readonly number[]): void {
    const next = new Set(partitions);
    this.reached.clear();
    for (const p of next) if (!this.ownedPartitions.has(p)) this.startPartition(p);
    for (const p of this.ownedPartitions) {
      if (next.has(p)) continue;
      this.job?.partitions.delete(p);
      this.summarizers.drop(p);
    }
    this.ownedPartitions = next;
    this.log(`reads partitions ${[...next].sort((a, b) => a - b).join(',') || '(none)'}`);
  }

  /** (Re)reads a partition from its start for the current job. */
  private startPartition(p: number): void {
    const job = this.job;
    if (job !== null) {
      const state: PartitionState = { generation: ++this.generations, complete: false, rows: 0 };
      job.partitions.set(p, state);
      // The summarizer sees the start before any batch of this generation (messages keep their
      // order); a partition with no rows in the job's snapshot is complete from the start.
      this.summarizers.start(p, state.generation, partitionJob(job.broadcast.spec)).then(
        (chunks) => {
          if (chunks !== null && job.partitions.get(p) === state) this.publishShards(p, state, chunks);
        },
        (err: unknown) => this.fail(err),
      );
    }
    this.batches?.seek(p, this.batchStarts[p] ?? 0);
  }

  private async onBatches(batch: RecordBatch): Promise<void> {
    this.metrics.batch(batch.records.length);
    const job = this.job;
    if (job === null) return;
    const p = batch.partition;
    const state = job.partitions.get(p);
    if (state === undefined || state.complete) return;
    // Every batch handed over at once (the summarizer keeps their order), looked at in order.
    const replies = batch.records.map((record) => this.summarizers.add(p, state.generation, record.value));
    replies.forEach((r) => r.catch(() => undefined));
    for (const [i, reply] of replies.entries()) {
      const added = await reply;
      // Superseded meanwhile (a new job, a restart of the partition, a lost assignment).
      // (A round's broadcast replaces the job object but keeps its partitions map.)
      if (added === null || this.job?.partitions !== job.partitions || job.partitions.get(p) !== state || state.complete) return;
      this.metrics.rowsIn(added.rows - state.rows);
      state.rows = added.rows;
      if (added.outcome === 'gap') {
        this.log(`partition ${p}: batch at offset ${batch.records[i]?.offset ?? '?'} skips source offsets; re-reading the partition`);
        this.startPartition(p);
        return;
      }
      if (added.chunks !== null) {
        this.log(`partition ${p}: summary complete (${added.rows} rows)`);
        this.publishShards(p, state, added.chunks);
        return;
      }
    }
  }

  /** Sends each value shard its chunks of a complete partition summary. */
  private publishShards(partition: number, state: PartitionState, chunks: readonly ChunkRecord[]): void {
    state.complete = true;
    const records: OutRecord[] = chunks.map((c) => ({ topic: this.o.topics.summaries, partition: c.shard, key: c.key, value: c.value }));
    // The summary is in the chunks now; a restart rebuilds it from `batches` if they are lost.
    this.summarizers.drop(partition);
    this.schedule(async () => {
      for (const record of records) await this.producer?.send([record]);
    }, `could not publish the summary of partition ${partition}`);
  }

  // --- shard owner: shard chunks → partials ------------------------------------------------

  private onAssignShards(shards: readonly number[]): void {
    const next = new Set(shards);
    for (const s of next) if (!this.ownedShards.has(s)) this.startShard(s);
    if (this.job !== null) {
      for (const s of this.ownedShards) {
        if (next.has(s)) continue;
        this.job.shards.delete(s);
        this.job.answered.delete(s);
      }
    }
    this.ownedShards = next;
    this.log(`owns value shards ${[...next].sort((a, b) => a - b).join(',') || '(none)'}`);
    this.scheduleAnswers();
  }

  /** (Re)reads a shard's chunks from where the current job's begin. */
  private startShard(s: number): void {
    const job = this.job;
    if (job === null) return;
    job.shards.set(s, new ShardAssembly(job.broadcast.spec, s));
    job.answered.delete(s);
    this.summaries?.seek(s, job.broadcast.spec.summaryStartOffsets[s] ?? 0);
  }

  private async onChunks(batch: RecordBatch): Promise<void> {
    const job = this.job;
    const assembly = job?.shards.get(batch.partition);
    if (job === null || assembly === undefined || assembly.complete) return;
    for (const record of batch.records) {
      if (summaryChunkJob(record.key) !== job.broadcast.spec.job) continue;
      let added: boolean;
      try {
        added = assembly.add(summaryChunkCodec.decode(record.value));
      } catch (err) {
        this.log(`ignoring a summary chunk at ${batch.partition}/${record.offset}: ${message(err)}`);
        continue;
      }
      if (added && assembly.complete) {
        const summaries = assembly.summaries();
        this.partials.load(job.broadcast.spec.job, batch.partition, new SummaryData(summaries));
        this.log(`value shard ${batch.partition}: summary complete`);
        break;
      }
    }
    this.scheduleAnswers();
  }

  private scheduleAnswers(): void {
    this.schedule(() => this.answer(), 'could not send partials');
  }

  private schedule(work: () => Promise<void>, what: string): void {
    // A send that fails has outlasted the transport's retries: unsent, the round would wait for
    // ever, so the worker fails instead.
    this.sends.run(work).catch((err: unknown) => {
      this.log(`${what}: ${message(err)}`);
      this.fail(err);
    });
  }

  private async answer(): Promise<void> {
    const job = this.job;
    if (job === null || job.broadcast.request === null || this.producer === null) return;
    const { round, request, spec } = job.broadcast;
    const due = [...this.ownedShards]
      .sort((a, b) => a - b)
      .filter((s) => job.shards.get(s)?.complete === true && (job.answered.get(s) ?? -1) < round);
    // Computed concurrently (on threads when there are any), sent in shard order.
    const partials = await Promise.all(due.map((s) => this.partials.compute(spec.job, s, request)));
    const records = due.map((s, i) => ({
      topic: this.o.topics.stats,
      key: partialKey(spec.job, round, s),
      value: partialCodec.encode({ protocol: FIT_PROTOCOL_VERSION, job: spec.job, round, shard: s, worker: this.o.workerId, partial: partials[i] }),
    }));
    for (const s of due) job.answered.set(s, round);
    if (records.length > 0) {
      await this.producer.send(records);
      this.sent += records.length;
      this.metrics.sent(records.length);
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

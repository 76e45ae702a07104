/**
 * The Prometheus side of StageMetrics (stages/runner/stage-metrics.ts): one prom-client
 * registry per process (never the library's global one, so tests and `--all-stages` with
 * several stages in one process keep their own), every series labelled by stage, and the
 * readiness of every stage registered in the process. Served by ./metrics-server.ts.
 *
 * Counters are bumped per batch and per transaction; the consumer lag is read from the
 * brokers when the metrics are scraped (at most every LAG_REFRESH_MS), never on the hot path.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ColumnFitProgress, StageMetrics } from '../../stages/runner/stage-metrics';

/** Prefix of every metric name (ISSUE14-INTERFACE.md), prom-client's process metrics too. */
export const METRIC_PREFIX = 'vgmflow_';
/** A scrape within this long of the last lag read reuses it (scrapes may come every second). */
export const LAG_REFRESH_MS = 2_000;
/** A lag read slower than this is given up for this scrape (the brokers may be away). */
export const LAG_TIMEOUT_MS = 3_000;

interface LagSource {
  readonly stage: string;
  readonly topic: string;
  readonly read: () => Promise<ReadonlyMap<number, number>>;
}

interface LagSample {
  readonly stage: string;
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

/** One stage instance's readiness: null when ready, else why not. */
interface Readiness {
  readonly stage: string;
  reason: string | null;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export class ProcessMetrics {
  readonly registry = new Registry();
  private readonly instances: Readiness[] = [];
  private readonly lagSources = new Map<string, LagSource>();
  private lagSamples: LagSample[] = [];
  private lagReadAt = -Infinity;
  private lagReading: Promise<void> | null = null;

  private readonly inputRecords = this.counter('input_records_total', 'Input messages (Kafka records) handed to the stage, counted as they arrive');
  private readonly batches = this.counter('batches_total', 'Input batches (records of one partition) handed to the stage');
  private readonly rowsIn = this.counter('rows_in_total', 'Input rows taken in: rows accounted for by committed transactions (out + dead-lettered), or read into summaries (stats)');
  private readonly rowsOut = this.counter('rows_out_total', 'Output rows committed');
  private readonly deadLetters = this.counter('dead_letters_total', 'Dead letters committed (rows, lines or messages that could not be handled, with the reason)');
  private readonly committed = this.counter('transactions_committed_total', 'Kafka transactions committed');
  private readonly aborted = this.counter('transactions_aborted_total', 'Kafka transactions that did not commit (their input is read again)');
  private readonly sent = this.counter('messages_sent_total', 'Messages sent outside transactions (the stats worker\'s partials)');
  private readonly modelInstalls = this.counter('model_installs_total', 'Models put in use');
  private readonly fitJobs = new Counter({ name: `${METRIC_PREFIX}fit_jobs_total`, help: 'Fit jobs ended, by status', labelNames: ['stage', 'status'], registers: [this.registry] });
  private readonly ready = new Gauge({ name: `${METRIC_PREFIX}ready`, help: '1 when the stage is ready (joined its group; has its model where it needs one), else 0', labelNames: ['stage'], registers: [this.registry] });
  private readonly model = new Gauge({ name: `${METRIC_PREFIX}model_info`, help: 'The model in use: 1 for its name and version (fit job id)', labelNames: ['stage', 'model_name', 'model_version'], registers: [this.registry] });
  private readonly fitRound = new Gauge({ name: `${METRIC_PREFIX}fit_round`, help: 'The round a running fit job is at', labelNames: ['stage', 'job'], registers: [this.registry] });
  private readonly fitIteration = new Gauge({ name: `${METRIC_PREFIX}fit_iteration`, help: 'E-step iteration of an unfinished column of a running fit job (k-means step before)', labelNames: ['stage', 'job', 'column'], registers: [this.registry] });
  private readonly fitLowerBound = new Gauge({ name: `${METRIC_PREFIX}fit_lower_bound`, help: 'Evidence lower bound of an unfinished column of a running fit job after its last E-step (-Inf before)', labelNames: ['stage', 'job', 'column'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    const metrics = this;
    new Gauge({
      name: `${METRIC_PREFIX}consumer_lag`,
      help: 'Per owned input partition: its end offset minus the stage\'s position (read from the brokers at scrape time)',
      labelNames: ['stage', 'topic', 'partition'],
      registers: [this.registry],
      async collect() {
        await metrics.refreshLag();
        this.reset();
        for (const s of metrics.lagSamples) this.set({ stage: s.stage, topic: s.topic, partition: String(s.partition) }, s.lag);
      },
    });
  }

  /** The metrics of one stage instance in this process; it starts not ready ("starting"). */
  stage(name: string): StageMetrics {
    const readiness: Readiness = { stage: name, reason: 'starting' };
    this.instances.push(readiness);
    const labels = { stage: name };
    // Present from the start at 0, so that rate() and dashboards see the stage before its first batch.
    const counter = (c: Counter<'stage'>): ((n: number) => void) => {
      c.inc(labels, 0);
      return (n) => c.inc(labels, n);
    };
    const inputRecords = counter(this.inputRecords);
    const batches = counter(this.batches);
    const rowsIn = counter(this.rowsIn);
    const rowsOut = counter(this.rowsOut);
    const deadLetters = counter(this.deadLetters);
    const committed = counter(this.committed);
    const aborted = counter(this.aborted);
    const sent = counter(this.sent);
    const setReady = (): void => this.ready.set(labels, this.instances.every((r) => r.stage !== name || r.reason === null) ? 1 : 0);
    setReady();
    let modelLabels: { stage: string; model_name: string; model_version: string } | null = null;
    const lagKey = `${this.instances.length}:`;
    const fitColumns = new Map<string, Set<string>>();
    const forgetFit = (job: string): void => {
      this.fitRound.remove({ stage: name, job });
      for (const column of fitColumns.get(job) ?? []) {
        this.fitIteration.remove({ stage: name, job, column });
        this.fitLowerBound.remove({ stage: name, job, column });
      }
      fitColumns.delete(job);
    };
    return {
      batch: (records) => {
        batches(1);
        inputRecords(records);
      },
      rowsIn: (rows) => rowsIn(rows),
      committed: (out, dead) => {
        committed(1);
        rowsOut(out);
        deadLetters(dead);
        rowsIn(out + dead);
      },
      aborted: () => aborted(1),
      sent: (messages) => sent(messages),
      ready: () => {
        readiness.reason = null;
        setReady();
      },
      notReady: (reason) => {
        readiness.reason = reason;
        setReady();
      },
      modelInUse: (modelName, version) => {
        if (modelLabels !== null && modelLabels.model_name === modelName && modelLabels.model_version === version) return;
        if (modelLabels !== null) this.model.remove(modelLabels);
        modelLabels = { stage: name, model_name: modelName, model_version: version };
        this.model.set(modelLabels, 1);
        this.modelInstalls.inc(labels, 1);
      },
      lag: (topic, read) => {
        this.lagSources.set(`${lagKey}${topic}`, { stage: name, topic, read });
      },
      fitRound: (job: string, round: number, columns: readonly ColumnFitProgress[]) => {
        this.fitRound.set({ stage: name, job }, round);
        const now = new Set(columns.map((c) => c.column));
        const before = fitColumns.get(job) ?? new Set<string>();
        for (const column of before) {
          if (now.has(column)) continue;
          // Fitted: its series ends rather than standing still at its last iteration.
          this.fitIteration.remove({ stage: name, job, column });
          this.fitLowerBound.remove({ stage: name, job, column });
        }
        for (const c of columns) {
          this.fitIteration.set({ stage: name, job, column: c.column }, c.iteration);
          this.fitLowerBound.set({ stage: name, job, column: c.column }, c.lowerBound);
        }
        fitColumns.set(job, now);
      },
      fitEnded: (job, status) => {
        forgetFit(job);
        this.fitJobs.inc({ stage: name, status }, 1);
      },
    };
  }

  /** Ready when every stage of the process is; else the first one's reason, as `<stage>: <reason>`. */
  readiness(): { readonly ready: boolean; readonly reason: string } {
    if (this.instances.length === 0) return { ready: false, reason: 'starting' };
    const waiting = this.instances.find((r) => r.reason !== null);
    return waiting === undefined ? { ready: true, reason: 'ready' } : { ready: false, reason: `${waiting.stage}: ${waiting.reason ?? ''}` };
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private counter(name: string, help: string): Counter<'stage'> {
    return new Counter({ name: `${METRIC_PREFIX}${name}`, help, labelNames: ['stage'], registers: [this.registry] });
  }

  /** Reads every lag source again unless the last read is recent; one read at a time. */
  private async refreshLag(): Promise<void> {
    if (Date.now() - this.lagReadAt < LAG_REFRESH_MS) return;
    this.lagReading ??= (async () => {
      const samples: LagSample[] = [];
      await Promise.all(
        [...this.lagSources.values()].map(async (source) => {
          try {
            const lag = await withTimeout(source.read(), LAG_TIMEOUT_MS, `reading the lag of ${source.topic}`);
            for (const [partition, value] of lag) samples.push({ stage: source.stage, topic: source.topic, partition, lag: value });
          } catch {
            // Unknown this time (brokers away or slow): no sample rather than a stale or made-up one.
          }
        }),
      );
      this.lagSamples = samples;
      this.lagReadAt = Date.now();
    })().finally(() => (this.lagReading = null));
    await this.lagReading;
  }
}

/**
 * What a stage tells its monitoring: the narrow interface the stages call, implemented over
 * Prometheus by pipeline/metrics (served on --metrics-port) and by NO_STAGE_METRICS when no
 * port is given. The stages never see the metrics library.
 *
 * Every call is per batch, per transaction or per round, never per row: the data plane moves
 * rows in blocks of thousands, and a call per row would cost more than the row.
 */

/** Where one column's mixture fit is (the reducer's view of a fit job). */
export interface ColumnFitProgress {
  readonly column: string;
  /** E-step iterations of the current initialisation run (k-means steps before the E-steps). */
  readonly iteration: number;
  /** The evidence lower bound after the last E-step; -Infinity before the first. */
  readonly lowerBound: number;
}

export interface StageMetrics {
  /** A batch of `records` input messages of one partition arrived (counted before it is handled). */
  batch(records: number): void;
  /** Input rows taken in outside a transaction (the stats worker's summaries). */
  rowsIn(rows: number): void;
  /**
   * A transaction committed `rowsOut` output rows and `deadLettered` dead letters: the input rows
   * it accounts for are their sum (every input row ends in one or the other).
   */
  committed(rowsOut: number, deadLettered: number): void;
  /** A transaction did not commit (it failed or was interrupted; its input is read again). */
  aborted(): void;
  /** Messages sent outside transactions (the stats worker's partials). */
  sent(messages: number): void;
  /** The stage is ready (joined its group; has its model where it needs one). */
  ready(): void;
  /** The stage is not ready, and why, in one line (e.g. "waiting for a model"). */
  notReady(reason: string): void;
  /** The model of `name` in version `version` is in use from now on. */
  modelInUse(name: string, version: string): void;
  /**
   * How to read the consumer lag of `topic` (per owned partition: end offset minus position).
   * Called when the metrics are read, not on the hot path; may reject (the lag is then unknown).
   */
  lag(topic: string, read: () => Promise<ReadonlyMap<number, number>>): void;
  /** A fit job is at `round`; its unfinished columns are where `columns` says. */
  fitRound(job: string, round: number, columns: readonly ColumnFitProgress[]): void;
  /** A fit job ended. */
  fitEnded(job: string, status: 'done' | 'failed'): void;
}

/** Metrics that go nowhere: what a stage uses when nobody asked for metrics. */
export const NO_STAGE_METRICS: StageMetrics = {
  batch: () => undefined,
  rowsIn: () => undefined,
  committed: () => undefined,
  aborted: () => undefined,
  sent: () => undefined,
  ready: () => undefined,
  notReady: () => undefined,
  modelInUse: () => undefined,
  lag: () => undefined,
  fitRound: () => undefined,
  fitEnded: () => undefined,
};

/** Per owned partition: its end offset minus the position this member has reached (at least 0). */
export function partitionLag(ends: readonly number[], owned: Iterable<number>, position: (partition: number) => number): Map<number, number> {
  const lag = new Map<number, number>();
  for (const p of owned) {
    const end = ends[p];
    if (end !== undefined) lag.set(p, Math.max(0, end - position(p)));
  }
  return lag;
}

/** What every long-running stage hands back to whoever started it. */
export interface StageHandle {
  /** Stops consuming (after the batch in flight) and releases what the stage owns. Idempotent. */
  stop(): Promise<void>;
  /** Resolves once stopped; rejects with the first failure (the stage is then stopped). */
  readonly done: Promise<void>;
}

/** Running totals of a stage that turns input rows into output rows. */
export interface StageProgress {
  /** Rows written to the output so far. */
  readonly rows: number;
  /** Rows (or lines, or messages) written to the dead-letter topic so far. */
  readonly deadLettered: number;
  /** Transactions committed so far. */
  readonly transactions: number;
  /** The model version (fit job id) in use; null for a stage without a model, or before one. */
  readonly modelVersion: string | null;
  /** When the first input batch arrived (ms since the epoch); null before. */
  readonly firstInputAt?: number | null;
}

/** A row stage: ingest, transform, inverse (they share the exactly-once runner). */
export interface RowStageHandle<P = StageProgress> extends StageHandle {
  /** Resolves once the stage reads its input (a model stage: once a model is in use). */
  readonly started: Promise<void>;
  stats(): P;
}

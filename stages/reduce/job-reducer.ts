/**
 * The reducer of one fit job, pure: collects partials per round, ignores duplicates
 * and stale rounds, and when every value shard has answered the current round merges
 * them in shard order and advances the fit machine. Fed the same partials it
 * reaches the same state, which is how a restarted reducer resumes: it replays the
 * stats topic.
 */
import type { FitBroadcast, FitJobSpec, FitPartialMessage } from '../../topics/fit-messages';
import { FIT_PROTOCOL_VERSION } from '../../topics/fit-messages';
import { FitError, TransformerFitMachine, type ShardPartial } from '../../core/normalization/fit-transformer';
import type { TransformerModel } from '../../core/normalization/model';
import { SUMMARY_SHARDS } from '../../core/normalization/value-shard';

export class JobReducer {
  private readonly machine: TransformerFitMachine;
  private readonly pending = new Map<number, ShardPartial>();
  private failure: string | null = null;
  private model: TransformerModel | null = null;
  readonly shards = SUMMARY_SHARDS;

  constructor(readonly spec: FitJobSpec) {
    this.machine = new TransformerFitMachine(spec.columns, spec.options, spec.initialMeans);
  }

  /** The round whose partials are wanted. */
  get round(): number {
    return this.machine.rounds;
  }

  get done(): boolean {
    return this.model !== null || this.failure !== null;
  }

  get result(): TransformerModel | null {
    return this.model;
  }

  /** Takes a partial; returns true when it completed a round and the job moved on. */
  add(message: FitPartialMessage): boolean {
    if (this.done || message.round !== this.round || this.pending.has(message.shard)) return false;
    if (!Number.isInteger(message.shard) || message.shard < 0 || message.shard >= this.shards) return false;
    this.pending.set(message.shard, message.partial);
    if (this.pending.size < this.shards) return false;
    const ordered = Array.from({ length: this.shards }, (_, s) => this.pending.get(s) as ShardPartial);
    this.pending.clear();
    try {
      this.machine.accept(ordered);
      if (this.machine.next() === null) this.model = this.machine.result();
    } catch (err) {
      if (!(err instanceof FitError || err instanceof RangeError)) throw err;
      this.failure = err.message;
    }
    return true;
  }

  /** Per unfinished numeric column: its iteration and lower bound. */
  columns(): Array<{ readonly column: string; readonly iteration: number; readonly lowerBound: number }> {
    return this.done ? [] : this.machine.columnStates();
  }

  /** The broadcast that describes the job now. */
  broadcast(): FitBroadcast {
    const base = { protocol: FIT_PROTOCOL_VERSION, spec: this.spec, round: this.round };
    if (this.failure !== null) return { ...base, status: 'failed', request: null, progress: [], error: this.failure };
    if (this.model !== null) return { ...base, status: 'done', request: null, progress: [] };
    return { ...base, status: 'running', request: this.machine.next(), progress: this.machine.progress() };
  }
}

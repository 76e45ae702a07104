/**
 * The fit protocol's messages.
 * - Broadcast (params topic, compacted, key = job): the job's spec and the current
 *   round's request, re-sent whole every round, so the latest message is the state.
 * - Partial (stats topic, key = job/round/shard): one value shard's answer to a round.
 *   A partial's key identifies it, so a redelivered or recomputed duplicate is ignored.
 */
import type { ColumnSpec } from '../core/normalization/column-spec';
import type { InitialMeans, ShardPartial, RoundRequest } from '../core/normalization/fit-transformer';
import type { TransformerOptions } from '../core/normalization/model';
import { decodeJson, encodeJson } from './json-codec';
import type { Codec } from './codec';

// 2: partials per value shard, summaries exchanged on the summaries topic.
// 3: binned summaries (a resolution round, a resolution per column in every request).
export const FIT_PROTOCOL_VERSION = 3 as const;

export interface FitJobSpec {
  readonly job: string;
  readonly columns: readonly ColumnSpec[];
  readonly options: TransformerOptions;
  readonly initialMeans: InitialMeans;
  /**
   * The rows the job fits: per partition of the input topic, the source offsets below
   * this end (the input's end offsets when the job started).
   */
  readonly sourceEndOffsets: readonly number[];
  /** Per partition, the first source offset the job fits (the input's start offsets). */
  readonly sourceStartOffsets: readonly number[];
  /**
   * Per shard, the summaries topic's end offset when the job started: the job's chunks all come
   * after it, so a worker reads its shards from there rather than from the topic's start.
   */
  readonly summaryStartOffsets: readonly number[];
  /** Where the model goes: the models topic key. */
  readonly modelName: string;
}

export type JobStatus = 'submitted' | 'running' | 'done' | 'failed';

export interface FitBroadcast {
  readonly protocol: typeof FIT_PROTOCOL_VERSION;
  readonly spec: FitJobSpec;
  readonly status: JobStatus;
  /** The round whose partials are wanted now; -1 before the reducer takes the job. */
  readonly round: number;
  readonly request: RoundRequest | null;
  /** Progress of the unfinished columns, for logs. */
  readonly progress: readonly string[];
  readonly error?: string;
}

export interface FitPartialMessage {
  readonly protocol: typeof FIT_PROTOCOL_VERSION;
  readonly job: string;
  readonly round: number;
  readonly shard: number;
  /** Who computed it (for logs). */
  readonly worker: string;
  readonly partial: ShardPartial;
}

export function partialKey(job: string, round: number, shard: number): string {
  return `${job}/${round}/${shard}`;
}

function checkProtocol(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || (value as Record<string, unknown>).protocol !== FIT_PROTOCOL_VERSION) {
    throw new RangeError(`not a vgmflow ${what} message of protocol ${FIT_PROTOCOL_VERSION}`);
  }
  return value as Record<string, unknown>;
}

const encodeBroadcast = (b: FitBroadcast): Uint8Array => encodeJson(b);
const encodePartial = (p: FitPartialMessage): Uint8Array => encodeJson(p);

function decodeBroadcast(bytes: Uint8Array): FitBroadcast {
  // Our own stages write these; the protocol tag guards against foreign or stale data.
  return checkProtocol(decodeJson(bytes), 'broadcast') as unknown as FitBroadcast;
}

function decodePartial(bytes: Uint8Array): FitPartialMessage {
  return checkProtocol(decodeJson(bytes), 'partial') as unknown as FitPartialMessage;
}

/** The params topic's values: a fit job's broadcast. */
export const broadcastCodec: Codec<FitBroadcast> = { contentType: 'application/json', encode: encodeBroadcast, decode: decodeBroadcast };

/** The stats topic's values: one shard's answer to a round. */
export const partialCodec: Codec<FitPartialMessage> = { contentType: 'application/json', encode: encodePartial, decode: decodePartial };

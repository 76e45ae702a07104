/**
 * One partition's fetched CSV messages → the batches-topic records and dead letters of one
 * transaction: ingestMessages (./ingest-batch.ts) followed by the row batches' Arrow encoding.
 * Pure, so it gives the same bytes in the stage's thread and on a parse thread
 * (./ingest-pool.ts). The messages travel to a thread packed as one buffer (PackedMessages).
 */
import type { DeadLetterRecord } from '../../topics/dead-letter';
import { encodedRecord } from '../../topics/codec';
import { rowBatchKey } from '../../topics/row-batch';
import { rowBatchCodec } from '../../topics/row-batch-codec';
import type { InRecord, OutRecord } from '../../topics/transport';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import { ingestMessages, type IngestBatchOptions } from './ingest-batch';

/** What every batch of one stage is ingested with. */
export interface IngestSetup {
  readonly columns: readonly ColumnSpec[];
  /** Without startOffsets: those come with each batch. */
  readonly options: Omit<IngestBatchOptions, 'startOffsets'>;
  /** The topic the row batches go to. */
  readonly batchesTopic: string;
}

export interface IngestedRecords {
  /** Row batches as records of the batches topic, partition = source partition. */
  readonly batches: OutRecord[];
  /** Encoded by the caller: the reasons are redacted with the process's secrets. */
  readonly deadLetters: DeadLetterRecord[];
  readonly rows: number;
}

/** Messages of one partition, values back to back: message i is bytes[ends[i-1], ends[i]). */
export interface PackedMessages {
  readonly topic: string;
  readonly partition: number;
  readonly offsets: Float64Array;
  readonly bytes: Uint8Array;
  readonly ends: Int32Array;
}

export function ingestRecords(setup: IngestSetup, messages: readonly InRecord[], startOffsets: ReadonlyMap<number, number>): IngestedRecords {
  const result = ingestMessages(messages, setup.columns, { ...setup.options, startOffsets });
  return {
    batches: result.batches.map((b) => encodedRecord(rowBatchCodec, setup.batchesTopic, rowBatchKey(b), b, { partition: b.sourcePartition })),
    deadLetters: result.deadLetters,
    rows: result.rows,
  };
}

/** A copy of the messages' values in one buffer (theirs are views into a whole fetch). */
export function packMessages(topic: string, partition: number, messages: readonly InRecord[]): PackedMessages {
  let total = 0;
  for (const m of messages) total += m.value.byteLength;
  const bytes = new Uint8Array(total);
  const ends = new Int32Array(messages.length);
  const offsets = new Float64Array(messages.length);
  let at = 0;
  messages.forEach((m, i) => {
    bytes.set(m.value, at);
    at += m.value.byteLength;
    ends[i] = at;
    offsets[i] = m.offset;
  });
  return { topic, partition, offsets, bytes, ends };
}

export function unpackMessages(p: PackedMessages): InRecord[] {
  const messages = new Array<InRecord>(p.ends.length);
  for (let i = 0, from = 0; i < p.ends.length; from = p.ends[i] as number, i++) {
    messages[i] = { topic: p.topic, partition: p.partition, offset: p.offsets[i] as number, key: null, value: p.bytes.subarray(from, p.ends[i]), headers: {} };
  }
  return messages;
}

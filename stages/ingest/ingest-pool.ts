/**
 * Where the ingest stage parses its messages: in its own thread, or on worker threads
 * (`threads`), so that parsing — most of the stage's CPU — runs on other cores while the
 * stage's thread talks to Kafka (and, with every stage in one process, while the stats worker
 * summarises). A fetch's messages go to a thread packed in one buffer (copied once); the encoded
 * row batches come back transferred. ingestRecords is pure, so the thread count cannot change a
 * byte of the output.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { InRecord } from '../../topics/transport';
import { ThreadPool, type ThreadReply } from '../runner/thread-pool';
import { ingestRecords, packMessages, type IngestedRecords, type IngestSetup, type PackedMessages } from './ingest-records';

export interface IngestThreadRequest {
  readonly id: number;
  readonly messages: PackedMessages;
  readonly startOffsets: ReadonlyArray<readonly [number, number]>;
}

export type IngestThreadReply = ThreadReply<IngestedRecords>;

export interface MessageParsers {
  /** Parses one fetch's messages (all of one partition). */
  ingest(messages: readonly InRecord[], startOffsets: ReadonlyMap<number, number>): Promise<IngestedRecords>;
  close(): Promise<void>;
}

function inThread(setup: IngestSetup): MessageParsers {
  return {
    ingest: async (messages, startOffsets) => ingestRecords(setup, messages, startOffsets),
    close: async () => undefined,
  };
}

/** The compiled thread body; absent when running from TypeScript sources (ts-jest). */
const THREAD_SCRIPT = join(__dirname, 'ingest-thread.js');

/** A fetch goes to the thread with the fewest fetches in flight. */
function threaded(setup: IngestSetup, threads: number): MessageParsers {
  const pool = new ThreadPool(THREAD_SCRIPT, threads, 'a parse thread', setup);
  return {
    ingest: async (messages, startOffsets) => {
      const first = messages[0];
      if (first === undefined) return { batches: [], deadLetters: [], rows: 0 };
      const packed = packMessages(first.topic, first.partition, messages);
      const request = (id: number): IngestThreadRequest => ({ id, messages: packed, startOffsets: [...startOffsets] });
      return pool.ask<IngestedRecords>(pool.leastBusy(), request, [packed.bytes.buffer as ArrayBuffer, packed.ends.buffer as ArrayBuffer, packed.offsets.buffer as ArrayBuffer]);
    },
    close: () => pool.close('the parse threads were closed'),
  };
}

/**
 * `threads` parse threads, or the caller's thread when `threads` is 0 or the thread body is not
 * compiled (running from TypeScript sources).
 */
export function messageParsers(setup: IngestSetup, threads: number): MessageParsers {
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`parse threads must be a whole number ≥ 0, not ${threads}`);
  return threads === 0 || !existsSync(THREAD_SCRIPT) ? inThread(setup) : threaded(setup, threads);
}

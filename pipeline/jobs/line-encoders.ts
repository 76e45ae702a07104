/**
 * Where the embedded transform encodes a clean file's messages into lines: in the caller's
 * thread, or on worker threads (each with its own MessageLineEncoder), so that parsing,
 * encoding and number formatting — nearly all of the transform's CPU — run on every core
 * while the caller splits the file and writes the output. The lines are a pure function of the
 * message and the model (./message-line-encoder.ts), so the thread count cannot change a byte;
 * the caller writes them in message order.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TransformerModel } from '../../core/normalization/model';
import { ThreadPool, type ThreadReply } from '../../stages/runner/thread-pool';
import { MessageLineEncoder, type ClipCounts, type FileMessage, type MessageLines } from './message-line-encoder';

/** What a line-encoding thread encodes with. */
export interface LineThreadData {
  readonly model: TransformerModel;
  readonly source: string;
}

export type LineRequest =
  | { readonly type: 'message'; readonly id: number; readonly message: FileMessage }
  | { readonly type: 'counts'; readonly id: number };

/** The reply to each request: a message's lines (null: not clean), or the thread's clip counts. */
export function lineRequestHandler(data: LineThreadData): (m: LineRequest) => ThreadReply<MessageLines | null | ClipCounts> {
  const encoder = new MessageLineEncoder(data.model, data.source);
  return (m) => {
    try {
      return { id: m.id, result: m.type === 'message' ? encoder.encode(m.message) : encoder.clipCounts() };
    } catch (err) {
      return { id: m.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
    }
  };
}

export interface LineEncoders {
  /** Messages in flight that keep every thread busy. */
  readonly parallelism: number;
  /** The message's lines, or null when it is not clean. Its bytes may be moved to a thread. */
  encode(message: FileMessage): Promise<MessageLines | null>;
  /** The clip counts of every message encoded, summed. */
  clipCounts(): Promise<ClipCounts>;
  close(): Promise<void>;
}

function inThread(data: LineThreadData): LineEncoders {
  const encoder = new MessageLineEncoder(data.model, data.source);
  return {
    parallelism: 1,
    encode: async (message) => encoder.encode(message),
    clipCounts: async () => encoder.clipCounts(),
    close: async () => undefined,
  };
}

/** The compiled thread body; absent when running from TypeScript sources (ts-jest). */
const THREAD_SCRIPT = join(__dirname, 'line-thread.js');

function threaded(data: LineThreadData, threads: number): LineEncoders {
  const pool = new ThreadPool(THREAD_SCRIPT, threads, 'a line-encoding thread', data);
  let next = 0;
  return {
    parallelism: threads * 2,
    encode: (message) => {
      const bytes = message.value;
      // Moved when the message has its buffer to itself (produce's MessageBuffer gives it one).
      const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      return pool.ask<MessageLines | null>(next++ % threads, (id): LineRequest => ({ type: 'message', id, message }), own ? [bytes.buffer as ArrayBuffer] : []);
    },
    clipCounts: async () => {
      const all = await Promise.all(Array.from({ length: threads }, (_, t) => pool.ask<ClipCounts>(t, (id): LineRequest => ({ type: 'counts', id }))));
      const sum = (pick: (c: ClipCounts) => readonly number[]): number[] => (pick(all[0] as ClipCounts) as number[]).map((_, c) => all.reduce((s, a) => s + (pick(a)[c] as number), 0));
      return { clipped: sum((c) => c.clipped), beyondResearchClip: sum((c) => c.beyondResearchClip) };
    },
    close: () => pool.close('the line-encoding threads were closed'),
  };
}

/** `threads` worker threads, or the caller's thread when 0 or when the thread body is not compiled. */
export function lineEncoders(data: LineThreadData, threads: number): LineEncoders {
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`encoding threads must be a whole number ≥ 0, not ${threads}`);
  return threads === 0 || !existsSync(THREAD_SCRIPT) ? inThread(data) : threaded(data, threads);
}

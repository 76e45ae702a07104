/**
 * Where the embedded transform and inverse turn a clean file's messages into output lines: in
 * the caller's thread, or on worker threads (each with its own coder), so that parsing,
 * encoding or decoding, and number formatting — nearly all of the work — run on every core
 * while the caller splits the file and writes the output. The lines are a pure function of the
 * message and the model (./message-line-encoder.ts, ./message-line-decoder.ts), so the thread
 * count cannot change a byte; the caller writes them in message order.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TransformerModel } from '../../core/normalization/model';
import { ThreadPool, wholeBuffers, type ThreadReply } from '../../stages/runner/thread-pool';
import { sumCounts, type ColumnCounts, type FileMessage, type MessageLineCoder, type MessageLines } from './file-messages';
import { MessageLineDecoder } from './message-line-decoder';
import { MessageLineEncoder } from './message-line-encoder';

/** What a coder does (encode rows, or decode encoded rows), with which model, for which file. */
export interface LineThreadData {
  readonly direction: 'transform' | 'inverse';
  readonly model: TransformerModel;
  /** The file, as the transform's row ids name it. */
  readonly source: string;
}

export type LineRequest =
  | { readonly type: 'message'; readonly id: number; readonly message: FileMessage }
  | { readonly type: 'counts'; readonly id: number };

function coderOf(data: LineThreadData): MessageLineCoder {
  return data.direction === 'transform' ? new MessageLineEncoder(data.model, data.source) : new MessageLineDecoder(data.model);
}

/** The reply to each request: a message's lines (null: not clean), or the coder's counts. */
export function lineRequestHandler(data: LineThreadData): (m: LineRequest) => ThreadReply<MessageLines | null | ColumnCounts> {
  const coder = coderOf(data);
  return (m) => {
    try {
      return { id: m.id, result: m.type === 'message' ? coder.lines(m.message) : coder.counts() };
    } catch (err) {
      return { id: m.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
    }
  };
}

export interface LineCoders {
  /** Messages in flight that keep every thread busy. */
  readonly parallelism: number;
  /** The message's lines, or null when it is not clean. Its bytes may be moved to a thread. */
  lines(message: FileMessage): Promise<MessageLines | null>;
  /** The counts of every message so far, summed. */
  counts(): Promise<ColumnCounts>;
  close(): Promise<void>;
}

function inThread(data: LineThreadData): LineCoders {
  const coder = coderOf(data);
  return {
    parallelism: 1,
    lines: async (message) => coder.lines(message),
    counts: async () => coder.counts(),
    close: async () => undefined,
  };
}

/** The compiled thread body; absent when running from TypeScript sources (ts-jest). */
const THREAD_SCRIPT = join(__dirname, 'line-thread.js');

function threaded(data: LineThreadData, threads: number): LineCoders {
  const pool = new ThreadPool(THREAD_SCRIPT, threads, `a ${data.direction} thread`, data);
  let next = 0;
  return {
    parallelism: threads * 2,
    lines: (message) => {
      // Moved, not copied: produce's MessageBuffer gives each message a buffer of its own.
      return pool.ask<MessageLines | null>(next++ % threads, (id): LineRequest => ({ type: 'message', id, message }), wholeBuffers([message.value]));
    },
    counts: async () => sumCounts(await Promise.all(Array.from({ length: threads }, (_, t) => pool.ask<ColumnCounts>(t, (id): LineRequest => ({ type: 'counts', id }))))),
    close: () => pool.close(`the ${data.direction} threads were closed`),
  };
}

/** `threads` worker threads, or the caller's thread when 0 or when the thread body is not compiled. */
export function lineCoders(data: LineThreadData, threads: number): LineCoders {
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`${data.direction} threads must be a whole number ≥ 0, not ${threads}`);
  return threads === 0 || !existsSync(THREAD_SCRIPT) ? inThread(data) : threaded(data, threads);
}

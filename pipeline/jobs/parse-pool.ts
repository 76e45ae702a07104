/**
 * Where the embedded fit parses and summarises its blocks: on worker threads (one per core by
 * default), each folding the blocks it gets into its own column summaries, or in the caller's
 * thread. The summaries merge exactly (whole-number counts), so the result does not depend on
 * the number of threads nor on which thread parsed which block.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { ColumnSummary } from '../../core/normalization/column-summary';
import type { InitialMeans } from '../../core/normalization/fit-transformer';
import type { SummaryOptions } from '../../core/normalization/summary-options';
import { mergeSummaries } from '../../core/normalization/value-shard';
import { parseBlockInto, summaryBuilders, type BlockDeadLetter } from './parse-block';

/**
 * What a parse thread summarises, and how: the fit's summary options and initial means (a
 * binned column's bins are split at its means' regions), as a stats worker has them from the job.
 */
export interface ParseThreadData {
  readonly columns: readonly ColumnSpec[];
  readonly summary: SummaryOptions;
  readonly initialMeans: InitialMeans;
}

export type ParseRequest =
  | { readonly type: 'block'; readonly id: number; readonly bytes: Uint8Array; readonly ends: Int32Array }
  | { readonly type: 'finish'; readonly id: number };

export type ParseReply =
  | { readonly type: 'block'; readonly id: number; readonly deadLetters: BlockDeadLetter[] }
  | { readonly type: 'summaries'; readonly id: number; readonly summaries: ColumnSummary[] }
  | { readonly type: 'error'; readonly id: number; readonly error: string };

export interface BlockParser {
  /** How many blocks it takes at once to keep every thread busy. */
  readonly parallelism: number;
  /** Parses a block (records back to back, record i ending at ends[i]); resolves with its rejected records. */
  parse(bytes: Uint8Array, ends: Int32Array): Promise<BlockDeadLetter[]>;
  /** The summaries of every row parsed so far, merged. */
  finish(): Promise<ColumnSummary[]>;
  close(): Promise<void>;
}

function inThreadParser(how: ParseThreadData): BlockParser {
  const { columns } = how;
  const builders = summaryBuilders(columns, how.summary, how.initialMeans);
  return {
    parallelism: 1,
    parse: async (bytes, ends) => parseBlockInto(builders, columns, bytes, ends),
    finish: async () => builders.map((b) => b.build()),
    close: async () => undefined,
  };
}

/** The compiled thread body; absent when running from TypeScript sources (ts-jest). */
const THREAD_SCRIPT = join(__dirname, 'parse-thread.js');

function threadParser(how: ParseThreadData, threads: number): BlockParser {
  const { columns } = how;
  const workers = Array.from({ length: threads }, () => new Worker(THREAD_SCRIPT, { workerData: how }));
  const pending = new Map<number, { resolve: (reply: ParseReply) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  const failAll = (err: Error): void => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  for (const w of workers) {
    w.on('message', (reply: ParseReply) => {
      const p = pending.get(reply.id);
      pending.delete(reply.id);
      if (p === undefined) return;
      if (reply.type === 'error') p.reject(new Error(reply.error));
      else p.resolve(reply);
    });
    w.on('error', (err) => failAll(err));
    w.on('exit', (code) => {
      if (code !== 0) failAll(new Error(`a parse thread exited with code ${code}`));
    });
  }
  const ask = (w: Worker, request: ParseRequest, transfer: ArrayBuffer[] = []): Promise<ParseReply> =>
    new Promise<ParseReply>((resolve, reject) => {
      pending.set(request.id, { resolve, reject });
      w.postMessage(request, transfer);
    });
  return {
    parallelism: threads * 2,
    parse: async (bytes, ends) => {
      const id = nextId++;
      // The block is the thread's from here: moved, not copied.
      const reply = await ask(workers[id % threads] as Worker, { type: 'block', id, bytes, ends }, [bytes.buffer as ArrayBuffer, ends.buffer as ArrayBuffer]);
      return reply.type === 'block' ? reply.deadLetters : [];
    },
    finish: async () => {
      const replies = await Promise.all(workers.map((w) => ask(w, { type: 'finish', id: nextId++ })));
      // Merged as a shard owner merges partitions' chunks: bounded by the same options.
      return mergeSummaries(
        replies.map((r) => (r.type === 'summaries' ? r.summaries : [])),
        columns,
        how.summary,
        how.initialMeans,
      );
    },
    close: async () => {
      failAll(new Error('the parse threads were closed'));
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/** `threads` parse threads, or the caller's thread when 0 or when the thread body is not compiled. */
export function blockParser(how: ParseThreadData, threads: number): BlockParser {
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`parse threads must be a whole number ≥ 0, not ${threads}`);
  return threads === 0 || !existsSync(THREAD_SCRIPT) ? inThreadParser(how) : threadParser(how, threads);
}

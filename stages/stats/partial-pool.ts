/**
 * Where a stats worker computes its partitions' partials: in its own thread, or spread over
 * worker threads so that the E-step of several partitions runs on several cores
 * (ARCHITECTURE.md, "The fit round protocol"). A partition's summary is copied to its thread
 * once per job; every round then sends only the request and gets back the partial.
 * Partials are a pure function of (request, summary), so both give the same bits.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { computePartitionPartial, type PartitionPartial, type RoundRequest } from '../../core/normalization/fit-transformer';
import type { ColumnSummary } from '../../core/normalization/column-summary';
import type { PartitionData } from '../../core/normalization/partition-data';

export type ThreadRequest =
  | { readonly type: 'load'; readonly job: string; readonly partition: number; readonly summaries: readonly ColumnSummary[] }
  | { readonly type: 'forget'; readonly job: string }
  | { readonly type: 'compute'; readonly id: number; readonly job: string; readonly partition: number; readonly request: RoundRequest };

export type ThreadReply = { readonly id: number; readonly partial: PartitionPartial } | { readonly id: number; readonly error: string };

export interface PartialComputer {
  /** Makes `data` the summary of `partition` for `job`, replacing an earlier one. */
  load(job: string, partition: number, data: PartitionData): void;
  compute(job: string, partition: number, request: RoundRequest): Promise<PartitionPartial>;
  /** Drops every summary of `job`. */
  forget(job: string): void;
  close(): Promise<void>;
}

/** In the caller's thread. */
export function inThreadPartials(): PartialComputer {
  const held = new Map<string, PartitionData>();
  return {
    load: (job, partition, data) => void held.set(`${job}/${partition}`, data),
    compute: async (job, partition, request) => {
      const data = held.get(`${job}/${partition}`);
      if (data === undefined) throw new Error(`no summary of partition ${partition} for job ${job}`);
      return computePartitionPartial(request, data);
    },
    forget: (job) => {
      for (const key of [...held.keys()]) if (key.startsWith(`${job}/`)) held.delete(key);
    },
    close: async () => undefined,
  };
}

/** The compiled thread body; absent when running from TypeScript sources (ts-jest), where threads cannot load it. */
const THREAD_SCRIPT = join(__dirname, 'partial-thread.js');

/** Partition p is computed by thread p mod n. */
function threadPartials(threads: number): PartialComputer {
  const workers = Array.from({ length: threads }, () => new Worker(THREAD_SCRIPT));
  const pending = new Map<number, { resolve: (p: PartitionPartial) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  // The threads stay referenced until close(): the rounds between two partials can pass
  // through moments where nothing else holds the event loop, and an unreferenced thread let the
  // process exit there, silently and with status 0, in the middle of a fit (seen 4 times in 8).
  const failAll = (err: Error): void => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  for (const w of workers) {
    w.on('message', (reply: ThreadReply) => {
      const p = pending.get(reply.id);
      pending.delete(reply.id);
      if (p === undefined) return;
      if ('error' in reply) p.reject(new Error(reply.error));
      else p.resolve(reply.partial);
    });
    w.on('error', (err) => failAll(err));
    w.on('exit', (code) => {
      if (code !== 0) failAll(new Error(`a partial-statistics thread exited with code ${code}`));
    });
  }
  const threadOf = (partition: number): Worker => workers[partition % threads] as Worker;
  const post = (w: Worker, m: ThreadRequest): void => w.postMessage(m);
  return {
    load: (job, partition, data) => post(threadOf(partition), { type: 'load', job, partition, summaries: data.summaries }),
    compute: (job, partition, request) =>
      new Promise<PartitionPartial>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        post(threadOf(partition), { type: 'compute', id, job, partition, request });
      }),
    forget: (job) => {
      for (const w of workers) post(w, { type: 'forget', job });
    },
    close: async () => {
      failAll(new Error('the partial-statistics threads were closed'));
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * `threads` worker threads, or the caller's thread when `threads` is 0 or the thread body is
 * not compiled (running from TypeScript sources).
 */
export function partialComputer(threads: number): PartialComputer {
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`stats threads must be a whole number ≥ 0, not ${threads}`);
  return threads === 0 || !existsSync(THREAD_SCRIPT) ? inThreadPartials() : threadPartials(threads);
}

/**
 * Worker threads that answer each request with one reply, matched by id: what the stages' thread
 * pools share (ingest's parse threads, a stats worker's summary threads, the transform's encoding
 * threads). A thread body replies `{ id, result }` or `{ id, error }` (ThreadReply). A thread that
 * errors or exits fails every request in flight and every later one: what it held is lost.
 */
import { Worker } from 'node:worker_threads';

export type ThreadReply<T> = { readonly id: number; readonly result: T } | { readonly id: number; readonly error: string };

/**
 * The buffers of `views` that a postMessage can hand over rather than copy: each buffer a view
 * spans whole, once. A view into a larger buffer (a pooled Buffer, a slice of a fetch) is copied,
 * since moving its buffer would take the rest of it away from its owner.
 */
export function wholeBuffers(views: Iterable<Uint8Array>): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const view of views) {
    const buffer = view.buffer as ArrayBuffer;
    if (view.byteOffset === 0 && view.byteLength === buffer.byteLength && !buffers.includes(buffer)) buffers.push(buffer);
  }
  return buffers;
}

interface Pending {
  readonly thread: number;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
}

export class ThreadPool {
  private readonly workers: Worker[];
  private readonly inFlight: number[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | null = null;

  /** `threads` threads running `script` (compiled JavaScript) with `workerData`; `what` names them in errors. */
  constructor(script: string, threads: number, what: string, workerData?: unknown) {
    this.workers = Array.from({ length: threads }, () => new Worker(script, { workerData }));
    this.inFlight = this.workers.map(() => 0);
    this.workers.forEach((w) => {
      w.on('message', (reply: ThreadReply<unknown>) => {
        const p = this.pending.get(reply.id);
        if (p === undefined) return;
        this.pending.delete(reply.id);
        this.inFlight[p.thread] = (this.inFlight[p.thread] as number) - 1;
        if ('error' in reply) p.reject(new Error(reply.error));
        else p.resolve(reply.result);
      });
      w.on('error', (err) => this.failAll(err));
      w.on('exit', (code) => {
        if (code !== 0) this.failAll(new Error(`${what} exited with code ${code}`));
      });
    });
  }

  get size(): number {
    return this.workers.length;
  }

  /** The thread with the fewest requests in flight (the first of those). */
  leastBusy(): number {
    let thread = 0;
    for (let t = 1; t < this.inFlight.length; t++) if ((this.inFlight[t] as number) < (this.inFlight[thread] as number)) thread = t;
    return thread;
  }

  /**
   * Posts the request `make` builds for a fresh id to `thread`, handing over `transfer`; resolves
   * with the thread's result, which must be an R (the thread body's contract).
   */
  ask<R>(thread: number, make: (id: number) => unknown, transfer: ArrayBuffer[] = []): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.failure !== null) return reject(this.failure);
      const id = this.nextId++;
      this.pending.set(id, { thread, resolve: resolve as (result: unknown) => void, reject });
      this.inFlight[thread] = (this.inFlight[thread] as number) + 1;
      (this.workers[thread] as Worker).postMessage(make(id), transfer);
    });
  }

  /** Posts a message that wants no reply (messages to a thread keep their order). */
  tell(thread: number, message: unknown): void {
    if (this.failure === null) (this.workers[thread] as Worker).postMessage(message);
  }

  async close(what = 'the threads were closed'): Promise<void> {
    this.failAll(new Error(what));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

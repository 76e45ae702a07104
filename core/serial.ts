/**
 * Runs asynchronous work one piece at a time, in the order it was handed in. A piece that
 * fails rejects only its own promise; the next piece still runs. The stages use it to keep
 * one transaction at a time on their producer, and model swaps between batches.
 */
export interface Serial {
  run(work: () => Promise<void>): Promise<void>;
  /** Resolves once everything handed in so far has finished (failed or not). */
  idle(): Promise<void>;
}

export function serial(): Serial {
  let queue: Promise<void> = Promise.resolve();
  return {
    run(work) {
      const run = queue.then(work);
      queue = run.catch(() => undefined);
      return run;
    },
    idle: () => queue,
  };
}

/**
 * The model side input of the transform and inverse stages: follows the models topic
 * from the start, keeps the latest record of one model name, and hands it to `install`
 * once the topic has been read up to its end at start (or has been quiet for `idleMs`),
 * then again for every newer version, without a restart.
 */
import { recordPlace } from '../../topics/codec';
import { modelRecordCodec } from '../../topics/model-record';
import type { Transport } from '../../topics/transport';
import type { TransformerModel } from '../../core/normalization/model';

export interface LatestModelOptions {
  readonly transport: Transport;
  readonly modelsTopic: string;
  readonly modelName: string;
  /** How long the models topic may be quiet before the latest model seen counts as current. */
  readonly idleMs: number;
  /**
   * Called (never concurrently with itself) with the latest model once the topic has been
   * read up to its end at start, and again with every newer one.
   */
  readonly install: (job: string, model: TransformerModel) => Promise<void>;
  readonly log: (line: string) => void;
}

export interface LatestModelHandle {
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export async function followLatestModel(o: LatestModelOptions): Promise<LatestModelHandle> {
  const ends = await o.transport.endOffsets(o.modelsTopic);
  const reached = ends.map(() => 0);
  let latest: { job: string; model: TransformerModel } | null = null;
  let installed: string | null = null;
  let lastActivity = Date.now();
  let stopped = false;
  let queue: Promise<void> = Promise.resolve();
  const caughtUp = (): boolean => reached.every((n, p) => n >= (ends[p] as number)) || Date.now() - lastActivity >= o.idleMs;
  const maybeInstall = (): Promise<void> => {
    const run = queue.then(async () => {
      if (stopped || latest === null || latest.job === installed || !caughtUp()) return;
      const { job, model } = latest;
      await o.install(job, model);
      installed = job;
    });
    queue = run.catch(() => undefined);
    return run;
  };
  let fail: (err: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  const sub = await o.transport.subscribe({
    topic: o.modelsTopic,
    group: null,
    readCommitted: true,
    eachBatch: async (b) => {
      for (const record of b.records) {
        reached[record.partition] = Math.max(reached[record.partition] ?? 0, record.offset + 1);
        if (record.key !== null && record.key !== o.modelName) continue;
        try {
          const r = modelRecordCodec.decode(record.value, recordPlace(record));
          if (r.modelName === o.modelName) latest = { job: r.job, model: r.model };
        } catch (err) {
          o.log(`ignoring an unreadable model record at ${recordPlace(record)}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      lastActivity = Date.now();
      await maybeInstall();
    },
  });
  // The models topic may end in transaction markers (never delivered) or hold no model yet.
  const timer = setInterval(() => {
    if (installed === null && latest !== null) maybeInstall().catch((err: unknown) => fail(err));
  }, Math.max(100, Math.min(500, o.idleMs)));
  timer.unref();
  const stop = async (): Promise<void> => {
    stopped = true;
    clearInterval(timer);
    await sub.stop();
    await queue;
  };
  return { done: Promise.race([sub.done, failed]), stop };
}


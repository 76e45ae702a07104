/**
 * The life cycle the transform and inverse stages share: a stage that handles the batches of
 * one input topic with the latest model of the models topic (the side input,
 * ./latest-model.ts).
 *
 *   - The input subscription starts only once the first model is installed, so no batch is
 *     handled without a model; `started` resolves then.
 *   - Installing a newer model and handling a batch never overlap (one Serial), so a batch is
 *     handled with one model throughout.
 *   - `stop()` stops both subscriptions, waits for the running batch, then calls `close`
 *     (the stage's producer); `done` rejects with the first failure of either subscription,
 *     of an install or of a batch, and stops the stage.
 *
 * The stage itself supplies what differs: how to install a model and how to handle a batch.
 */
import type { TransformerModel } from '../../core/normalization/model';
import type { RecordBatch, Subscription, Transport } from '../../topics/transport';
import { serial } from '../../core/serial';
import { followLatestModel } from './latest-model';

export interface ModelDrivenStageOptions {
  readonly transport: Transport;
  readonly modelsTopic: string;
  readonly modelName: string;
  /** How long the models topic may be quiet before the latest model seen counts as current. */
  readonly modelIdleMs: number;
  readonly inputTopic: string;
  readonly group: string;
  readonly onInputPosition?: (partition: number, nextOffset: number) => void;
  readonly log: (line: string) => void;
  /** Puts a model in use; never runs while a batch is handled. */
  install(job: string, model: TransformerModel): Promise<void>;
  /** Handles one input batch with the model in use, committing its output and offsets. */
  processBatch(batch: RecordBatch): Promise<void>;
  /** Releases what the stage owns, after the last batch. */
  close(): Promise<void>;
}

export interface ModelDrivenStage {
  stop(): Promise<void>;
  /** Rejects if processing failed. */
  readonly done: Promise<void>;
  /** Resolves once a model is in use and the input subscription has started. */
  readonly started: Promise<void>;
}

export async function runModelDrivenStage(o: ModelDrivenStageOptions): Promise<ModelDrivenStage> {
  const work = serial();
  let input: Subscription | null = null;
  let stopped = false;

  let resolveStarted: () => void = () => undefined;
  let rejectStarted: (err: unknown) => void = () => undefined;
  const started = new Promise<void>((resolve, reject) => {
    resolveStarted = resolve;
    rejectStarted = reject;
  });
  started.catch(() => undefined);
  let failure: (err: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (failure = reject));
  failed.catch(() => undefined);
  const fail = (err: unknown): void => {
    rejectStarted(err);
    failure(err);
  };

  const models = await followLatestModel({
    transport: o.transport,
    modelsTopic: o.modelsTopic,
    modelName: o.modelName,
    idleMs: o.modelIdleMs,
    log: o.log,
    install: (job, model) =>
      work
        .run(async () => {
          if (stopped) return;
          await o.install(job, model);
          if (input !== null) return;
          input = await o.transport.subscribe({
            topic: o.inputTopic,
            group: o.group,
            fromBeginning: true,
            readCommitted: true,
            eachBatch: (b) => work.run(() => o.processBatch(b)),
            onPosition: o.onInputPosition,
          });
          input.done.catch((err: unknown) => fail(err));
          o.log(`consuming ${o.inputTopic} (group ${o.group})`);
          resolveStarted();
        })
        .catch((err: unknown) => {
          fail(err);
          throw err;
        }),
  });
  models.done.catch((err: unknown) => fail(err));

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      await Promise.allSettled([models.stop(), (input as Subscription | null)?.stop()]);
      await work.idle();
      await o.close();
    })();
    return stopping;
  };

  const done: Promise<void> = Promise.race([
    failed,
    models.done.then(async () => {
      await (input as Subscription | null)?.done;
    }),
  ]).then(
    async () => {
      await stop();
    },
    async (err: unknown) => {
      await stop().catch(() => undefined);
      throw err;
    },
  );
  done.catch(() => undefined);

  return { stop, done, started };
}

/**
 * Creates `output` with as many partitions as `input` when missing, and checks that it and the
 * dead-letter topic have at least as many: a stage writes each result to the partition of its
 * input. Returns the input's partition count.
 */
export async function ensureOutputsLikeInput(transport: Transport, stage: string, input: string, output: string, deadLetters: string): Promise<number> {
  const inputPartitions = (await transport.endOffsets(input)).length;
  await transport.ensureTopics([{ name: output, partitions: inputPartitions, config: { 'retention.ms': '-1' } }]);
  const [outputEnds, dlqEnds] = await Promise.all([transport.endOffsets(output), transport.endOffsets(deadLetters)]);
  for (const [topic, ends] of [
    [output, outputEnds],
    [deadLetters, dlqEnds],
  ] as const) {
    if (ends.length < inputPartitions) throw new Error(`${stage}: ${topic} has ${ends.length} partitions but ${input} has ${inputPartitions}`);
  }
  return inputPartitions;
}

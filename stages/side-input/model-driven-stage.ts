/**
 * The life cycle the transform and inverse stages share: the exactly-once row stage
 * (stages/runner/exactly-once-stage.ts) driven by the latest model of the models topic (the
 * side input, ./latest-model.ts).
 *
 *   - The input subscription starts only once the first model is installed, so no batch is
 *     handled without a model; `started` resolves then.
 *   - A newer model is installed between two batches, never during one, so a batch is handled
 *     with one model throughout.
 *   - `stop()` stops both subscriptions and waits for the running batch; `done` rejects with
 *     the first failure of either subscription, of an install or of a batch, and stops the stage.
 *
 * The stage itself supplies what differs: how to install a model and how to process a batch.
 */
import type { TransformerModel } from '../../core/normalization/model';
import { serial } from '../../core/serial';
import type { RecordBatch, Transport } from '../../topics/transport';
import { OUTPUT_TOPIC_CONFIG } from '../../topics/topology';
import { runExactlyOnceStage, type ExactlyOnceCounters, type ExactlyOnceStage, type TransactionUnit } from '../runner/exactly-once-stage';
import type { StageHandle } from '../runner/stage-handle';
import { NO_STAGE_METRICS, type StageMetrics } from '../runner/stage-metrics';
import { followLatestModel } from './latest-model';

export interface ModelDrivenStageOptions {
  readonly transport: Transport;
  readonly modelsTopic: string;
  readonly modelName: string;
  /** How long the models topic may be quiet before the latest model seen counts as current. */
  readonly modelIdleMs: number;
  readonly inputTopic: string;
  readonly group: string;
  readonly transactionalId: string;
  readonly onInputPosition?: (partition: number, nextOffset: number) => void;
  readonly onProgress?: (counters: ExactlyOnceCounters) => void;
  /** See ExactlyOnceStageOptions. */
  readonly partitionsAtOnce?: number;
  readonly maxGroupRows?: number;
  readonly log: (line: string) => void;
  /** Not ready until a model is in use and the input's group joined; the model version in use. */
  readonly metrics?: StageMetrics;
  /** Puts a model in use; never runs while a batch is processed. */
  install(job: string, model: TransformerModel): Promise<void>;
  /** One input batch, with the model in use, as transaction units (see runExactlyOnceStage). */
  process(batch: RecordBatch): AsyncIterable<TransactionUnit> | Iterable<TransactionUnit>;
}

export interface ModelDrivenStage extends StageHandle {
  /** Resolves once a model is in use and the input subscription has started. */
  readonly started: Promise<void>;
  counters(): ExactlyOnceCounters;
}

export async function runModelDrivenStage(o: ModelDrivenStageOptions): Promise<ModelDrivenStage> {
  // Orders the first install and the start of the input after it, and every later install.
  const installs = serial();
  let stage: ExactlyOnceStage | null = null;
  let stopped = false;
  const metrics = o.metrics ?? NO_STAGE_METRICS;
  metrics.notReady(`waiting for a model "${o.modelName}" on ${o.modelsTopic}`);

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

  const startInput = async (): Promise<ExactlyOnceStage> => {
    const s = await runExactlyOnceStage({
      transport: o.transport,
      input: o.inputTopic,
      group: o.group,
      transactionalId: o.transactionalId,
      process: (batch) => o.process(batch),
      onPosition: o.onInputPosition,
      onProgress: o.onProgress,
      partitionsAtOnce: o.partitionsAtOnce,
      maxGroupRows: o.maxGroupRows,
      metrics,
    });
    s.done.catch((err: unknown) => fail(err));
    o.log(`consuming ${o.inputTopic} (group ${o.group})`);
    return s;
  };

  const models = await followLatestModel({
    transport: o.transport,
    modelsTopic: o.modelsTopic,
    modelName: o.modelName,
    idleMs: o.modelIdleMs,
    log: o.log,
    install: (job, model) =>
      installs
        .run(async () => {
          if (stopped) return;
          if (stage !== null) {
            const running = stage;
            return running.between(async () => {
              await o.install(job, model);
              metrics.modelInUse(o.modelName, job);
            });
          }
          await o.install(job, model);
          metrics.modelInUse(o.modelName, job);
          metrics.notReady(`joining consumer group ${o.group} on ${o.inputTopic}`);
          stage = await startInput();
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
      await Promise.allSettled([models.stop(), (stage as ExactlyOnceStage | null)?.stop()]);
      // An install in flight may have started the input after the line above.
      await installs.idle();
      await (stage as ExactlyOnceStage | null)?.stop();
    })();
    return stopping;
  };

  const done: Promise<void> = Promise.race([
    failed,
    models.done.then(async () => {
      await (stage as ExactlyOnceStage | null)?.done;
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

  const counters = (): ExactlyOnceCounters => (stage as ExactlyOnceStage | null)?.counters() ?? { rows: 0, deadLettered: 0, transactions: 0, firstInputAt: null };
  return { stop, done, started, counters };
}

/**
 * Creates `output` with as many partitions as `input` when missing, and checks that it and the
 * dead-letter topic have at least as many: a stage writes each result to the partition of its
 * input. Returns the input's partition count.
 */
export async function ensureOutputsLikeInput(transport: Transport, stage: string, input: string, output: string, deadLetters: string): Promise<number> {
  const inputPartitions = (await transport.endOffsets(input)).length;
  await transport.ensureTopics([{ name: output, partitions: inputPartitions, config: OUTPUT_TOPIC_CONFIG }]);
  const [outputEnds, dlqEnds] = await Promise.all([transport.endOffsets(output), transport.endOffsets(deadLetters)]);
  for (const [topic, ends] of [
    [output, outputEnds],
    [deadLetters, dlqEnds],
  ] as const) {
    if (ends.length < inputPartitions) throw new Error(`${stage}: ${topic} has ${ends.length} partitions but ${input} has ${inputPartitions}`);
  }
  return inputPartitions;
}

/**
 * The Kafka side of `vgmflow transform|inverse --brokers`: connect, run the stage until it
 * has read its input topic up to the end it had at the start (pipeline/runners/
 * until-caught-up.ts), show progress, print a summary. Ctrl-C stops the stage cleanly;
 * what it committed stays committed, and the next run goes on from there.
 */
import { KafkaTransport } from '../../topics/kafka';
import { DEFAULT_MODEL_NAME, OUTPUT_TOPIC_CONFIG, stageGroup, topicSpecs } from '../../topics/topology';
import type { Transport } from '../../topics/transport';
import type { RowStageHandle } from '../../stages/runner/stage-handle';
import { InterruptedError, runUntilCaughtUp } from '../runners/until-caught-up';
import { integerOption, type ParsedArgs } from './args';
import { kafkaSettings, kafkaTransportBase, type KafkaSettings } from './kafka-options';
import { fractionProgress } from './progress';
import { modelStageTransport } from './stage-options';
import { startCommandMetrics, type CommandMetrics } from './metrics-option';
import type { StageMetrics } from '../../stages/runner/stage-metrics';

export { ONE_SHOT_HELP, ONE_SHOT_OPTIONS } from './one-shot-options';

/** The options a model stage (transform, inverse) takes that a one-shot run fills in or reads. */
export interface ModelStageOptions {
  /** Default vgmflow-<prefix>-<stage>. */
  readonly group?: string;
  /** Default DEFAULT_MODEL_NAME. */
  readonly modelName?: string;
  readonly onInputPosition?: (partition: number, nextOffset: number) => void;
  readonly metrics?: StageMetrics;
}

export interface OneShotStage<O extends ModelStageOptions, H extends RowStageHandle> {
  readonly inputTopic: string;
  readonly outputTopic: string;
  readonly options: O;
  run(options: O): Promise<H>;
}


export async function runOneShotOnKafka<O extends ModelStageOptions, H extends RowStageHandle>(
  verb: 'encoded' | 'decoded',
  label: 'transform' | 'inverse',
  args: ParsedArgs,
  build: (kafka: KafkaSettings, transport: Transport, log: (line: string) => void) => OneShotStage<O, H>,
): Promise<number> {
  const kafka = kafkaSettings(args, true) as KafkaSettings;
  const waitSeconds = integerOption(args, 'model-wait', 30);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const transport = new KafkaTransport({ ...kafkaTransportBase(kafka), clientId: `vgmflow-${label}`, ...modelStageTransport(args) });
  const controller = new AbortController();
  const interrupt = (): void => controller.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const progress = fractionProgress(label);
  const startedAt = Date.now();
  let group: string | null = null;
  let metrics: CommandMetrics | null = null;
  try {
    // Built first: a usage error in the stage's options shows before anything connects.
    const s = build(kafka, transport, log);
    metrics = await startCommandMetrics(args, log);
    const stageMetrics = metrics?.stage(label);
    const g = s.options.group ?? stageGroup(kafka.topics, label);
    group = g;
    const modelName = s.options.modelName ?? DEFAULT_MODEL_NAME;
    await transport.ensureTopics(topicSpecs(kafka.topics, kafka.partitions));
    // The end offsets at the start are the goal, so the input topic has to exist first.
    await transport.ensureTopics([{ name: s.inputTopic, partitions: kafka.partitions, config: OUTPUT_TOPIC_CONFIG }]);
    const handle = await runUntilCaughtUp({
      transport,
      topic: s.inputTopic,
      group: g,
      start: (onInputPosition) => s.run({ ...s.options, group: g, onInputPosition, metrics: stageMetrics }),
      startTimeoutMs: waitSeconds * 1000,
      notStartedMessage: `no model "${modelName}" on ${kafka.topics.models} after ${waitSeconds} s: fit one first (vgmflow fit --brokers ...), or pass --model-name or --model-wait`,
      onTick: (p, h) => progress.update(h.stats().rows, p.total > 0 ? p.done / p.total : 1),
      signal: controller.signal,
    }).finally(() => progress.done());
    const stats = handle.stats();
    const endedAt = Date.now();
    const seconds = (endedAt - startedAt) / 1000;
    // Where the time went: connecting, reading the model and joining the group, then the work.
    const first = stats.firstInputAt ?? null;
    const busy = first === null ? '' : (() => {
      const work = Math.max((endedAt - first) / 1000, 1e-3);
      return ` (first input after ${((first - startedAt) / 1000).toFixed(1)} s, then ${work.toFixed(1)} s at ${Math.round(stats.rows / work)} rows/s)`;
    })();
    process.stderr.write(
      `${verb} ${stats.rows} rows (${stats.deadLettered} dead-lettered) from ${s.inputTopic} to ${s.outputTopic} ` +
        `in ${seconds.toFixed(1)} s (${Math.round(stats.rows / Math.max(seconds, 1e-3))} rows/s)${busy}, ` +
        `model ${modelName} version ${stats.modelVersion ?? '-'}; ${s.inputTopic} is read up to its end at the start for group ${g}\n`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof InterruptedError)) throw err;
    process.stderr.write(`interrupted: what was committed stays; run again to go on${group === null ? '' : ` (group ${group})`}\n`);
    return 130;
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
    await transport.close();
    await metrics?.close();
  }
}

/**
 * `vgmflow fit --brokers`: the fit job on the input topic, with the stages in this process when
 * --all-stages says so. Its own module so that an embedded fit never loads the Kafka side.
 */
import type { InitialMeans } from '../../../core/normalization/fit-transformer';
import type { TransformerOptions } from '../../../core/normalization/model';
import { KafkaTransport } from '../../../topics/kafka';
import { DEFAULT_MODEL_NAME, stageGroup, topicSpecs } from '../../../topics/topology';
import { s3ModelSink, s3SettingsFromEnv } from '../../../topics/s3/model-sink';
import { FitCancelledError, runFitJob } from '../../jobs/fit-job';
import { saveModelFile } from '../../jobs/model-file';
import { startAllStages } from '../../runners/all-stages';
import { integerOption, stringOption, type ParsedArgs } from '../args';
import { UsageError } from '../command';
import { requiredColumns } from '../columns-option';
import { kafkaTransportBase, type KafkaSettings } from '../kafka-options';
import { describeModel } from '../report';
import { statsThreads } from '../stats-threads-option';
import { startCommandMetrics } from '../metrics-option';
import { BLOCK_FETCHES } from '../stage-options';

export async function fitOnKafka(args: ParsedArgs, kafka: KafkaSettings, initialMeans: InitialMeans, options: TransformerOptions, log: (line: string) => void): Promise<number> {
  if (args.positionals.length > 0) throw new UsageError('on Kafka the rows come from the input topic: give no file');
  if (stringOption(args, 'dead-letter') !== undefined) throw new UsageError(`--dead-letter is for files; on Kafka rejected rows go to ${kafka.topics.deadLetters}`);
  const columns = requiredColumns(args);
  const job = stringOption(args, 'job') ?? `fit-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const modelName = stringOption(args, 'model-name') ?? DEFAULT_MODEL_NAME;
  const transport = new KafkaTransport({ ...kafkaTransportBase(kafka), clientId: 'vgmflow-fit', consumer: BLOCK_FETCHES });
  // Ctrl-C or a termination cancels the job (marked failed on params, so that no stage, this
  // one's or a later job's, goes on working for it) and stops the stages; a second one kills.
  const controller = new AbortController();
  const interrupt = (): void => controller.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const metrics = await startCommandMetrics(args, log);
  try {
    await transport.ensureTopics(topicSpecs(kafka.topics, kafka.partitions));
    const s3 = s3SettingsFromEnv(stringOption(args, 's3-bucket'));
    const stages =
      args.values['all-stages'] === true
        ? await startAllStages({
            transport,
            topics: kafka.topics,
            columns,
            statsWorkers: integerOption(args, 'stats-workers', 1),
            statsThreads: statsThreads(args),
            modelSink: s3 === null ? undefined : s3ModelSink(s3, log),
            log,
            metrics: metrics === null ? undefined : (stage) => metrics.stage(stage),
          })
        : null;
    try {
      const fit = runFitJob({
        transport,
        topics: kafka.topics,
        job,
        columns,
        options,
        initialMeans,
        modelName,
        ingestGroup: stringOption(args, 'group') ?? stageGroup(kafka.topics, 'ingest'),
        log,
        metrics: metrics?.stage('fit'),
        signal: controller.signal,
      });
      let result: Awaited<typeof fit>;
      try {
        result = await (stages === null ? fit : Promise.race([fit, stages.failed]));
      } catch (err) {
        if (!(err instanceof FitCancelledError)) throw err;
        log(`interrupted: job ${job} is marked failed on ${kafka.topics.params}; start a new job (another --job) to fit`);
        return 130;
      }
      process.stderr.write(describeModel(result.model));
      const modelPath = stringOption(args, 'model');
      if (modelPath !== undefined) {
        await saveModelFile(modelPath, result.model);
        log(`model written to ${modelPath}`);
      }
      log(`model ${modelName} (version ${job}) published to ${kafka.topics.models}`);
      return 0;
    } finally {
      await stages?.stop();
    }
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
    await transport.close();
    await metrics?.close();
  }
}


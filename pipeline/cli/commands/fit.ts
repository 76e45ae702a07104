import { readFile } from 'fs/promises';
import { DEFAULT_TRANSFORMER_OPTIONS, type InitialMeans } from '../../../core/normalization/fit-transformer';
import { KafkaTransport } from '../../../topics/kafka';
import { DEFAULT_MODEL_NAME, stageGroup, topicSpecs } from '../../../topics/topology';
import { s3ModelSink, s3SettingsFromEnv } from '../../../topics/s3/model-sink';
import { fitFile } from '../../jobs/fit-file';
import { FitCancelledError, runFitJob } from '../../jobs/fit-job';
import { InputError } from '../../jobs/input-error';
import { saveModelFile } from '../../jobs/model-file';
import { startAllStages } from '../../runners/all-stages';
import { integerOption, parseCommandArgs, stringOption, type ParsedArgs } from '../args';
import { UsageError, type Command, type CommandOptions } from '../command';
import { optionalColumns, requiredColumns } from '../columns-option';
import { KAFKA_HELP, KAFKA_OPTIONS, kafkaSettings, kafkaTransportBase, type KafkaSettings } from '../kafka-options';
import { describeModel } from '../report';
import { STATS_THREADS_HELP, STATS_THREADS_OPTION, statsThreads } from '../stats-threads-option';
import { SUMMARY_HELP, SUMMARY_OPTIONS, summaryOptions } from '../summary-option';
import type { TransformerOptions } from '../../../core/normalization/model';
import { METRICS_HELP, METRICS_OPTION, startCommandMetrics } from '../metrics-option';
import { BLOCK_FETCHES } from '../stage-options';

const HELP = `Usage: vgmflow fit <in.csv> --model <model.json> [options]          (embedded)
       vgmflow fit --brokers <list> [--topic <t>] --columns <specs> [options] (on Kafka)

Fits the transformer (a variational Gaussian mixture per numeric column, CTAB-GAN's
settings) and writes the model as JSON.

Embedded: streams a CSV file with a header line through the ingest stage's parser into
column summaries (memory: the distinct values, not the rows), then fits them on worker
threads. The model is a function of the rows alone: the same file fitted on Kafka gives the
same bytes.
On Kafka: fits the rows of the input topic up to its end offsets when the job starts,
summarising them as ingest commits them; needs running ingest, stats and reduce stages
(\`vgmflow stage …\`), or --all-stages to run them in this process. Prints each round.
Ctrl-C (SIGINT) or SIGTERM cancels the job: it is marked failed on <prefix>.params, so no
stage goes on working for it, and the command exits 130.

Options:
  --model <file>          where to write the model (required for a file; optional on Kafka)
  --columns <specs>       column types, e.g. "Amount:continuous,Tip:mixed(0),Network:categorical";
                          mixed modal values are separated by ';' (e.g. Tip:mixed(0;-9999999)).
                          For a file, columns not listed are continuous if every value is a
                          number, else categorical. On Kafka, list every column in order.
  --init-means <file>     JSON object from column name to its initial means (one per component);
                          each value starts in the component of its nearest mean (no k-means)
  --seed <n>              seed for k-means++ and for sampling modes at transform (default 42)
${SUMMARY_HELP}
  --dead-letter <file>    (file) write rejected rows (line, reason, raw text) here and go on;
                          without it the fit stops at the first bad row. On Kafka rejected
                          rows go to the <prefix>.dlq topic.
  --job <id>              (Kafka) the fit job's id (default: fit-<time>); must be new
  --model-name <name>     (Kafka) key of the model on <prefix>.models (default: default)
  --group <id>            (Kafka) the ingest consumer group whose progress the job waits for
                          (default vgmflow-<prefix>-ingest)
  --all-stages            (Kafka) also run ingest, stats and reduce in this process
  --stats-workers <n>     (Kafka, with --all-stages) stats workers in this process (default 1)
${STATS_THREADS_HELP}
  --s3-bucket <bucket>    (Kafka, with --all-stages) also write the model to S3 ($S3_BUCKET;
                          endpoint and credentials from $S3_ENDPOINT, $S3_ACCESS_KEY, $S3_SECRET_KEY,
                          or, with neither key set, the AWS SDK's
                          default credential chain: AWS_* variables, AWS_PROFILE, web identity)
${METRICS_HELP}
                          (Kafka only: the fit job as stage "fit"; with --all-stages also
                          ingest, stats and reduce)
  -h, --help              this help

${KAFKA_HELP}`;

async function readInitialMeans(path: string): Promise<InitialMeans> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new InputError(`${path}: cannot read initial means (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InputError(`${path}: initial means must be a JSON object from column name to a list of numbers`);
  }
  const out: Record<string, number[]> = {};
  for (const [name, means] of Object.entries(json)) {
    if (!Array.isArray(means) || means.some((m) => typeof m !== 'number' || !Number.isFinite(m))) {
      throw new InputError(`${path}: initial means of "${name}" must be a list of finite numbers`);
    }
    out[name] = means as number[];
  }
  return out;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function fitOnKafka(args: ParsedArgs, kafka: KafkaSettings, initialMeans: InitialMeans, options: TransformerOptions): Promise<number> {
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

const OPTIONS: CommandOptions = {
  ...KAFKA_OPTIONS,
  model: { type: 'string' },
  columns: { type: 'string' },
  'init-means': { type: 'string' },
  seed: { type: 'string' },
  'dead-letter': { type: 'string' },
  job: { type: 'string' },
  'model-name': { type: 'string' },
  'all-stages': { type: 'boolean' },
  'stats-workers': { type: 'string' },
  ...STATS_THREADS_OPTION,
  ...SUMMARY_OPTIONS,
  's3-bucket': { type: 'string' },
  group: { type: 'string' },
  ...METRICS_OPTION,
};

export const fitCommand: Command = {
  options: OPTIONS,
  name: 'fit',
  summary: 'fit the transformer to a CSV file (embedded) or to the input topic (Kafka)',
  help: HELP,
  async run(argv) {
    const args = parseCommandArgs(
      argv,
      OPTIONS,
      { min: 0, max: 1, names: 'the input CSV file' },
    );
    if (args.values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const initPath = stringOption(args, 'init-means');
    const initialMeans = initPath === undefined ? {} : await readInitialMeans(initPath);
    const seed = integerOption(args, 'seed', DEFAULT_TRANSFORMER_OPTIONS.seed);
    const options: TransformerOptions = { ...DEFAULT_TRANSFORMER_OPTIONS, seed, summary: summaryOptions(args) };
    const kafka = kafkaSettings(args, false);
    if (kafka !== null) return fitOnKafka(args, kafka, initialMeans, options);
    if (stringOption(args, 'metrics-port') !== undefined) throw new UsageError('--metrics-port is for a fit on Kafka (--brokers)');

    if (args.positionals.length === 0) throw new UsageError('missing the input CSV file (or --brokers to fit the input topic)');
    const modelPath = stringOption(args, 'model');
    if (modelPath === undefined) throw new UsageError('--model is required');
    const started = Date.now();
    const report = await fitFile({
      input: args.positionals[0],
      columns: optionalColumns(args) ?? [],
      initialMeans,
      options,
      deadLetterPath: stringOption(args, 'dead-letter'),
      statsThreads: statsThreads(args),
    });
    await saveModelFile(modelPath, report.model);
    process.stderr.write(
      `fit ${report.rowsFitted} rows (${report.rowsDeadLettered} dead-lettered) in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
        describeModel(report.model) +
        `model written to ${modelPath}\n`,
    );
    return 0;
  },
};

import { readFile } from 'fs/promises';
import { DEFAULT_TRANSFORMER_OPTIONS, type InitialMeans } from '../../../core/normalization/fit-transformer';
import { fitFile } from '../../jobs/fit-file';
import { InputError } from '../../jobs/input-error';
import { saveModelFile } from '../../jobs/model-file';
import { integerOption, parseCommandArgs, stringOption } from '../args';
import { UsageError, type Command, type CommandOptions } from '../command';
import { optionalColumns } from '../columns-option';
import { KAFKA_HELP, KAFKA_OPTIONS, kafkaSettings } from '../kafka-options';
import { describeModel } from '../report';
import { STATS_THREADS_HELP, STATS_THREADS_OPTION, statsThreads } from '../stats-threads-option';
import { SUMMARY_HELP, SUMMARY_OPTIONS, summaryOptions } from '../summary-option';
import type { TransformerOptions } from '../../../core/normalization/model';
import { METRICS_HELP, METRICS_OPTION } from '../metrics-option';

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
    if (kafka !== null) {
      // Loaded only here: the Kafka side (kafkajs, the stages, Arrow) takes a third of a second
      // to load, a tenth of an embedded fit of a million rows.
      const { fitOnKafka } = require('./fit-on-kafka') as typeof import('./fit-on-kafka');
      return fitOnKafka(args, kafka, initialMeans, options, log);
    }
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

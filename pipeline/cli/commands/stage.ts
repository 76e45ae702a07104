import { randomBytes } from 'crypto';
import { runIngest } from '../../../stages/ingest/ingest-stage';
import { runReducer } from '../../../stages/reduce/reducer-stage';
import { runStatsWorker } from '../../../stages/stats/stats-worker';
import { KafkaTransport } from '../../../topics/kafka-transport';
import { topicSpecs } from '../../../topics/topology';
import { s3ModelSink, s3SettingsFromEnv } from '../../io/s3-model-sink';
import { parseCommandArgs, stringOption } from '../args';
import { UsageError, type Command } from '../command';
import { KAFKA_HELP, KAFKA_OPTIONS, kafkaSettings } from '../kafka-options';
import { requiredColumns } from '../columns-option';

const HELP = `Usage: vgmflow stage <ingest|stats|reduce> --brokers <list> [options]

Runs one stage of the pipeline as its own process, until SIGINT or SIGTERM.
  ingest   CSV rows from the input topic -> Arrow row batches (<prefix>.batches) and
           rejected rows with their reasons (<prefix>.dlq), exactly once (transactions).
           Needs --columns naming every column of a row, in order.
  stats    a stats worker: owns some batches partitions (consumer group), answers each
           fit round with partial statistics. Run as many as there are partitions to share.
  reduce   the reducer: merges partials, broadcasts each round, publishes models.
           Run one.

Options:
  --columns <specs>       (ingest) every column in order, e.g.
                          "Amount:continuous,Tip:mixed(0),Network:categorical"
  --header                (ingest) a message may start with the header line: skip it
  --group <id>            consumer group (default vgmflow-ingest / vgmflow-stats)
  --worker-id <id>        (stats) name in logs (default: random)
  --s3-bucket <bucket>    (reduce) also write each model to S3 ($S3_BUCKET); the endpoint and
                          credentials come from $S3_ENDPOINT, $S3_ACCESS_KEY, $S3_SECRET_KEY, $S3_REGION
  -h, --help              this help

${KAFKA_HELP}`;

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

export const stageCommand: Command = {
  name: 'stage',
  summary: 'run one stage (ingest, stats or reduce) as its own process on Kafka',
  help: HELP,
  async run(argv) {
    const args = parseCommandArgs(
      argv,
      { ...KAFKA_OPTIONS, columns: { type: 'string' }, header: { type: 'boolean' }, group: { type: 'string' }, 'worker-id': { type: 'string' }, 's3-bucket': { type: 'string' } },
      { min: 1, max: 1, names: 'the stage name (ingest, stats or reduce)' },
    );
    if (args.values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const name = args.positionals[0];
    if (name !== 'ingest' && name !== 'stats' && name !== 'reduce') throw new UsageError(`unknown stage "${name}" (ingest, stats or reduce)`);
    const kafka = kafkaSettings(args, true);
    if (kafka === null) throw new UsageError('--brokers is required');
    const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
    const transport = new KafkaTransport({ brokers: kafka.brokers, clientId: `vgmflow-${name}` });
    try {
      await transport.ensureTopics(topicSpecs(kafka.topics, kafka.partitions));
      const group = stringOption(args, 'group');
      let handle: { stop(): Promise<void>; done: Promise<void> };
      if (name === 'ingest') {
        const columns = requiredColumns(args);
        handle = await runIngest({
          transport,
          topics: kafka.topics,
          columns,
          header: args.values.header === true,
          group,
          onProgress: (p) => log(`[ingest] ${p.rows} rows, ${p.deadLettered} dead-lettered`),
        });
      } else if (name === 'stats') {
        const workerId = stringOption(args, 'worker-id') ?? randomBytes(3).toString('hex');
        handle = await runStatsWorker({ transport, topics: kafka.topics, group, workerId, log });
      } else {
        const s3 = s3SettingsFromEnv(stringOption(args, 's3-bucket'));
        handle = await runReducer({ transport, topics: kafka.topics, modelSink: s3 === null ? undefined : s3ModelSink(s3, log), log });
      }
      log(`[${name}] running; stop with Ctrl-C`);
      const why = await Promise.race([untilSignal(), handle.done.then(() => 'stopped')]);
      log(`[${name}] ${why}: stopping`);
      await handle.stop();
      return 0;
    } finally {
      await transport.close();
    }
  },
};

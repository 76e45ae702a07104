import { randomBytes } from 'crypto';
import { runIngest } from '../../../stages/ingest/ingest-stage';
import { runReducer } from '../../../stages/reduce/reducer-stage';
import { runStatsWorker } from '../../../stages/stats/stats-worker';
import { runInverse } from '../../../stages/inverse/inverse-stage';
import { runTransform } from '../../../stages/transform/transform-stage';
import { KafkaTransport } from '../../../topics/kafka';
import { topicSpecs } from '../../../topics/topology';
import type { StageHandle } from '../../../stages/runner/stage-handle';
import { s3ModelSink, s3SettingsFromEnv } from '../../../topics/s3/model-sink';
import { parseCommandArgs, stringOption } from '../args';
import { UsageError, type Command, type CommandOptions } from '../command';
import { KAFKA_HELP, KAFKA_OPTIONS, kafkaSettings, kafkaTransportBase } from '../kafka-options';
import { describeKafkaSecurity } from '../kafka-security';
import { requiredColumns } from '../columns-option';
import { PARSE_THREADS_HELP, PARSE_THREADS_OPTION, parseThreads, STATS_THREADS_HELP, STATS_THREADS_OPTION, statsThreads } from '../stats-threads-option';
import { METRICS_HELP, METRICS_OPTION, startCommandMetrics, type CommandMetrics } from '../metrics-option';
import { INVERSE_STAGE_OPTIONS, inverseOptionsFromArgs, modelStageTransport, TRANSFORM_STAGE_OPTIONS, transformOptionsFromArgs } from '../stage-options';
import { REGISTRY_SECURITY_HELP } from '../registry-security';

const HELP = `Usage: vgmflow stage <ingest|stats|reduce|transform|inverse> --brokers <list> [options]

Runs one stage of the pipeline as its own process, until SIGINT or SIGTERM.
  ingest   CSV rows from the input topic -> Arrow row batches (<prefix>.batches) and
           rejected rows with their reasons (<prefix>.dlq), exactly once (transactions).
           Needs --columns naming every column of a row, in order.
  stats    a stats worker: reads some batches partitions (consumer group --group) and
           publishes their summaries by value shard on <prefix>.summaries; owns some of the
           16 value shards (group <group>-shards) and answers each fit round with one
           partial per shard. Run up to as many as there are partitions to share.
  reduce   the reducer: merges partials, broadcasts each round, publishes models.
           Run one.
  transform  encodes each row of <prefix>.batches with the latest model of --model-name on
           <prefix>.models (a newer model replaces it while running; batches wait until a
           model exists) to <prefix>.transformed: by default one block per row batch (an
           Arrow IPC stream: row ids, alpha and mode per numeric column, category per
           categorical column, with --vector the research-layout vector; see the README),
           with --output-format avro one Avro record per row (Confluent wire format, schema
           vgmflow.Transformed registered under <prefix>.transformed-value); rows the model
           cannot encode to <prefix>.dlq, exactly once (transactions); with --s3-bucket also
           one Arrow IPC file per row batch at s3://<bucket>/vgmflow/transformed/<model
           version>/part-<source partition>-<first source offset>.arrow.
           Run as many as you like (consumer group), each with its own --transactional-id.
  inverse  decodes each row of the encoded topic (default <prefix>.encoded) with the latest
           model of --model-name on <prefix>.models (swapped while running, as for transform)
           to <prefix>.decoded: by default one block per input message (an Arrow IPC stream:
           row ids and the decoded columns, a mixed column's missing value as null), with
           --output-format csv one CSV line per row (the model's columns in order, numbers
           shortest round-trip, a mixed column's missing value as an empty cell), with
           --output-format avro one Avro record per row in Confluent wire format (schema
           vgmflow.Decoded: key, model_version, then one field per column in model order:
           double, null or double for mixed (null = the missing value), string for
           categorical; registered under <decoded topic>-value, needs the registry). Key of a
           per-row record = the input key of a one-row message, a block row's row id, else
           <partition>:<offset>:<row>; rows that cannot be decoded (wrong width, non-finite
           numbers, modes outside the one-hot, unreadable Avro or blocks) to <prefix>.dlq with
           the reason, exactly once (one transaction per input batch, group vgmflow-<prefix>-inverse).
           An input value is a block of the transformed topic (Arrow IPC stream), Avro
           vgmflow.Transformed (Confluent wire format, first byte 0; only "vector" is used;
           needs the registry) or CSV text in the research layout (one or more rows per
           message, numbers only, no header), told apart per message by its content-type
           header and first bytes unless --format says which. Read <prefix>.transformed to
           round-trip.

Options:
  --columns <specs>       (ingest) every column in order, e.g.
                          "Amount:continuous,Tip:mixed(0),Network:categorical"
  --header                (ingest) a message may start with the header line: skip it
${PARSE_THREADS_HELP}
  --group <id>            consumer group (default vgmflow-<prefix>-<stage>, e.g. vgmflow-vgm-ingest;
                          stats workers also join <id>-shards)
  --worker-id <id>        (stats) name in logs (default: random)
${STATS_THREADS_HELP}
  --s3-bucket <bucket>    (reduce) also write each model to S3; (transform) also write Arrow
                          files to S3 ($S3_BUCKET); the endpoint and credentials come from
                          $S3_ENDPOINT, $S3_ACCESS_KEY, $S3_SECRET_KEY, $S3_REGION
                          (or, with neither key set, the AWS SDK's
                          default credential chain: AWS_* variables, AWS_PROFILE, web identity)
  --model-name <name>     (transform, inverse) the model to encode / decode with (default: default)
  --output-format <format>
                          (transform) block (default) or avro; (inverse) block (default), csv
                          or avro. Avro needs --registry-url
  --vector                (transform) blocks also carry the research-layout vector
  --encode-threads <n>    (transform) worker threads that encode row batches into blocks
                          (default: the number of cores; 0: the main thread)
  --transformed-topic <name>
                          (transform) the output topic (default: <prefix>.transformed)
  --compression <codec>   (transform, inverse) compress the output's record batches: none,
                          gzip, snappy, lz4 or zstd (default lz4 for blocks, none otherwise)
  --registry-url <url>    (transform, inverse) Confluent-compatible Schema Registry base URL
                          (default $SCHEMA_REGISTRY_URL; required for --output-format avro; for
                          inverse without it Avro input values are dead-lettered)
                          (transform, inverse) the registry's credentials and CA:
${REGISTRY_SECURITY_HELP}
  --encoded-topic <name>  (inverse) the input topic (default: <prefix>.encoded)
  --decoded-topic <name>  (inverse) the output topic (default: <prefix>.decoded)
  --format <block|avro|csv>
                          (inverse) read every value as this format (default: by header and bytes)
  --transactional-id <id> (ingest, transform, inverse) Kafka transactional id of this instance (default: random).
                          Give each instance a stable one: a restarted instance then fences
                          its predecessor and aborts its open transaction at once, instead of
                          readers waiting for the transaction timeout
${METRICS_HELP}
  -h, --help              this help

${KAFKA_HELP}`;

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

const OPTIONS: CommandOptions = {
  ...KAFKA_OPTIONS,
  ...TRANSFORM_STAGE_OPTIONS,
  ...INVERSE_STAGE_OPTIONS,
  columns: { type: 'string' },
  header: { type: 'boolean' },
  'worker-id': { type: 'string' },
  ...STATS_THREADS_OPTION,
  ...PARSE_THREADS_OPTION,
  ...METRICS_OPTION,
};

export const stageCommand: Command = {
  options: OPTIONS,
  name: 'stage',
  summary: 'run one stage (ingest, stats, reduce, transform or inverse) as its own process on Kafka',
  help: HELP,
  async run(argv) {
    const args = parseCommandArgs(
      argv,
      OPTIONS,
      { min: 1, max: 1, names: 'the stage name (ingest, stats, reduce, transform or inverse)' },
    );
    if (args.values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const name = args.positionals[0];
    if (name !== 'ingest' && name !== 'stats' && name !== 'reduce' && name !== 'transform' && name !== 'inverse') {
      throw new UsageError(`unknown stage "${name}" (ingest, stats, reduce, transform or inverse)`);
    }
    if (stringOption(args, 'output-format') !== undefined && name !== 'inverse' && name !== 'transform') throw new UsageError('--output-format is an option of the transform and inverse stages only');
    const kafka = kafkaSettings(args, true);
    if (kafka === null) throw new UsageError('--brokers is required');
    const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
    const modelStage = name === 'transform' || name === 'inverse' ? modelStageTransport(args) : {};
    const transport = new KafkaTransport({ ...kafkaTransportBase(kafka), clientId: `vgmflow-${name}`, ...modelStage });
    let metricsServer: CommandMetrics | null = null;
    try {
      // Built before anything connects, so that a usage error shows first.
      const transformOptions = name === 'transform' ? transformOptionsFromArgs(args, kafka, transport, log) : null;
      const inverseOptions = name === 'inverse' ? inverseOptionsFromArgs(args, kafka, transport, log) : null;
      // Up before Kafka is reached: /healthz answers, /readyz says what the stage waits for.
      metricsServer = await startCommandMetrics(args, log);
      const metrics = metricsServer?.stage(name);
      await transport.ensureTopics(topicSpecs(kafka.topics, kafka.partitions));
      const group = stringOption(args, 'group');
      let handle: StageHandle;
      if (name === 'ingest') {
        const columns = requiredColumns(args);
        handle = await runIngest({
          transport,
          topics: kafka.topics,
          columns,
          header: args.values.header === true,
          group,
          transactionalId: stringOption(args, 'transactional-id'),
          onProgress: (p) => log(`[ingest] ${p.rows} rows, ${p.deadLettered} dead-lettered`),
          metrics,
          threads: parseThreads(args),
        });
      } else if (name === 'stats') {
        const workerId = stringOption(args, 'worker-id') ?? randomBytes(3).toString('hex');
        handle = await runStatsWorker({ transport, topics: kafka.topics, group, workerId, threads: statsThreads(args), log, metrics });
      } else if (transformOptions !== null) {
        handle = await runTransform({
          ...transformOptions,
          metrics,
          onProgress: (p) => log(`[transform] ${p.rows} rows, ${p.deadLettered} dead-lettered (model version ${p.modelVersion ?? '-'})`),
        });
      } else if (inverseOptions !== null) {
        handle = await runInverse({
          ...inverseOptions,
          metrics,
          onProgress: (p) => log(`[inverse] ${p.rows} rows, ${p.deadLettered} dead-lettered (model version ${p.modelVersion ?? '-'})`),
        });
      } else {
        const s3 = s3SettingsFromEnv(stringOption(args, 's3-bucket'));
        handle = await runReducer({ transport, topics: kafka.topics, modelSink: s3 === null ? undefined : s3ModelSink(s3, log), log, metrics });
      }
      log(`[${name}] running on ${kafka.brokers.join(',')} (${describeKafkaSecurity(kafka.security)}); stop with Ctrl-C`);
      const why = await Promise.race([untilSignal(), handle.done.then(() => 'stopped')]);
      log(`[${name}] ${why}: stopping`);
      await handle.stop();
      return 0;
    } finally {
      await transport.close();
      await metricsServer?.close();
    }
  },
};

import { transformFile } from '../../jobs/transform-file';
import { availableParallelism } from 'node:os';
import { integerOption, type ParsedArgs } from '../args';
import type { Command } from '../command';
import { FILE_OPTIONS, fileOrKafkaCommand, runModelFileJob } from '../file-or-kafka';
import { KAFKA_HELP, KAFKA_OPTIONS } from '../kafka-options';
import { ONE_SHOT_HELP, ONE_SHOT_OPTIONS } from '../one-shot-options';
import { METRICS_HELP, METRICS_OPTION } from '../metrics-option';
import { ENCODE_THREADS_HELP, TRANSFORM_STAGE_OPTIONS } from '../stage-option-specs';
import { REGISTRY_SECURITY_HELP } from '../registry-security';

const HELP = `Usage: vgmflow transform <in.csv> --model <model.json> --out <encoded.csv> [options]
       vgmflow transform --brokers <list> [options]

Encodes rows with a fitted model: per numeric column its alpha and the one-hot of its
sampled mode, per categorical column its one-hot, in input column order. The mode of
each row is drawn from a generator keyed by (seed, row id, column), so the same rows
always encode the same way, on a file or on Kafka. Shows progress (rows/s, ETA) on
stderr: a bar on a terminal, a line every 5 s otherwise.

On a file: writes the encoded CSV (with a header) to --out.

On Kafka (--brokers): encodes the row batches of <prefix>.batches that the transform
consumer group (default vgmflow-<prefix>-transform) has not encoded yet, up to the end
of the topic when the command starts, then exits. It runs the transform stage (the same
code, group and transactions as \`vgmflow stage transform\`, which does this for ever):
the latest model of --model-name on <prefix>.models; to <prefix>.transformed, exactly
once, one block per row batch (an Arrow IPC stream of the rows' ids, alpha and mode per
numeric column, category per categorical column; see the README) or with
--output-format avro one Avro record per row through the Schema Registry; rejected rows
to <prefix>.dlq, and with --s3-bucket Arrow files on S3. Rows reach <prefix>.batches
through the ingest stage (\`vgmflow fit --brokers --all-stages\` runs one, or \`vgmflow
stage ingest\`). Ctrl-C stops it cleanly; the next run goes on from what was committed.

File options:
  --model <file>          the model written by \`vgmflow fit\` (required)
  --out <file>            the encoded CSV to write (required)
  --dead-letter <file>    write rejected rows here and go on; without it the
                          transform stops at the first bad row
  --encode-threads <n>    worker threads that parse, encode and format the rows (default: the
                          number of cores, ${availableParallelism()} here; 0: the main thread)

Kafka options (with --brokers):
  --output-format <block|avro>
                          block (default): one Arrow IPC stream per row batch;
                          avro: one Avro vgmflow.Transformed record per row (needs the registry)
  --vector                blocks also carry each row's research-layout vector
${ENCODE_THREADS_HELP}
  --registry-url <url>    Confluent-compatible Schema Registry base URL (or $SCHEMA_REGISTRY_URL),
                          for --output-format avro
${REGISTRY_SECURITY_HELP}
  --transformed-topic <name>
                          the output topic (default: <prefix>.transformed)
  --compression <codec>   compress the output's record batches: none, gzip, snappy, lz4 or zstd
                          (any Kafka client reads them); default lz4 for blocks, none otherwise
  --model-name <name>     the model to encode with (default: default)
  --s3-bucket <bucket>    also write Arrow files to s3://<bucket>/vgmflow/transformed/ ($S3_BUCKET;
                          endpoint and credentials from $S3_ENDPOINT, $S3_ACCESS_KEY,
                          $S3_SECRET_KEY, $S3_REGION; or, with neither key set, the AWS SDK's
                          default credential chain: AWS_* variables, AWS_PROFILE, web identity)
  --group <id>            consumer group (default vgmflow-<prefix>-transform)
  --transactional-id <id> Kafka transactional id (default: random)
${ONE_SHOT_HELP}
${METRICS_HELP}
  -h, --help              this help

${KAFKA_HELP}`;

function transformOneFile(args: ParsedArgs, input: string): Promise<number> {
  const threads = integerOption(args, 'encode-threads', availableParallelism());
  return runModelFileJob(args, input, 'transform', (job) => transformFile({ ...job, threads }), (r, output, seconds) =>
    `encoded ${r.rowsEncoded} rows (${r.rowsDeadLettered} dead-lettered) in ${seconds.toFixed(1)} s to ${output}`,
  );
}

function transformOnKafka(args: ParsedArgs): Promise<number> {
  // Loaded here only: the stages and kafkajs take a fifth of a second to load, which a file run never needs.
  return (require('./model-stages-on-kafka') as typeof import('./model-stages-on-kafka')).transformOnKafka(args);
}

export const transformCommand: Command = fileOrKafkaCommand({
  name: 'transform',
  summary: 'encode a CSV file, or the row batches on Kafka, with a fitted model',
  help: HELP,
  fileOptions: { ...FILE_OPTIONS, 'encode-threads': { type: 'string' } },
  kafkaOptions: { ...KAFKA_OPTIONS, ...TRANSFORM_STAGE_OPTIONS, ...ONE_SHOT_OPTIONS, ...METRICS_OPTION },
  inputName: 'the input CSV file',
  kafkaAlternative: '--brokers, to encode <prefix>.batches',
  runFile: transformOneFile,
  runKafka: transformOnKafka,
});

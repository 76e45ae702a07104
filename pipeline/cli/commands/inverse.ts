import { inverseFile } from '../../jobs/inverse-file';
import { availableParallelism } from 'node:os';
import { integerOption, type ParsedArgs } from '../args';
import type { Command } from '../command';
import { FILE_OPTIONS, fileOrKafkaCommand, runModelFileJob } from '../file-or-kafka';
import { KAFKA_HELP, KAFKA_OPTIONS } from '../kafka-options';
import { ONE_SHOT_HELP, ONE_SHOT_OPTIONS } from '../one-shot-options';
import { METRICS_HELP, METRICS_OPTION } from '../metrics-option';
import { INVERSE_STAGE_OPTIONS } from '../stage-option-specs';
import { REGISTRY_SECURITY_HELP } from '../registry-security';

const HELP = `Usage: vgmflow inverse <encoded.csv> --model <model.json> --out <decoded.csv> [options]
       vgmflow inverse --brokers <list> [options]

Decodes encoded rows (the research layout \`vgmflow transform\` writes, e.g. rows made by
a generator) back to the original columns, in the model's column order. Decoded values
outside the fitted range are clipped to it and counted. Shows progress (rows/s, ETA) on
stderr: a bar on a terminal, a line every 5 s otherwise.

On a file: reads an encoded CSV with the header \`vgmflow transform\` writes and writes
the decoded CSV, with the original header, to --out.

On Kafka (--brokers): decodes the messages of the encoded topic (default
<prefix>.encoded; --encoded-topic <prefix>.transformed round-trips the transform's
output) that the inverse consumer group (default vgmflow-<prefix>-inverse) has not
decoded yet, up to the end of the topic when the command starts, then exits. It runs
the inverse stage (the same code, group and transactions as \`vgmflow stage inverse\`,
which does this for ever): the latest model of --model-name on <prefix>.models; to
<prefix>.decoded, exactly once, one block per input message (an Arrow IPC stream of the
rows' ids and decoded columns; see the README), or with --output-format csv one CSV line
per row, or with --output-format avro one Avro record per row; rows that cannot be
decoded to <prefix>.dlq with the reason. A message is a block of the transformed topic
(an Arrow IPC stream), Avro vgmflow.Transformed (Confluent wire format; needs the
registry) or CSV text in the research layout (one or more rows, no header), told apart
by its content-type header and first bytes unless --format says which. Ctrl-C stops it
cleanly; the next run goes on from what was committed.

File options:
  --model <file>          the model written by \`vgmflow fit\` (required)
  --out <file>            the decoded CSV to write (required)
  --dead-letter <file>    write rejected rows here and go on; without it the
                          inverse stops at the first bad row
  --decode-threads <n>    worker threads that parse, decode and format the rows (default: the
                          number of cores, ${availableParallelism()} here; 0: the main thread)

Kafka options (with --brokers):
  --encoded-topic <name>  the input topic (default: <prefix>.encoded)
  --decoded-topic <name>  the output topic (default: <prefix>.decoded)
  --format <block|avro|csv>
                          read every message as this format (default: by its header and bytes)
  --output-format <block|csv|avro>
                          write decoded rows as blocks (default), CSV text, or Avro
                          vgmflow.Decoded records (Confluent wire format; needs --registry-url)
  --compression <codec>   compress the output's record batches: none, gzip, snappy, lz4 or zstd
                          (any Kafka client reads them); default lz4 for blocks, none otherwise
  --registry-url <url>    Schema Registry base URL, to read Avro input and write Avro output
                          (or $SCHEMA_REGISTRY_URL; without it Avro messages are dead-lettered)
${REGISTRY_SECURITY_HELP}
  --model-name <name>     the model to decode with (default: default)
  --group <id>            consumer group (default vgmflow-<prefix>-inverse)
  --transactional-id <id> Kafka transactional id (default: random)
${ONE_SHOT_HELP}
${METRICS_HELP}
  -h, --help              this help

${KAFKA_HELP}`;


function inverseOneFile(args: ParsedArgs, input: string): Promise<number> {
  const threads = integerOption(args, 'decode-threads', availableParallelism());
  return runModelFileJob(args, input, 'inverse', (job) => inverseFile({ ...job, threads }), (r, output) => `decoded ${r.rowsDecoded} rows (${r.rowsDeadLettered} dead-lettered) to ${output}`);
}

function inverseOnKafka(args: ParsedArgs): Promise<number> {
  // Loaded here only: the stages and kafkajs take a fifth of a second to load, which a file run never needs.
  return (require('./model-stages-on-kafka') as typeof import('./model-stages-on-kafka')).inverseOnKafka(args);
}

export const inverseCommand: Command = fileOrKafkaCommand({
  name: 'inverse',
  summary: 'decode an encoded CSV file, or an encoded topic on Kafka, back to the original columns',
  help: HELP,
  fileOptions: { ...FILE_OPTIONS, 'decode-threads': { type: 'string' } },
  kafkaOptions: { ...KAFKA_OPTIONS, ...INVERSE_STAGE_OPTIONS, ...ONE_SHOT_OPTIONS, ...METRICS_OPTION },
  inputName: 'the encoded CSV file',
  kafkaAlternative: '--brokers, to decode a topic',
  runFile: inverseOneFile,
  runKafka: inverseOnKafka,
});

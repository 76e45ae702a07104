import { KafkaTransport } from '../../../topics/kafka';
import { topicSpecs } from '../../../topics/topology';
import { produceFile } from '../../jobs/produce-file';
import { integerOption, parseCommandArgs } from '../args';
import { UsageError, type Command, type CommandOptions } from '../command';
import { KAFKA_HELP, KAFKA_OPTIONS, kafkaSettings } from '../kafka-options';

const HELP = `Usage: vgmflow produce <file.csv | -> --brokers <list> [--topic <name>] [options]

Writes a CSV file (with a header line) to the input topic, as the raw text of its rows
(\`-\` reads the CSV text from standard input, e.g. piped from a generator):
one row per message by default. The header is not sent: the stages take the column
names and types from --columns. Message j goes to partition j mod P, so a file always
lands the same way. Creates the pipeline's topics when missing.

Options:
  --rows-per-message <n>  rows per message (default 1)
  -h, --help              this help

${KAFKA_HELP}`;

const OPTIONS: CommandOptions = { ...KAFKA_OPTIONS, 'rows-per-message': { type: 'string' } };

export const produceCommand: Command = {
  options: OPTIONS,
  name: 'produce',
  summary: 'write a CSV file to the input topic on Kafka',
  help: HELP,
  async run(argv) {
    const args = parseCommandArgs(argv, OPTIONS, { min: 1, max: 1, names: 'the CSV file' });
    if (args.values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const kafka = kafkaSettings(args, true);
    if (kafka === null) throw new UsageError('--brokers is required');
    const rowsPerMessage = integerOption(args, 'rows-per-message', 1);
    if (rowsPerMessage < 1) throw new UsageError('--rows-per-message must be at least 1');
    const transport = new KafkaTransport({ brokers: kafka.brokers, brokerTimeoutMs: kafka.brokerTimeoutMs });
    try {
      await transport.ensureTopics(topicSpecs(kafka.topics, kafka.partitions));
      const started = Date.now();
      const report = await produceFile({ transport, topic: kafka.topics.rows, input: args.positionals[0], rowsPerMessage });
      const seconds = (Date.now() - started) / 1000;
      process.stderr.write(
        `produced ${report.rows} rows in ${report.messages} messages to ${kafka.topics.rows} (${report.partitions} partitions) in ${seconds.toFixed(1)} s\n` +
          (report.header === null ? '' : `columns in the file: ${report.header.join(',')}\n`),
      );
      return 0;
    } finally {
      await transport.close();
    }
  },
};

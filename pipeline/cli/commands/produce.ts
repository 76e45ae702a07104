import { KafkaTransport } from '../../../topics/kafka';
import { topicSpecs } from '../../../topics/topology';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../../core/csv/message-layout';
import { produceFile } from '../../jobs/produce-file';
import { parseCommandArgs } from '../args';
import { MESSAGE_LAYOUT_HELP, MESSAGE_LAYOUT_OPTIONS, messageLimits } from '../message-layout-option';
import { UsageError, type Command, type CommandOptions } from '../command';
import { KAFKA_HELP, KAFKA_OPTIONS, kafkaSettings, kafkaTransportBase } from '../kafka-options';

const HELP = `Usage: vgmflow produce <file.csv | -> --brokers <list> [--topic <name>] [options]

Writes a CSV file (with a header line) to the input topic, as the raw text of its rows
(\`-\` reads the CSV text from standard input, e.g. piped from a generator): whole rows
joined by newlines, as many per message as fit in ${DEFAULT_MAX_MESSAGE_BYTES} bytes (1 MiB) by default; a row
longer than that goes alone. The header is not sent: the stages take the column names
and types from --columns. Message j goes to partition j mod P, so a file always lands
the same way (and the embedded fit and transform give its rows the same ids). Creates
the pipeline's topics when missing.

Options:
${MESSAGE_LAYOUT_HELP}
  -h, --help              this help

${KAFKA_HELP}`;

const OPTIONS: CommandOptions = { ...KAFKA_OPTIONS, ...MESSAGE_LAYOUT_OPTIONS };

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
    const limits = messageLimits(args);
    const transport = new KafkaTransport({ ...kafkaTransportBase(kafka), clientId: 'vgmflow-produce' });
    try {
      await transport.ensureTopics(topicSpecs(kafka.topics, kafka.partitions));
      const started = Date.now();
      const report = await produceFile({ transport, topic: kafka.topics.rows, input: args.positionals[0], ...limits });
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

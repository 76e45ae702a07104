/**
 * A command that works on a file (embedded) or, with --brokers, on Kafka: `vgmflow
 * transform` and `vgmflow inverse`. Parses once, then hands over to the one side, refusing
 * the other side's options so that a mixed-up command line fails instead of being half used.
 */
import type { ParseArgsConfig } from 'util';
import type { ModelFileJobOptions, ModelFileJobReport } from '../jobs/file-job';
import { loadModelFile } from '../jobs/model-file';
import { parseCommandArgs, requiredOption, stringOption, type ParsedArgs } from './args';
import { UsageError, type Command } from './command';
import { fileProgress } from './progress';
import { describeClipped } from './report';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface FileOrKafkaSpec {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  /** Options of a file run (refused with --brokers, unless a Kafka run has them too). */
  readonly fileOptions: Options;
  /** Options of a Kafka run, --brokers among them (refused without it, unless a file run has them too). */
  readonly kafkaOptions: Options;
  /** What the positional argument is, e.g. 'the input CSV file'. */
  readonly inputName: string;
  /** What runs without a file, e.g. '--brokers, to encode <prefix>.batches'. */
  readonly kafkaAlternative: string;
  runFile(args: ParsedArgs, input: string): Promise<number>;
  runKafka(args: ParsedArgs): Promise<number>;
}

/** The options of a file run of transform and inverse. */
export const FILE_OPTIONS: Options = { model: { type: 'string' }, out: { type: 'string' }, 'dead-letter': { type: 'string' } };

function refuse(args: ParsedArgs, names: readonly string[], why: string): void {
  for (const name of names) {
    if (args.values[name] !== undefined) throw new UsageError(`--${name} ${why}`);
  }
}

export function fileOrKafkaCommand(spec: FileOrKafkaSpec): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    help: spec.help,
    options: { ...spec.kafkaOptions, ...spec.fileOptions },
    async run(argv) {
      const args = parseCommandArgs(argv, { ...spec.kafkaOptions, ...spec.fileOptions }, { min: 0, max: 1, names: spec.inputName });
      if (args.values.help) {
        process.stdout.write(spec.help);
        return 0;
      }
      const input = args.positionals[0];
      const kafkaOnly = Object.keys(spec.kafkaOptions).filter((name) => !(name in spec.fileOptions));
      const fileOnly = Object.keys(spec.fileOptions).filter((name) => !(name in spec.kafkaOptions));
      if (args.values.brokers === undefined) {
        if (input === undefined) throw new UsageError(`missing ${spec.inputName} (or ${spec.kafkaAlternative})`);
        refuse(args, kafkaOnly, 'needs --brokers (it is for Kafka, not for files)');
        return spec.runFile(args, input);
      }
      if (input !== undefined) throw new UsageError(`with --brokers the input is a topic, not a file: remove "${input}"`);
      refuse(args, fileOnly, 'is for files; with --brokers the model comes from <prefix>.models and the output goes to a topic');
      return spec.runKafka(args);
    },
  };
}

/**
 * Runs a model file job (transform or inverse of a CSV file) with the command's options and a
 * progress display, then prints its summary line and the clip counts.
 */
export async function runModelFileJob<R extends ModelFileJobReport>(
  args: ParsedArgs,
  input: string,
  label: 'transform' | 'inverse',
  job: (options: ModelFileJobOptions) => Promise<R>,
  summary: (report: R, output: string, seconds: number) => string,
): Promise<number> {
  const model = await loadModelFile(requiredOption(args, 'model'));
  const output = requiredOption(args, 'out');
  const started = Date.now();
  const progress = fileProgress(label, input);
  const report = await job({
    input,
    model,
    output,
    deadLetterPath: stringOption(args, 'dead-letter'),
    onProgress: (rows, bytes) => progress.update(rows, bytes),
    onRestart: (why) => progress.restart(why),
  }).finally(() => progress.done());
  process.stderr.write(`${summary(report, output, (Date.now() - started) / 1000)}\n${describeClipped(report.clipped)}`);
  return 0;
}

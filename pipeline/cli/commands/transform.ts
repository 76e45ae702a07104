import { loadModelFile } from '../../jobs/model-file';
import { transformFile } from '../../jobs/transform-file';
import { parseCommandArgs, requiredOption, stringOption } from '../args';
import type { Command } from '../command';
import { describeClipped } from '../report';
import { fileProgress } from '../progress';

const HELP = `Usage: vgmflow transform <in.csv> --model <model.json> --out <encoded.csv> [options]

Encodes a CSV file with a fitted model: per numeric column its alpha and the one-hot of
its sampled mode, per categorical column its one-hot, in input column order. The mode
of each row is drawn from a generator keyed by (seed, row id, column), so the same file
always encodes the same way (and as on Kafka after \`vgmflow produce\`). Shows progress
(rows/s, ETA) on stderr: a bar on a terminal, a line every 5 s otherwise.

Options:
  --model <file>          the model written by \`vgmflow fit\` (required)
  --out <file>            the encoded CSV to write (required)
  --dead-letter <file>    write rejected rows here and go on; without it the
                          transform stops at the first bad row
  -h, --help              this help
`;

export const transformCommand: Command = {
  name: 'transform',
  summary: 'encode a CSV file with a fitted model',
  help: HELP,
  async run(argv) {
    const args = parseCommandArgs(
      argv,
      { model: { type: 'string' }, out: { type: 'string' }, 'dead-letter': { type: 'string' } },
      { min: 1, max: 1, names: 'the input CSV file' },
    );
    if (args.values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const model = await loadModelFile(requiredOption(args, 'model'));
    const output = requiredOption(args, 'out');
    const started = Date.now();
    const progress = fileProgress('transform', args.positionals[0]);
    const report = await transformFile({
      input: args.positionals[0],
      model,
      output,
      deadLetterPath: stringOption(args, 'dead-letter'),
      onProgress: (rows, bytes) => progress.update(rows, bytes),
    }).finally(() => progress.done());
    const seconds = (Date.now() - started) / 1000;
    process.stderr.write(
      `encoded ${report.rowsEncoded} rows (${report.rowsDeadLettered} dead-lettered) in ${seconds.toFixed(1)} s to ${output}\n` +
        describeClipped(report.clipped),
    );
    return 0;
  },
};

import { inverseFile } from '../../jobs/inverse-file';
import { loadModelFile } from '../../jobs/model-file';
import { parseCommandArgs, requiredOption, stringOption } from '../args';
import type { Command } from '../command';
import { describeClipped } from '../report';
import { fileProgress } from '../progress';

const HELP = `Usage: vgmflow inverse <encoded.csv> --model <model.json> --out <decoded.csv> [options]

Decodes an encoded CSV file (the layout and header \`vgmflow transform\` writes, e.g.
rows produced by a generator) back to the original columns, with the original header
and column order. Decoded values outside the fitted range are clipped to it and counted.
Shows progress (rows/s, ETA) on stderr: a bar on a terminal, a line every 5 s otherwise.

Options:
  --model <file>          the model written by \`vgmflow fit\` (required)
  --out <file>            the decoded CSV to write (required)
  --dead-letter <file>    write rejected rows here and go on; without it the
                          inverse stops at the first bad row
  -h, --help              this help
`;

export const inverseCommand: Command = {
  name: 'inverse',
  summary: 'decode an encoded CSV file back to the original columns',
  help: HELP,
  async run(argv) {
    const args = parseCommandArgs(
      argv,
      { model: { type: 'string' }, out: { type: 'string' }, 'dead-letter': { type: 'string' } },
      { min: 1, max: 1, names: 'the encoded CSV file' },
    );
    if (args.values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const model = await loadModelFile(requiredOption(args, 'model'));
    const output = requiredOption(args, 'out');
    const progress = fileProgress('inverse', args.positionals[0]);
    const report = await inverseFile({
      input: args.positionals[0],
      model,
      output,
      deadLetterPath: stringOption(args, 'dead-letter'),
      onProgress: (rows, bytes) => progress.update(rows, bytes),
    }).finally(() => progress.done());
    process.stderr.write(
      `decoded ${report.rowsDecoded} rows (${report.rowsDeadLettered} dead-lettered) to ${output}\n` + describeClipped(report.clipped),
    );
    return 0;
  },
};

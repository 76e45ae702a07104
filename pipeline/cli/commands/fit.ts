import { readFile } from 'fs/promises';
import { ColumnSpecError, parseColumnSpecs } from '../../../stages/transformer/column-spec';
import { DEFAULT_TRANSFORMER_OPTIONS, type InitialMeans } from '../../../stages/transformer/fit-transformer';
import { fitFile } from '../../jobs/fit-file';
import { InputError } from '../../jobs/input-error';
import { saveModelFile } from '../../jobs/model-file';
import { integerOption, parseCommandArgs, requiredOption, stringOption } from '../args';
import { UsageError, type Command } from '../command';
import { describeModel } from '../report';

const HELP = `Usage: vgmflow fit <in.csv> --model <model.json> [options]

Fits the transformer (a variational Gaussian mixture per numeric column, CTAB-GAN's
settings) to a CSV file with a header line, and writes the model as JSON.

Options:
  --model <file>          where to write the model (required)
  --columns <specs>       column types, e.g. "Amount:continuous,Tip:mixed(0),Network:categorical";
                          mixed modal values are separated by ';' (e.g. Tip:mixed(0;-9999999)).
                          Columns not listed: continuous if every value is a number, else categorical
  --init-means <file>     JSON object from column name to its initial means (one per component);
                          each value starts in the component of its nearest mean (no k-means)
  --seed <n>              seed for k-means++ and for sampling modes at transform (default 42)
  --dead-letter <file>    write rejected rows (line, reason, raw text) here and go on;
                          without it the fit stops at the first bad row
  -h, --help              this help
`;

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

export const fitCommand: Command = {
  name: 'fit',
  summary: 'fit the transformer to a CSV file and write the model JSON',
  help: HELP,
  async run(argv) {
    const args = parseCommandArgs(
      argv,
      {
        model: { type: 'string' },
        columns: { type: 'string' },
        'init-means': { type: 'string' },
        seed: { type: 'string' },
        'dead-letter': { type: 'string' },
      },
      { min: 1, max: 1, names: 'the input CSV file' },
    );
    if (args.values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const modelPath = requiredOption(args, 'model');
    const columnsText = stringOption(args, 'columns');
    let columns;
    try {
      columns = columnsText === undefined ? [] : parseColumnSpecs(columnsText);
    } catch (err) {
      if (err instanceof ColumnSpecError) throw new UsageError(err.message);
      throw err;
    }
    const initPath = stringOption(args, 'init-means');
    const initialMeans = initPath === undefined ? {} : await readInitialMeans(initPath);
    const seed = integerOption(args, 'seed', DEFAULT_TRANSFORMER_OPTIONS.seed);
    const started = Date.now();
    const report = await fitFile({
      input: args.positionals[0],
      columns,
      initialMeans,
      options: { ...DEFAULT_TRANSFORMER_OPTIONS, seed },
      deadLetterPath: stringOption(args, 'dead-letter'),
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

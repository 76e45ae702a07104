import { mkdir } from 'fs/promises';
import { join, resolve } from 'path';
import { parseColumnSpecs } from '../../../stages/transformer/column-spec';
import { DEFAULT_TRANSFORMER_OPTIONS } from '../../../stages/transformer/fit-transformer';
import { fitFile } from '../../jobs/fit-file';
import { inverseFile } from '../../jobs/inverse-file';
import { saveModelFile } from '../../jobs/model-file';
import { compareFiles } from '../../jobs/round-trip';
import { transformFile } from '../../jobs/transform-file';
import { parseCommandArgs, stringOption } from '../args';
import type { Command } from '../command';
import { describeClipped, describeModel } from '../report';

const SAMPLE = resolve(__dirname, '..', '..', '..', '..', 'assets', 'card-transactions.csv');
const SAMPLE_COLUMNS = 'Amount:continuous,Tip:mixed(0),Network:categorical,Merchant:categorical';

const HELP = `Usage: vgmflow demo [--input <file.csv> --columns <specs>] [--out-dir <dir>]

The embedded main job (what \`npm start\` runs): fits the transformer to a CSV file,
encodes it, decodes the encoding again and reports rows, kept modes, lower bounds,
the round-trip error and rows per second. Without --input it uses the committed
sample assets/card-transactions.csv with the columns
  ${SAMPLE_COLUMNS}

Options:
  --input <file>      CSV file with a header (default: the sample)
  --columns <specs>   column types, as for \`vgmflow fit\`
  --out-dir <dir>     where model.json, encoded.csv and decoded.csv go (default: out)
  -h, --help          this help
`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'fit, transform and inverse a CSV file in one process and report (npm start)',
  help: HELP,
  async run(argv) {
    const args = parseCommandArgs(
      argv,
      { input: { type: 'string' }, columns: { type: 'string' }, 'out-dir': { type: 'string' } },
      { min: 0, max: 0, names: '' },
    );
    if (args.values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const input = stringOption(args, 'input') ?? SAMPLE;
    const columnsText = stringOption(args, 'columns') ?? (stringOption(args, 'input') === undefined ? SAMPLE_COLUMNS : undefined);
    const outDir = stringOption(args, 'out-dir') ?? 'out';
    await mkdir(outDir, { recursive: true });
    const modelPath = join(outDir, 'model.json');
    const encodedPath = join(outDir, 'encoded.csv');
    const decodedPath = join(outDir, 'decoded.csv');
    const log = (s: string) => process.stdout.write(s);

    log(`input: ${input}\n`);
    let t = Date.now();
    const fit = await fitFile({
      input,
      columns: columnsText === undefined ? [] : parseColumnSpecs(columnsText),
      options: DEFAULT_TRANSFORMER_OPTIONS,
    });
    await saveModelFile(modelPath, fit.model);
    const fitSeconds = (Date.now() - t) / 1000;
    log(`fit: ${fit.rowsFitted} rows in ${fitSeconds.toFixed(2)} s (${Math.round(fit.rowsFitted / fitSeconds)} rows/s) -> ${modelPath}\n`);
    log(describeModel(fit.model));

    t = Date.now();
    const encoded = await transformFile({ input, model: fit.model, output: encodedPath });
    const encodeSeconds = (Date.now() - t) / 1000;
    log(`transform: ${encoded.rowsEncoded} rows in ${encodeSeconds.toFixed(2)} s (${Math.round(encoded.rowsEncoded / encodeSeconds)} rows/s) -> ${encodedPath}\n`);
    log(describeClipped(encoded.clipped));
    log(
      `values beyond alpha ±0.99 (the research code clips these and cannot decode them): ${Object.entries(encoded.beyondResearchClip)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}\n`,
    );

    t = Date.now();
    const decoded = await inverseFile({ input: encodedPath, model: fit.model, output: decodedPath });
    const decodeSeconds = (Date.now() - t) / 1000;
    log(`inverse: ${decoded.rowsDecoded} rows in ${decodeSeconds.toFixed(2)} s (${Math.round(decoded.rowsDecoded / decodeSeconds)} rows/s) -> ${decodedPath}\n`);
    log(describeClipped(decoded.clipped));

    const cmp = await compareFiles(input, decodedPath, fit.model);
    log(
      `round trip: ${cmp.rows} rows, max relative error ${cmp.maxRelativeError.toExponential(2)}, ` +
        `${cmp.mismatches} values off by more than 1e-9·max(1,|x|), ${cmp.categoryMismatches} categories differ\n`,
    );
    return cmp.mismatches === 0 && cmp.categoryMismatches === 0 ? 0 : 1;
  },
};

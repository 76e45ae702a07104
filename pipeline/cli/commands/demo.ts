import { mkdir, writeFile } from 'fs/promises';
import { join, resolve } from 'path';
import { parseColumnSpecs } from '../../../core/normalization/column-spec';
import { DEFAULT_TRANSFORMER_OPTIONS } from '../../../core/normalization/fit-transformer';
import { fitFile } from '../../jobs/fit-file';
import { inverseFile } from '../../jobs/inverse-file';
import { saveModelFile } from '../../jobs/model-file';
import { FailFast } from '../../jobs/dead-letters';
import { openTable } from '../../jobs/read-table';
import { compareFiles } from '../../jobs/round-trip';
import { modelFieldIndex, transformFile } from '../../jobs/transform-file';
import { encodedCsvToArrow } from '../../report/arrow-file';
import { columnHistogram, describeScale, mixturePlotSvg } from '../../report/mixture-plot';
import { specsOfModel } from '../../../core/normalization/model-specs';
import type { NumericColumnModel, TransformerModel } from '../../../core/normalization/model';
import { parseCommandArgs, stringOption } from '../args';
import { type Command, type CommandOptions } from '../command';
import { describeClipped, describeModel } from '../report';
import { availableParallelism } from 'node:os';

const SAMPLE = resolve(__dirname, '..', '..', '..', '..', 'assets', 'card-transactions.csv');
const SAMPLE_COLUMNS = 'Amount:continuous,Tip:mixed(0),Network:categorical,Merchant:categorical';

const HELP = `Usage: vgmflow demo [--input <file.csv> --columns <specs>] [--out-dir <dir>]

The embedded main job (what \`npm start\` runs): fits the transformer to a CSV file,
encodes it, decodes the encoding again and reports rows, kept modes, lower bounds,
the round-trip error and rows per second. It also writes the encoding as an Arrow
IPC file (encoded.arrow: Int64 \`row\`, then one Float64 column per encoded position)
and, per continuous or mixed column, <column>.svg: the data's histogram, the fitted
mixture density and the kept modes. Without --input it uses the committed
sample assets/card-transactions.csv with the columns
  ${SAMPLE_COLUMNS}

Options:
  --input <file>      CSV file with a header (default: the sample)
  --columns <specs>   column types, as for \`vgmflow fit\`
  --out-dir <dir>     where model.json, encoded.csv, encoded.arrow, decoded.csv and
                      the plots go (default: out)
  -h, --help          this help
`;

const OPTIONS: CommandOptions = { input: { type: 'string' }, columns: { type: 'string' }, 'out-dir': { type: 'string' } };

export const demoCommand: Command = {
  options: OPTIONS,
  name: 'demo',
  summary: 'fit, transform and inverse a CSV file in one process and report (npm start)',
  help: HELP,
  async run(argv) {
    const args = parseCommandArgs(
      argv,
      OPTIONS,
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
      statsThreads: availableParallelism(),
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
    const arrowPath = join(outDir, 'encoded.arrow');
    const arrow = await encodedCsvToArrow(encodedPath, arrowPath, fit.model);
    log(`arrow: ${arrow.rows} rows, row + ${arrow.columns} Float64 columns in ${((Date.now() - t) / 1000).toFixed(2)} s -> ${arrowPath}\n`);
    for (const plot of await writePlots(input, fit.model, outDir)) {
      log(`plot: ${plot.column} (${plot.axis}) -> ${plot.path}\n`);
    }

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

/** A file name for a column's plot: the name with anything unusual replaced, made unique. */
function plotFileName(name: string, taken: Set<string>): string {
  const base = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || 'column';
  let file = `${base}.svg`;
  for (let i = 2; taken.has(file.toLowerCase()); i++) file = `${base}-${i}.svg`;
  taken.add(file.toLowerCase());
  return file;
}

/** Reads the numeric columns' values once more and writes one SVG per continuous or mixed column. */
async function writePlots(input: string, model: TransformerModel, outDir: string): Promise<{ column: string; axis: string; path: string }[]> {
  const numeric = model.columns.flatMap((c, i) => (c.type === 'categorical' ? [] : [{ column: c as NumericColumnModel, index: i }]));
  if (numeric.length === 0) return [];
  const values = numeric.map(() => [] as number[]);
  const table = await openTable(input, (header) => ({ specs: specsOfModel(model), fieldIndex: modelFieldIndex(model, header, input) }), new FailFast());
  for await (const row of table.rows()) {
    numeric.forEach(({ index }, j) => {
      const cell = row.cells[index];
      if (typeof cell === 'number') values[j].push(cell);
    });
  }
  const taken = new Set(['model.json', 'encoded.csv', 'encoded.arrow', 'decoded.csv']);
  const written: { column: string; axis: string; path: string }[] = [];
  for (let j = 0; j < numeric.length; j++) {
    const column = numeric[j].column;
    const histogram = columnHistogram(column, values[j]);
    const path = join(outDir, plotFileName(column.name, taken));
    await writeFile(path, mixturePlotSvg(column, histogram));
    written.push({ column: column.name, axis: histogram.scale === undefined ? 'auto axis' : describeScale(histogram.scale), path });
  }
  return written;
}

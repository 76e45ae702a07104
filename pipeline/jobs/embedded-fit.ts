/**
 * The embedded runner for a fit, streaming: the file is read in blocks of whole records, each
 * block parsed on a parse thread by the ingest stage's own pure function (ingestMessages: the
 * same rows and the same dead letters as on Kafka) and folded into that thread's column
 * summaries; the merged summaries are cut into value shards and the fit machine runs its
 * rounds over them on worker threads (the stats stage's partial pool). No topic holds the rows,
 * so memory is the summaries (the distinct values, or past the summary options' bound a
 * column's bins) plus one block, whatever the number of rows; and since the model is a
 * function of the rows alone (ARCHITECTURE.md, "The fit round protocol"), it equals the model
 * of the same file fitted on Kafka, byte for byte.
 */
import { createReadStream } from 'node:fs';
import { CsvParser } from '../../core/csv/csv';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { ColumnSummary } from '../../core/normalization/column-summary';
import { summaryOptionsOf, TransformerFitMachine, type InitialMeans } from '../../core/normalization/fit-transformer';
import type { TransformerModel, TransformerOptions } from '../../core/normalization/model';
import { SummaryData } from '../../core/normalization/summary-data';
import { shardSummaries } from '../../core/normalization/value-shard';
import type { DeadLetterRecord } from '../../topics/dead-letter';
import { partialComputer } from '../../stages/stats/partial-pool';
import { InputError } from './input-error';
import type { BlockDeadLetter } from './parse-block';
import { blockParser } from './parse-pool';
import { assertReadable } from './read-table';

export interface EmbeddedFitOptions {
  readonly input: string;
  /** Every column of the file, in header order. */
  readonly columns: readonly ColumnSpec[];
  readonly options: TransformerOptions;
  readonly initialMeans: InitialMeans;
  /** Worker threads that parse the blocks, then compute the stats partials (0: this thread). Default 0. */
  readonly statsThreads?: number;
  /**
   * Called for each rejected row as soon as it is read; throwing stops the fit with that
   * error (a fit without a dead-letter file stops at the first bad row).
   */
  readonly onDeadLetter?: (letter: FileDeadLetter) => void | Promise<void>;
  readonly log?: (line: string) => void;
}

export interface FileDeadLetter extends DeadLetterRecord {
  /** Line in the input file where the rejected record starts. */
  readonly fileLine: number;
}

export interface EmbeddedFitReport {
  readonly model: TransformerModel;
  readonly rowsRead: number;
  readonly rowsFitted: number;
  readonly rowsDeadLettered: number;
  readonly rounds: number;
}

/** Records per block handed to ingest: large enough to amortise a call, small enough to bound memory. */
const BLOCK_RECORDS = 16_384;
/** The parser's limit is ingest's (1 MiB); a longer record must reach ingest whole to get its reason. */
const READ_MAX_RECORD_BYTES = 15 * 1024 * 1024;

interface Block {
  /** File line of each record's start. */
  readonly lines: number[];
  readonly raws: Buffer[];
}

/**
 * The file's data records in blocks, with their exact bytes and first lines. As `vgmflow
 * produce`: the parser runs over latin1 text, one character per byte, so records split as in
 * UTF-8 and invalid UTF-8 reaches ingest unchanged, to be dead-lettered with its reason.
 */
async function* recordBlocks(path: string): AsyncGenerator<Block, void, undefined> {
  const parser = new CsvParser({ maxRecordBytes: READ_MAX_RECORD_BYTES });
  let header = true;
  let block: Block = { lines: [], raws: [] };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    for (const record of parser.push((chunk as Buffer).toString('latin1'))) {
      if (header) {
        header = false;
        continue;
      }
      block.lines.push(record.line);
      block.raws.push(Buffer.from(record.raw, 'latin1'));
      if (block.raws.length === BLOCK_RECORDS) {
        yield block;
        block = { lines: [], raws: [] };
      }
    }
  }
  for (const record of parser.end()) {
    if (header) {
      header = false;
      continue;
    }
    block.lines.push(record.line);
    block.raws.push(Buffer.from(record.raw, 'latin1'));
  }
  if (block.raws.length > 0) yield block;
}

/** A block's records back to back in a buffer of its own (so it can move to a thread), and where each ends. */
function packBlock(block: Block): { bytes: Uint8Array; ends: Int32Array } {
  const ends = new Int32Array(block.raws.length);
  let total = 0;
  block.raws.forEach((raw, i) => (ends[i] = total += raw.length));
  const bytes = new Uint8Array(total);
  block.raws.forEach((raw, i) => bytes.set(raw, i === 0 ? 0 : ends[i - 1]));
  return { bytes, ends };
}

/**
 * Reads the file, has its blocks parsed and summarised on the parse threads (a bounded number
 * in flight), and calls `onDeadLetter` for each rejected row in file order.
 */
async function summariseFile(o: EmbeddedFitOptions): Promise<{ summaries: ColumnSummary[]; rowsRead: number; rowsDeadLettered: number }> {
  const parser = blockParser({ columns: o.columns, summary: summaryOptionsOf(o.options), initialMeans: o.initialMeans }, o.statsThreads ?? 0);
  let rowsRead = 0;
  let rowsDeadLettered = 0;
  const inFlight: { readonly lines: number[]; readonly deadLetters: Promise<BlockDeadLetter[]> }[] = [];
  const settleOldest = async (): Promise<void> => {
    const oldest = inFlight.shift();
    if (oldest === undefined) return;
    for (const letter of await oldest.deadLetters) {
      rowsDeadLettered++;
      // Each record was its own message: its line within the message is 1 unless it spans lines.
      await o.onDeadLetter?.({ ...letter, fileLine: (oldest.lines[letter.offset] ?? 0) + letter.line - 1 });
    }
  };
  try {
    for await (const block of recordBlocks(o.input)) {
      const { bytes, ends } = packBlock(block);
      const deadLetters = parser.parse(bytes, ends);
      // Failures surface through settleOldest, in file order; until then they must not be unhandled.
      deadLetters.catch(() => undefined);
      inFlight.push({ lines: block.lines, deadLetters });
      rowsRead += block.raws.length;
      if (inFlight.length >= parser.parallelism) await settleOldest();
    }
    while (inFlight.length > 0) await settleOldest();
    return { summaries: await parser.finish(), rowsRead, rowsDeadLettered };
  } finally {
    await parser.close();
  }
}

export async function embeddedFit(o: EmbeddedFitOptions): Promise<EmbeddedFitReport> {
  await assertReadable(o.input);
  const log = o.log ?? (() => undefined);
  const read = await summariseFile(o);
  if (read.rowsRead === 0) throw new InputError(`${o.input}: no data rows to fit`);
  if (read.rowsRead === read.rowsDeadLettered) throw new InputError(`${o.input}: no data rows to fit (every row was rejected)`);
  const shards = shardSummaries(read.summaries);
  log(`read ${read.rowsRead} rows (${read.rowsDeadLettered} rejected); fitting over ${shards.length} value shards`);

  const machine = new TransformerFitMachine(o.columns, o.options, o.initialMeans);
  const partials = partialComputer(o.statsThreads ?? 0);
  const job = 'embedded';
  try {
    shards.forEach((shard, s) => partials.load(job, s, new SummaryData(shard)));
    for (let request = machine.next(); request !== null; request = machine.next()) {
      const req = request;
      machine.accept(await Promise.all(shards.map((_, s) => partials.compute(job, s, req))));
      const progress = machine.progress();
      if (progress.length > 0) log(`round ${machine.rounds}: ${progress.join('; ')}`);
    }
  } finally {
    await partials.close();
  }
  const model = machine.result();
  return { model, rowsRead: read.rowsRead, rowsFitted: model.rows, rowsDeadLettered: read.rowsDeadLettered, rounds: machine.rounds };
}

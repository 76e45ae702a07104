/**
 * The embedded runner for a fit, streaming: the file is read in blocks of whole records, each
 * block parsed on a worker thread by the ingest stage's own pure function (ingestMessages: the
 * same rows and the same dead letters as on Kafka) and folded into that thread's column
 * summaries; the merged summaries are cut into value shards and the fit machine runs its
 * rounds over them on the same threads (./fit-threads.ts), which answer the stats stage's
 * partial requests. No topic holds the rows,
 * so memory is the summaries (the distinct values, or past the summary options' bound a
 * column's bins) plus one block, whatever the number of rows; and since the model is a
 * function of the rows alone (ARCHITECTURE.md, "The fit round protocol"), it equals the model
 * of the same file fitted on Kafka, byte for byte.
 */
import { createReadStream } from 'node:fs';
import { PRODUCE_MAX_RECORD_BYTES } from '../../core/csv/message-layout';
import { CsvRecordSplitter, type RecordSink } from '../../core/csv/record-splitter';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { ColumnSummary } from '../../core/normalization/column-summary';
import { summaryOptionsOf, TransformerFitMachine, type InitialMeans } from '../../core/normalization/fit-transformer';
import type { TransformerModel, TransformerOptions } from '../../core/normalization/model';
import { SummaryData } from '../../core/normalization/summary-data';
import { shardSummaries } from '../../core/normalization/value-shard';
import type { DeadLetterRecord } from '../../topics/dead-letter';
import { InputError } from './input-error';
import type { BlockDeadLetter } from './parse-block';
import { fitThreads } from './fit-threads';
import type { BlockParser } from './parse-pool';
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
/** A block also ends once it holds this many bytes (long records), so a block stays bounded. */
const BLOCK_MAX_BYTES = 64 * 1024 * 1024;
/** A block buffer's first size; it grows for long records. */
const BLOCK_START_BYTES = 1024 * 1024;
const LF = 0x0a;

/**
 * Data records in buffers of their own (so they can move to a thread), each followed by an LF:
 * the block reads as one multi-record message, as a produced block does.
 */
interface Block {
  readonly bytes: Uint8Array;
  /** Record i is bytes[ends[i - 1] + 1, ends[i]) (from 0 for the first); an LF follows it. */
  readonly ends: Int32Array;
  /** File line of each record's start. */
  readonly lines: Float64Array;
}

/** Copies records into the next block straight from the file's chunks. */
class BlockWriter {
  private bytes = new Uint8Array(BLOCK_START_BYTES);
  private ends = new Int32Array(BLOCK_RECORDS);
  private lines = new Float64Array(BLOCK_RECORDS);
  private used = 0;
  private count = 0;

  add(source: Uint8Array, from: number, to: number, line: number): void {
    const length = to - from;
    if (this.used + length + 1 > this.bytes.length) {
      const grown = new Uint8Array(Math.max(2 * this.bytes.length, this.used + length + 1));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    this.bytes.set(source.subarray(from, to), this.used);
    this.used += length;
    this.ends[this.count] = this.used;
    this.bytes[this.used++] = LF;
    this.lines[this.count] = line;
    this.count++;
  }

  get full(): boolean {
    return this.count === BLOCK_RECORDS || this.used >= BLOCK_MAX_BYTES;
  }

  get empty(): boolean {
    return this.count === 0;
  }

  /** The block so far; the writer starts a new one in fresh buffers. */
  take(): Block {
    const block = { bytes: this.bytes.subarray(0, this.used), ends: this.ends.subarray(0, this.count), lines: this.lines.subarray(0, this.count) };
    this.bytes = new Uint8Array(Math.min(this.bytes.length, BLOCK_MAX_BYTES));
    this.ends = new Int32Array(BLOCK_RECORDS);
    this.lines = new Float64Array(BLOCK_RECORDS);
    this.used = 0;
    this.count = 0;
    return block;
  }
}

/**
 * The file's data records in blocks, split as `vgmflow produce` splits them (the same splitter
 * and record limit): each record's exact bytes, invalid UTF-8 included, reach ingest unchanged,
 * to be dead-lettered there with its reason.
 */
async function* recordBlocks(path: string): AsyncGenerator<Block, void, undefined> {
  const splitter = new CsvRecordSplitter({ maxRecordBytes: PRODUCE_MAX_RECORD_BYTES });
  const writer = new BlockWriter();
  const ready: Block[] = [];
  let header = true;
  const sink: RecordSink = (bytes, from, to, line) => {
    if (header) {
      header = false;
      return;
    }
    writer.add(bytes, from, to, line);
    if (writer.full) ready.push(writer.take());
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    splitter.push(chunk as Buffer, sink);
    yield* ready.splice(0);
  }
  splitter.end(sink);
  yield* ready.splice(0);
  if (!writer.empty) yield writer.take();
}

/**
 * Reads the file, has its blocks parsed and summarised on the parse threads (a bounded number
 * in flight), and calls `onDeadLetter` for each rejected row in file order.
 */
async function summariseFile(o: EmbeddedFitOptions, parser: BlockParser): Promise<{ summaries: ColumnSummary[]; rowsRead: number; rowsDeadLettered: number }> {
  let rowsRead = 0;
  let rowsDeadLettered = 0;
  const inFlight: { readonly lines: Float64Array; readonly deadLetters: Promise<BlockDeadLetter[]> }[] = [];
  const settleOldest = async (): Promise<void> => {
    const oldest = inFlight.shift();
    if (oldest === undefined) return;
    for (const letter of await oldest.deadLetters) {
      rowsDeadLettered++;
      // Each record was its own message: its line within the message is 1 unless it spans lines.
      await o.onDeadLetter?.({ ...letter, fileLine: (oldest.lines[letter.offset] ?? 0) + letter.line - 1 });
    }
  };
  for await (const block of recordBlocks(o.input)) {
    // Counted first: parse moves the block's buffers to a thread, which empties these views.
    rowsRead += block.ends.length;
    const deadLetters = parser.parse(block.bytes, block.ends);
    // Failures surface through settleOldest, in file order; until then they must not be unhandled.
    deadLetters.catch(() => undefined);
    inFlight.push({ lines: block.lines, deadLetters });
    if (inFlight.length >= parser.parallelism) await settleOldest();
  }
  while (inFlight.length > 0) await settleOldest();
  return { summaries: await parser.finish(), rowsRead, rowsDeadLettered };
}

export async function embeddedFit(o: EmbeddedFitOptions): Promise<EmbeddedFitReport> {
  await assertReadable(o.input);
  const log = o.log ?? (() => undefined);
  const threads = fitThreads({ columns: o.columns, summary: summaryOptionsOf(o.options), initialMeans: o.initialMeans }, o.statsThreads ?? 0);
  const { partials } = threads;
  const job = 'embedded';
  try {
    const read = await summariseFile(o, threads.parser);
    if (read.rowsRead === 0) throw new InputError(`${o.input}: no data rows to fit`);
    if (read.rowsRead === read.rowsDeadLettered) throw new InputError(`${o.input}: no data rows to fit (every row was rejected)`);
    const shards = shardSummaries(read.summaries);
    log(`read ${read.rowsRead} rows (${read.rowsDeadLettered} rejected); fitting over ${shards.length} value shards`);

    const machine = new TransformerFitMachine(o.columns, o.options, o.initialMeans);
    shards.forEach((shard, s) => partials.load(job, s, new SummaryData(shard)));
    for (let request = machine.next(); request !== null; request = machine.next()) {
      const req = request;
      machine.accept(await Promise.all(shards.map((_, s) => partials.compute(job, s, req))));
      const progress = machine.progress();
      if (progress.length > 0) log(`round ${machine.rounds}: ${progress.join('; ')}`);
    }
    const model = machine.result();
    return { model, rowsRead: read.rowsRead, rowsFitted: model.rows, rowsDeadLettered: read.rowsDeadLettered, rounds: machine.rounds };
  } finally {
    await threads.close();
  }
}

/**
 * The internal columnar record: parsed rows of one source partition, each with the Kafka
 * offset of the message it came from and its index within that message. This is the value
 * of the `vgm.batches` topic (encoded by ./row-batch-codec as an Arrow IPC stream).
 *
 * Numeric columns (continuous and mixed) hold their values in a Float64Array, categorical
 * columns in a string array; the other slot of each column is null. A batch built here also
 * carries each categorical column dictionary-encoded (`categories`), which the codec writes
 * as is instead of hashing every string again.
 */
import { CategoryDictionary } from '../core/csv/category-dictionary';
import { isNumeric, type ColumnSpec } from '../core/normalization/column-spec';
import type { CellValue } from '../core/normalization/column-summary';

/** A categorical column as codes into its distinct values (in order of first appearance). */
export interface CategoryCodes {
  readonly codes: Int32Array;
  readonly values: readonly string[];
}

export interface RowBatch {
  /** Names and types, in input order. */
  readonly columns: readonly ColumnSpec[];
  readonly sourceTopic: string;
  readonly sourcePartition: number;
  /**
   * The source offsets this batch accounts for: [coveredFrom, coveredTo). Every message of
   * the source partition in that range has all its rows either in this batch or on the
   * dead-letter topic (or has no data rows at all). The ingest stage emits one batch per
   * consumed range, empty if need be, so the batches of a partition cover contiguous ranges:
   * each batch's coveredFrom is the previous batch's coveredTo. Every row's source offset lies
   * in the range. A consumer can thus tell a duplicate (already covered) from a gap.
   */
  readonly coveredFrom: number;
  readonly coveredTo: number;
  /** Number of rows. */
  readonly length: number;
  /** Kafka offset of the message each row came from. */
  readonly sourceOffsets: Float64Array;
  /** 0-based index of the row within that message. */
  readonly rowInMessage: Int32Array;
  /** Per column: the values of a numeric column, null for a categorical one. */
  readonly numeric: readonly (Float64Array | null)[];
  /** Per column: the values of a categorical column, null for a numeric one. */
  readonly text: readonly (readonly string[] | null)[];
  /**
   * Optional, per column: a categorical column's values as codes (text[c][i] is
   * values[codes[i]]), null for a numeric one. Readers that have it may skip the strings.
   */
  readonly categories?: readonly (CategoryCodes | null)[];
}

/** Field names the Arrow encoding uses for the row ids; no column may take them. */
export const SOURCE_OFFSET_FIELD = '_source_offset';
export const ROW_IN_MESSAGE_FIELD = '_row_in_message';
export const RESERVED_COLUMN_NAMES: readonly string[] = [SOURCE_OFFSET_FIELD, ROW_IN_MESSAGE_FIELD];

/**
 * Largest source offset of a row: 2^53 - 1, so that offsets and the coverage end (one past)
 * are exact doubles. Kafka's int64 offsets stay far below in practice (see ./transport).
 */
export const MAX_SOURCE_OFFSET = Number.MAX_SAFE_INTEGER;

export class RowBatchError extends Error {}

/**
 * Checks that `columns` can describe a RowBatch: at least one column, unique non-empty names,
 * none reserved, and well-formed specs. Throws RowBatchError.
 */
export function checkRowBatchColumns(columns: readonly ColumnSpec[]): void {
  if (columns.length === 0) throw new RowBatchError('a row batch needs at least one column');
  const seen = new Set<string>();
  for (const spec of columns) {
    if (typeof spec.name !== 'string' || spec.name === '') throw new RowBatchError('a column has an empty name');
    if (RESERVED_COLUMN_NAMES.includes(spec.name)) {
      throw new RowBatchError(`column name "${spec.name}" is reserved for the row ids of a batch`);
    }
    if (seen.has(spec.name)) throw new RowBatchError(`column "${spec.name}" is listed twice`);
    seen.add(spec.name);
    if (spec.type === 'mixed') {
      if (!Array.isArray(spec.modalValues) || !spec.modalValues.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw new RowBatchError(`mixed column "${spec.name}" needs finite modal values`);
      }
    } else if (spec.type !== 'continuous' && spec.type !== 'categorical') {
      throw new RowBatchError(`column "${(spec as { name: string }).name}" has unknown type "${String((spec as { type: unknown }).type)}"`);
    }
  }
}

export function checkSourceOffset(offset: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_SOURCE_OFFSET) {
    throw new RowBatchError(`source offset ${offset} is not an integer in [0, 2^53)`);
  }
}

/**
 * Checks a coverage range against the lowest and highest row offset (±Infinity for no rows):
 * integers, 0 ≤ from ≤ lo ≤ hi < to ≤ 2^53.
 */
export function checkCoverage(from: number, to: number, lo: number, hi: number): void {
  const ok = (x: number): boolean => Number.isInteger(x) && x >= 0 && x <= MAX_SOURCE_OFFSET + 1;
  if (!ok(from) || !ok(to) || from > to) {
    throw new RowBatchError(`coverage [${from}, ${to}) is not a range of source offsets`);
  }
  if (lo < from || hi >= to) {
    throw new RowBatchError(`coverage [${from}, ${to}) does not hold the rows' source offsets ${lo}…${hi}`);
  }
}

function checkRowInMessage(row: number): void {
  if (!Number.isInteger(row) || row < 0 || row > 0x7fffffff) {
    throw new RowBatchError(`row index ${row} is not an integer in [0, 2^31)`);
  }
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * The rows of one message as typed columns (ingest parses a message into one, then appends it
 * to a batch whole): per numeric column its values, per categorical column ids into the
 * column's CategoryDictionary. `reserve()` before writing row `length`; `length++` keeps it.
 */
export class RowBlock {
  length = 0;
  /** Estimated bytes of the kept rows in a batch (RowBatchBuilder.estimatedBytes). */
  bytes = 0;
  rowInMessage = new Int32Array(256);
  readonly numeric: (Float64Array | null)[];
  readonly ids: (Int32Array | null)[];

  constructor(readonly columns: readonly ColumnSpec[]) {
    this.numeric = columns.map((c) => (isNumeric(c) ? new Float64Array(256) : null));
    this.ids = columns.map((c) => (isNumeric(c) ? null : new Int32Array(256)));
  }

  reset(): void {
    this.length = 0;
    this.bytes = 0;
  }

  /** Makes room for row `length`. */
  reserve(): void {
    if (this.length < this.rowInMessage.length) return;
    const capacity = this.rowInMessage.length * 2;
    this.rowInMessage = grown(this.rowInMessage, capacity);
    for (let c = 0; c < this.columns.length; c++) {
      const numbers = this.numeric[c];
      if (numbers) this.numeric[c] = grown(numbers, capacity);
      else this.ids[c] = grown(this.ids[c] as Int32Array, capacity);
    }
  }
}

function grown<T extends Float64Array | Int32Array>(a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a);
  return b;
}

/**
 * Accumulates rows; `build()` returns a RowBatch of exactly the rows added so far. Categorical
 * values are kept as ids into one CategoryDictionary per column, which builders of one stream
 * may share (so a block parsed against them can go into any of them).
 */
export class RowBatchBuilder {
  readonly columns: readonly ColumnSpec[];
  /** Per column: its dictionary (categorical), or null. */
  readonly dictionaries: readonly (CategoryDictionary | null)[];
  private readonly numericColumn: readonly boolean[];
  private capacity = 0;
  private count = 0;
  private offsets = new Float64Array(0);
  private rows = new Int32Array(0);
  private numbers: (Float64Array | null)[];
  private ids: (Int32Array | null)[];
  private bytes = 0;

  constructor(
    columns: readonly ColumnSpec[],
    readonly sourceTopic: string,
    readonly sourcePartition: number,
    dictionaries?: readonly (CategoryDictionary | null)[],
  ) {
    checkRowBatchColumns(columns);
    if (!Number.isInteger(sourcePartition) || sourcePartition < 0) {
      throw new RowBatchError(`source partition ${sourcePartition} is not a non-negative integer`);
    }
    this.columns = columns;
    this.numericColumn = columns.map(isNumeric);
    this.dictionaries = dictionaries ?? categoryDictionaries(columns);
    this.numbers = this.numericColumn.map((n) => (n ? new Float64Array(0) : null));
    this.ids = this.numericColumn.map((n) => (n ? null : new Int32Array(0)));
  }

  /** Rows added so far. */
  get length(): number {
    return this.count;
  }

  /**
   * A rough size of the encoded batch in bytes (values and offsets, without the schema),
   * for callers that keep batches under a message size limit.
   */
  get estimatedBytes(): number {
    return this.bytes;
  }

  /**
   * Checks that `cells` fit the columns (a number for each numeric column, a string for each
   * categorical one) and returns the row's share of `estimatedBytes`.
   */
  rowBytes(cells: readonly CellValue[]): number {
    if (cells.length !== this.columns.length) {
      throw new RowBatchError(`expected ${this.columns.length} cells, got ${cells.length}`);
    }
    let bytes = ROW_ID_BYTES;
    for (let c = 0; c < cells.length; c++) {
      const cell = cells[c];
      if (this.numericColumn[c]) {
        if (typeof cell !== 'number') throw new RowBatchError(`column ${this.columns[c].name} takes numbers, got ${typeof cell}`);
        bytes += NUMBER_BYTES;
      } else {
        if (typeof cell !== 'string') throw new RowBatchError(`column ${this.columns[c].name} takes strings, got ${typeof cell}`);
        bytes += textBytes(utf8Length(cell));
      }
    }
    return bytes;
  }

  /** Adds a row: a number for each numeric column, a string for each categorical one. */
  add(offset: number, rowInMessage: number, cells: readonly CellValue[]): void {
    checkSourceOffset(offset);
    checkRowInMessage(rowInMessage);
    const bytes = this.rowBytes(cells);
    this.ensure(this.count + 1);
    const i = this.count;
    this.offsets[i] = offset;
    this.rows[i] = rowInMessage;
    for (let c = 0; c < cells.length; c++) {
      const numbers = this.numbers[c];
      if (numbers !== null) numbers[i] = cells[c] as number;
      else (this.ids[c] as Int32Array)[i] = (this.dictionaries[c] as CategoryDictionary).idOf(cells[c] as string);
    }
    this.count++;
    this.bytes += bytes;
  }

  /** Adds the rows of one message, parsed into `block` against this builder's dictionaries. */
  addBlock(offset: number, block: RowBlock): void {
    checkSourceOffset(offset);
    const n = block.length;
    if (n === 0) return;
    for (let k = 0; k < n; k++) checkRowInMessage(block.rowInMessage[k] as number);
    this.ensure(this.count + n);
    const at = this.count;
    this.offsets.fill(offset, at, at + n);
    this.rows.set(block.rowInMessage.subarray(0, n), at);
    for (let c = 0; c < this.columns.length; c++) {
      const numbers = this.numbers[c];
      if (numbers !== null) numbers.set((block.numeric[c] as Float64Array).subarray(0, n), at);
      else (this.ids[c] as Int32Array).set((block.ids[c] as Int32Array).subarray(0, n), at);
    }
    this.count += n;
    this.bytes += block.bytes;
  }

  /**
   * The rows added so far, as a batch covering the source offsets [from, to). Default: from
   * the first row's offset to one past the last row's ([0, 0) for no rows).
   */
  build(coverage?: { readonly from: number; readonly to: number }): RowBatch {
    const n = this.count;
    const offsets = this.offsets.subarray(0, n);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const o = offsets[i] as number;
      if (o < lo) lo = o;
      if (o > hi) hi = o;
    }
    const from = coverage?.from ?? (n > 0 ? lo : 0);
    const to = coverage?.to ?? (n > 0 ? hi + 1 : 0);
    checkCoverage(from, to, lo, hi);
    const categories = this.ids.map((ids, c) => (ids === null ? null : localCodes(ids.subarray(0, n), (this.dictionaries[c] as CategoryDictionary).values)));
    return {
      columns: this.columns,
      sourceTopic: this.sourceTopic,
      sourcePartition: this.sourcePartition,
      coveredFrom: from,
      coveredTo: to,
      length: n,
      sourceOffsets: this.offsets.slice(0, n),
      rowInMessage: this.rows.slice(0, n),
      numeric: this.numbers.map((a) => (a === null ? null : a.slice(0, n))),
      text: categories.map((k) => (k === null ? null : Array.from(k.codes, (code) => k.values[code] as string))),
      categories,
    };
  }

  private ensure(size: number): void {
    if (size <= this.capacity) return;
    const capacity = Math.max(64, this.capacity * 2, size);
    this.offsets = grown(this.offsets, capacity);
    this.rows = grown(this.rows, capacity);
    this.numbers = this.numbers.map((a) => (a === null ? null : grown(a, capacity)));
    this.ids = this.ids.map((a) => (a === null ? null : grown(a, capacity)));
    this.capacity = capacity;
  }
}

/** A fresh dictionary for each categorical column of `columns` (null for the numeric ones). */
export function categoryDictionaries(columns: readonly ColumnSpec[]): (CategoryDictionary | null)[] {
  return columns.map((c) => (isNumeric(c) ? null : new CategoryDictionary()));
}

/** Ids into `values` → codes into the values the rows use, numbered by first appearance. */
function localCodes(ids: Int32Array, values: readonly string[]): CategoryCodes {
  const localOf = new Map<number, number>();
  const used: string[] = [];
  const codes = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    let code = localOf.get(id);
    if (code === undefined) {
      code = used.length;
      localOf.set(id, code);
      used.push(values[id] as string);
    }
    codes[i] = code;
  }
  return { codes, values: used };
}

/** The estimated bytes of a row id in a batch, of a number, and of a text of `utf8Bytes`. */
export const ROW_ID_BYTES = 12;
export const NUMBER_BYTES = 8;
export function textBytes(utf8Bytes: number): number {
  return 4 + utf8Bytes;
}

/** The cells of row `i` of a batch, in column order. */
export function rowCells(batch: RowBatch, i: number): CellValue[] {
  const cells: CellValue[] = [];
  for (let c = 0; c < batch.columns.length; c++) {
    const numbers = batch.numeric[c];
    cells.push(numbers ? (numbers[i] as number) : ((batch.text[c] as readonly string[])[i] as string));
  }
  return cells;
}

/**
 * The Kafka key of a batch on `vgm.batches`: `${partition}:${coveredFrom}`, the first source
 * offset it accounts for (unique within a partition, since coverages do not overlap).
 */
export function rowBatchKey(b: RowBatch): string {
  return `${b.sourcePartition}:${b.coveredFrom}`;
}

/**
 * Rows and models that exercise every branch of the encoder and decoder, for the batch
 * tests (tests/unit/batch-codec.test.ts). Uses only the row-at-a-time API that existed
 * before the batch encoder, so the same cases could be digested with that code.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { parseRow } from '../../core/csv/row-parser';
import { parseColumnSpecs, type ColumnSpec } from '../../core/normalization/column-spec';
import { ColumnSummaryBuilder, type CellValue } from '../../core/normalization/column-summary';
import { fitTransformer } from '../../core/normalization/fit-transformer';
import type { TransformerModel } from '../../core/normalization/model';
import type { RowId } from '../../core/normalization/row-id';
import { SAMPLE } from './sample';

export const MISSING = -9999999;
export const CASE_SPECS: ColumnSpec[] = parseColumnSpecs(
  `Amount:continuous,Tip:mixed(0;${MISSING}),Network:categorical,Merchant:categorical`,
);

/** The whole committed sample (50 000 rows), every 50th tip replaced by the missing marker. */
export function sampleCases(): CellValue[][] {
  const lines = readFileSync(SAMPLE, 'utf8').split('\n');
  const header = (lines[0] as string).split(',');
  const index = CASE_SPECS.map((s) => header.indexOf(s.name));
  return lines
    .slice(1)
    .filter((line) => line !== '')
    .map((line, i) => {
      const parsed = parseRow(CASE_SPECS, index, line.split(','), header.length);
      if (!parsed.ok) throw new Error(`sample row ${i}: ${parsed.reason}`);
      const cells = parsed.cells;
      if (i % 50 === 7) cells[1] = MISSING;
      return cells;
    });
}

/** A model fitted on the first 2000 cases, so later rows fall outside its range now and then. */
export function fitOn(rows: readonly CellValue[][], specs: readonly ColumnSpec[] = CASE_SPECS): TransformerModel {
  const builders = specs.map((s) => new ColumnSummaryBuilder(s));
  for (const row of rows) row.forEach((cell, c) => (builders[c] as ColumnSummaryBuilder).add(cell));
  return fitTransformer(builders.map((b) => b.build()));
}

/** Hand-made rows after the sample: modal values, -0, out of range, unseen and mistyped cells. */
export function edgeCases(): CellValue[][] {
  return [
    [1999, 0, 'visa', '5411'],
    [1999, MISSING, 'visa', '5411'],
    [-0, -0, 'amex', '5812'],
    [1e12, 1e9, 'visa', '5411'],
    [-1e12, -5, 'visa', '5411'],
    [0.5, 3.25, 'unionpay', '7011'],
    [1e12, 5, 'no-such-network', '5411'], // clipped, then rejected by a later column
    [25, 1e12, 'visa', 'no-such-merchant'],
    [25, 3, 'visa', 5411], // a number in a categorical column is looked up as its text
    ['abc', 3, 'visa', '5411'], // text in a numeric column
    [25, 'x', 'nope', '5411'],
  ];
}

/** Spreads rows over partitions, offsets beyond 2^32 and rows within a message. */
export function caseRowId(i: number): RowId {
  return { partition: i % 5, offset: 2 ** 33 + 7 * Math.floor(i / 3), rowInMessage: i % 13 };
}

/** A digest of float bits, integers and text, in the order they are added. */
export class BitDigest {
  private readonly hash = createHash('sha256');
  private readonly bits = new Float64Array(1);

  float(x: number): void {
    this.bits[0] = x;
    this.hash.update(new Uint8Array(this.bits.buffer));
  }

  text(s: string): void {
    this.hash.update(`${s.length}:${s}`);
  }

  hex(): string {
    return this.hash.digest('hex');
  }
}

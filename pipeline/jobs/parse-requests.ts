/**
 * What a parse thread does with each request, apart from the thread itself, so that a thread of
 * another body (the embedded fit's, which computes partials next) can answer them too: it parses
 * blocks of CSV records with the ingest stage's pure function and folds the rows into its own
 * column summaries; at the end it hands them back. Counts are whole numbers, so the summaries of
 * all threads merge to the same summary whichever thread got which block.
 */
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { ColumnSummary } from '../../core/normalization/column-summary';
import type { InitialMeans } from '../../core/normalization/fit-transformer';
import type { SummaryOptions } from '../../core/normalization/summary-options';
import type { ThreadReply } from '../../stages/runner/thread-pool';
import { parseBlockInto, summaryBuilders, type BlockDeadLetter } from './parse-block';

/**
 * What a parse thread summarises, and how: the fit's summary options and initial means (a
 * binned column's bins are split at its means' regions), as a stats worker has them from the job.
 */
export interface ParseThreadData {
  readonly columns: readonly ColumnSpec[];
  readonly summary: SummaryOptions;
  readonly initialMeans: InitialMeans;
}

export type ParseRequest =
  | { readonly type: 'block'; readonly id: number; readonly bytes: Uint8Array; readonly ends: Int32Array }
  | { readonly type: 'finish'; readonly id: number };

/** A 'block' request's result: its rejected records; a 'finish' request's: the thread's summaries. */
export type ParseResult = BlockDeadLetter[] | ColumnSummary[];

/** The reply to each request. 'finish' hands the summaries over and starts new, empty ones. */
export function parseRequestHandler(how: ParseThreadData): (m: ParseRequest) => ThreadReply<ParseResult> {
  const { columns, summary, initialMeans } = how;
  let builders = summaryBuilders(columns, summary, initialMeans);
  return (m) => {
    try {
      if (m.type === 'block') return { id: m.id, result: parseBlockInto(builders, columns, m.bytes, m.ends) };
      const summaries = builders.map((b) => b.build());
      builders = summaryBuilders(columns, summary, initialMeans);
      return { id: m.id, result: summaries };
    } catch (err) {
      return { id: m.id, error: err instanceof Error ? err.message : String(err) };
    }
  };
}

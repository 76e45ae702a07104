/**
 * What a partial-statistics thread does with each request, apart from the thread itself, so that
 * a thread of another pool (the embedded fit's, which parses first) can answer them too. It holds
 * the value shard summaries it was given and answers each round's request for one of them with
 * the same pure function as the stats worker's own thread, over a bit-exact copy of the summary,
 * so where it runs cannot change the model.
 */
import { computeShardPartial, type RoundRequest, type ShardPartial } from '../../core/normalization/fit-transformer';
import type { ColumnSummary } from '../../core/normalization/column-summary';
import { SummaryData } from '../../core/normalization/summary-data';
import type { ThreadReply } from '../runner/thread-pool';

export type PartialRequest =
  | { readonly type: 'load'; readonly job: string; readonly shard: number; readonly summaries: readonly ColumnSummary[] }
  | { readonly type: 'forget'; readonly job: string }
  | { readonly type: 'compute'; readonly id: number; readonly job: string; readonly shard: number; readonly request: RoundRequest };

/** The reply to each request; null for those that want none (load, forget). */
export function partialRequestHandler(): (m: PartialRequest) => ThreadReply<ShardPartial> | null {
  const held = new Map<string, SummaryData>();
  return (m) => {
    if (m.type === 'load') {
      held.set(`${m.job}/${m.shard}`, new SummaryData(m.summaries));
      return null;
    }
    if (m.type === 'forget') {
      for (const key of [...held.keys()]) if (key.startsWith(`${m.job}/`)) held.delete(key);
      return null;
    }
    try {
      const data = held.get(`${m.job}/${m.shard}`);
      if (data === undefined) throw new Error(`no summary of value shard ${m.shard} for job ${m.job} in this thread`);
      return { id: m.id, result: computeShardPartial(m.request, data) };
    } catch (err) {
      return { id: m.id, error: err instanceof Error ? err.message : String(err) };
    }
  };
}

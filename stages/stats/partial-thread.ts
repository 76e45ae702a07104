/**
 * The body of a partial-statistics thread (./partial-pool.ts): it holds the value shard
 * summaries it was given and answers each round's request for one of them. The partial is
 * computed by the same pure function as in the stats worker's own thread, over a bit-exact
 * copy of the summary, so where it runs cannot change the model.
 */
import { parentPort } from 'node:worker_threads';
import { computeShardPartial } from '../../core/normalization/fit-transformer';
import { SummaryData } from '../../core/normalization/summary-data';
import type { ShardPartial } from '../../core/normalization/fit-transformer';
import type { ThreadReply } from '../runner/thread-pool';
import type { ThreadRequest } from './partial-pool';

const held = new Map<string, SummaryData>();
const port = parentPort;
if (port === null) throw new Error('partial-thread.js runs as a worker thread only');

port.on('message', (m: ThreadRequest) => {
  if (m.type === 'load') {
    held.set(`${m.job}/${m.shard}`, new SummaryData(m.summaries));
    return;
  }
  if (m.type === 'forget') {
    for (const key of [...held.keys()]) if (key.startsWith(`${m.job}/`)) held.delete(key);
    return;
  }
  let reply: ThreadReply<ShardPartial>;
  try {
    const data = held.get(`${m.job}/${m.shard}`);
    if (data === undefined) throw new Error(`no summary of value shard ${m.shard} for job ${m.job} in this thread`);
    reply = { id: m.id, result: computeShardPartial(m.request, data) };
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});

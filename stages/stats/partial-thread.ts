/**
 * The body of a partial-statistics thread (./partial-pool.ts): it holds the partition
 * summaries it was given and answers each round's request for one of them. The partial is
 * computed by the same pure function as in the stats worker's own thread, over a bit-exact
 * copy of the summary, so where it runs cannot change the model.
 */
import { parentPort } from 'node:worker_threads';
import { computePartitionPartial } from '../../core/normalization/fit-transformer';
import { PartitionData } from '../../core/normalization/partition-data';
import type { ThreadReply, ThreadRequest } from './partial-pool';

const held = new Map<string, PartitionData>();
const port = parentPort;
if (port === null) throw new Error('partial-thread.js runs as a worker thread only');

port.on('message', (m: ThreadRequest) => {
  if (m.type === 'load') {
    held.set(`${m.job}/${m.partition}`, new PartitionData(m.summaries));
    return;
  }
  if (m.type === 'forget') {
    for (const key of [...held.keys()]) if (key.startsWith(`${m.job}/`)) held.delete(key);
    return;
  }
  let reply: ThreadReply;
  try {
    const data = held.get(`${m.job}/${m.partition}`);
    if (data === undefined) throw new Error(`no summary of partition ${m.partition} for job ${m.job} in this thread`);
    reply = { id: m.id, partial: computePartitionPartial(m.request, data) };
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});

/**
 * The body of a parse thread (./parse-pool.ts): it parses blocks of CSV records with the ingest
 * stage's pure function and folds the rows into its own column summaries; at the end it hands
 * them back. Counts are whole numbers, so the summaries of all threads merge to the same
 * summary whichever thread got which block.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ThreadReply } from '../../stages/runner/thread-pool';
import type { ParseRequest, ParseResult, ParseThreadData } from './parse-pool';
import { parseBlockInto, summaryBuilders } from './parse-block';

const port = parentPort;
if (port === null) throw new Error('parse-thread.js runs as a worker thread only');
const { columns, summary, initialMeans } = workerData as ParseThreadData;
const builders = summaryBuilders(columns, summary, initialMeans);

port.on('message', (m: ParseRequest) => {
  let reply: ThreadReply<ParseResult>;
  try {
    const result: ParseResult = m.type === 'block' ? parseBlockInto(builders, columns, m.bytes, m.ends) : builders.map((b) => b.build());
    reply = { id: m.id, result };
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});

/**
 * The body of a parse thread (./parse-pool.ts): it parses blocks of CSV records with the ingest
 * stage's pure function and folds the rows into its own column summaries; at the end it hands
 * them back. Counts are whole numbers, so the summaries of all threads merge to the same
 * summary whichever thread got which block.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ParseReply, ParseRequest, ParseThreadData } from './parse-pool';
import { parseBlockInto, summaryBuilders } from './parse-block';

const port = parentPort;
if (port === null) throw new Error('parse-thread.js runs as a worker thread only');
const { columns, summary, initialMeans } = workerData as ParseThreadData;
const builders = summaryBuilders(columns, summary, initialMeans);

port.on('message', (m: ParseRequest) => {
  let reply: ParseReply;
  try {
    if (m.type === 'block') {
      reply = { type: 'block', id: m.id, deadLetters: parseBlockInto(builders, columns, m.bytes, m.ends) };
    } else {
      reply = { type: 'summaries', id: m.id, summaries: builders.map((b) => b.build()) };
    }
  } catch (err) {
    reply = { type: 'error', id: m.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});

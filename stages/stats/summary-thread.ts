/**
 * The body of a summary thread (./summary-pool.ts): it holds the summaries of the input
 * partitions it is given and adds their row batches in the order they come, with the same pure
 * code as the stats worker's own thread (./partition-chunks.ts).
 */
import { parentPort } from 'node:worker_threads';
import { wholeBuffers, type ThreadReply } from '../runner/thread-pool';
import type { BatchAdded, ChunkRecord } from './partition-chunks';
import { PartitionChunkers, type SummaryThreadRequest } from './summary-pool';

const port = parentPort;
if (port === null) throw new Error('summary-thread.js runs as a worker thread only');
const chunkers = new PartitionChunkers();

port.on('message', (m: SummaryThreadRequest) => {
  if (m.type === 'drop') {
    chunkers.drop(m.partition);
    return;
  }
  let reply: ThreadReply<ChunkRecord[] | BatchAdded | null>;
  let transfer: ArrayBuffer[] = [];
  try {
    if (m.type === 'start') {
      reply = { id: m.id, result: chunkers.start(m.partition, m.generation, m.job) };
    } else {
      const added = chunkers.add(m.partition, m.generation, m.value);
      // Chunks are handed over rather than copied.
      transfer = wholeBuffers((added?.chunks ?? []).map((c) => c.value));
      reply = { id: m.id, result: added };
    }
  } catch (err) {
    // An add fails on an undecodable batch; the worker then fails, as in its own thread.
    reply = { id: m.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply, transfer);
});

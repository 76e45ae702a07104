/**
 * The body of an ingest parse thread (./ingest-pool.ts): it parses the fetches it is sent with
 * the same pure function as the stage's own thread (./ingest-records.ts), so where a fetch is
 * parsed cannot change the output.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { wholeBuffers } from '../runner/thread-pool';
import type { IngestThreadReply, IngestThreadRequest } from './ingest-pool';
import { ingestRecords, unpackMessages, type IngestSetup } from './ingest-records';

const port = parentPort;
if (port === null) throw new Error('ingest-thread.js runs as a worker thread only');
const setup = workerData as IngestSetup;

port.on('message', (m: IngestThreadRequest) => {
  let reply: IngestThreadReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const result = ingestRecords(setup, unpackMessages(m.messages), new Map(m.startOffsets));
    // Handed over rather than copied.
    transfer = wholeBuffers(result.batches.map((b) => b.value));
    reply = { id: m.id, result };
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply, transfer);
});

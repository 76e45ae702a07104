/**
 * The body of an embedded-fit thread (./fit-threads.ts): it parses the file's blocks into its
 * column summaries (./parse-requests.ts), then computes the partials of the value shards it is
 * given (stages/stats/partial-requests.ts). One thread does both, so a fit starts half as many
 * threads as with a pool for each.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { partialRequestHandler, type PartialRequest } from '../../stages/stats/partial-requests';
import { parseRequestHandler, type ParseRequest, type ParseThreadData } from './parse-requests';

const port = parentPort;
if (port === null) throw new Error('fit-thread.js runs as a worker thread only');
const parse = parseRequestHandler(workerData as ParseThreadData);
const partial = partialRequestHandler();

port.on('message', (m: ParseRequest | PartialRequest) => {
  const reply = m.type === 'block' || m.type === 'finish' ? parse(m) : partial(m);
  if (reply !== null) port.postMessage(reply);
});

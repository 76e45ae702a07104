/**
 * The body of a partial-statistics thread (./partial-pool.ts): it answers the requests of
 * ./partial-requests.ts.
 */
import { parentPort } from 'node:worker_threads';
import { partialRequestHandler, type PartialRequest } from './partial-requests';

const port = parentPort;
if (port === null) throw new Error('partial-thread.js runs as a worker thread only');
const answer = partialRequestHandler();

port.on('message', (m: PartialRequest) => {
  const reply = answer(m);
  if (reply !== null) port.postMessage(reply);
});

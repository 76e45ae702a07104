/**
 * The body of a line thread (./line-coders.ts): it answers LineRequests with the
 * direction, model and file named in its workerData.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MessageLines } from './file-messages';
import { wholeBuffers } from '../../stages/runner/thread-pool';
import { lineRequestHandler, type LineRequest, type LineThreadData } from './line-coders';

const port = parentPort;
if (port === null) throw new Error('line-thread.js runs as a worker thread only');
const answer = lineRequestHandler(workerData as LineThreadData);

port.on('message', (m: LineRequest) => {
  const reply = answer(m);
  const text = m.type === 'message' && 'result' in reply && reply.result !== null ? (reply.result as MessageLines).text : null;
  // The lines are handed over, not copied.
  port.postMessage(reply, text === null ? [] : wholeBuffers([text]));
});

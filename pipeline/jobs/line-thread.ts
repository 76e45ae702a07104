/**
 * The body of a line-encoding thread (./line-encoders.ts): it answers LineRequests with the
 * model and file named in its workerData.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { lineRequestHandler, type LineRequest, type LineThreadData } from './line-encoders';

const port = parentPort;
if (port === null) throw new Error('line-thread.js runs as a worker thread only');
const answer = lineRequestHandler(workerData as LineThreadData);

port.on('message', (m: LineRequest) => {
  const reply = answer(m);
  const text = 'result' in reply && reply.result !== null && 'text' in reply.result ? reply.result.text : null;
  // The lines are handed over, not copied.
  port.postMessage(reply, text !== null && text.byteOffset === 0 && text.byteLength === text.buffer.byteLength ? [text.buffer as ArrayBuffer] : []);
});

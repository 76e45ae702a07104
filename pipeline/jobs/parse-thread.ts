/**
 * The body of a parse thread (./parse-pool.ts): it answers the requests of ./parse-requests.ts
 * for the columns and summary options in its workerData.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseRequestHandler, type ParseRequest, type ParseThreadData } from './parse-requests';

const port = parentPort;
if (port === null) throw new Error('parse-thread.js runs as a worker thread only');
const answer = parseRequestHandler(workerData as ParseThreadData);

port.on('message', (m: ParseRequest) => port.postMessage(answer(m)));

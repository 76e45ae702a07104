/**
 * The body of an encoding thread (./encode-pool.ts): it holds the model in use and encodes the
 * row batches it is sent, with the same pure function as the stage's own thread
 * (./block-record.ts), so where a batch is encoded cannot change the output.
 */
import { parentPort } from 'node:worker_threads';
import { wholeBuffers } from '../runner/thread-pool';
import { encodeBlockRecord, type BlockRecordOptions } from './block-record';
import type { EncodeThreadReply, EncodeThreadRequest } from './encode-pool';
import { transformContext, type TransformContext } from './transform-batch';

const port = parentPort;
if (port === null) throw new Error('encode-thread.js runs as a worker thread only');

let ctx: TransformContext | null = null;
let options: BlockRecordOptions | null = null;

port.on('message', (m: EncodeThreadRequest) => {
  if (m.type === 'model') {
    ctx = transformContext(m.model.model, m.model.modelVersion, { modelName: m.model.modelName, vector: m.model.vector });
    options = m.options;
    return;
  }
  let reply: EncodeThreadReply;
  let transfer: ArrayBuffer[] = [];
  try {
    if (ctx === null || options === null || ctx.modelVersion !== m.modelVersion) {
      throw new Error(`encoding thread: model version ${m.modelVersion} is not the one in use here (${ctx?.modelVersion ?? 'none'})`);
    }
    const result = encodeBlockRecord(ctx, m.source, m.value, options);
    // Handed over rather than copied.
    transfer = wholeBuffers([...result.blocks.map((b) => b.value), ...(result.file === null ? [] : [result.file.body])]);
    reply = { id: m.id, result };
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply, transfer);
});

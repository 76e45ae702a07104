/**
 * Where the transform stage encodes its row batches in the block format: in its own thread, or
 * spread over worker threads (`threads`), so that the encoding — the mode draws, most of the
 * stage's CPU — runs on several cores while the stage's thread talks to Kafka. A record's
 * bytes go to a thread (copied once), its blocks, dead letters and S3 file come back
 * (transferred, not copied). The result is a pure function of the record and the model
 * (./block-record.ts), so the thread count cannot change a bit of the output; results are
 * handed back per record, and the stage keeps them in input order.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TransformerModel } from '../../core/normalization/model';
import { ThreadPool, type ThreadReply } from '../runner/thread-pool';
import { encodeBlockRecord, type BlockRecordOptions, type EncodedRecordBlocks, type RecordSource } from './block-record';
import { transformContext, type TransformContext, type TransformContextOptions } from './transform-batch';

/** The model the encoders use, and how their blocks look. */
export interface EncodeModel extends Required<TransformContextOptions> {
  readonly model: TransformerModel;
  readonly modelVersion: string;
}

export type EncodeThreadRequest =
  | { readonly type: 'model'; readonly model: EncodeModel; readonly options: BlockRecordOptions }
  | { readonly type: 'encode'; readonly id: number; readonly modelVersion: string; readonly source: RecordSource; readonly value: Uint8Array };

export type EncodeThreadReply = ThreadReply<EncodedRecordBlocks>;

export interface BlockEncoders {
  /** Puts `model` in use, with these block options, for the records encoded from now on. */
  use(model: EncodeModel, options: BlockRecordOptions): void;
  encode(source: RecordSource, value: Uint8Array): Promise<EncodedRecordBlocks>;
  close(): Promise<void>;
}

function contextOf(m: EncodeModel): TransformContext {
  return transformContext(m.model, m.modelVersion, { modelName: m.modelName, vector: m.vector });
}

/** In the caller's thread. */
function inThread(): BlockEncoders {
  let ctx: TransformContext | null = null;
  let options: BlockRecordOptions | null = null;
  return {
    use: (m, o) => {
      ctx = contextOf(m);
      options = o;
    },
    encode: async (source, value) => {
      if (ctx === null || options === null) throw new Error('transform: a record to encode before a model');
      return encodeBlockRecord(ctx, source, value, options);
    },
    close: async () => undefined,
  };
}

/** The compiled thread body; absent when running from TypeScript sources (ts-jest), where threads cannot load it. */
const THREAD_SCRIPT = join(__dirname, 'encode-thread.js');

/** Record k goes to the thread with the fewest records in flight. */
function threaded(threads: number): BlockEncoders {
  const pool = new ThreadPool(THREAD_SCRIPT, threads, 'an encoding thread');
  let version: string | null = null;
  return {
    use: (m, options) => {
      version = m.modelVersion;
      for (let t = 0; t < pool.size; t++) pool.tell(t, { type: 'model', model: m, options } satisfies EncodeThreadRequest);
    },
    encode: async (source, value) => {
      if (version === null) throw new Error('transform: a record to encode before a model');
      const modelVersion = version;
      // A copy of just the record's bytes (the value is a view into a whole fetch), handed over.
      const bytes = new Uint8Array(value.byteLength);
      bytes.set(value);
      const request = (id: number): EncodeThreadRequest => ({ type: 'encode', id, modelVersion, source: { topic: source.topic, partition: source.partition, offset: source.offset }, value: bytes });
      return pool.ask<EncodedRecordBlocks>(pool.leastBusy(), request, [bytes.buffer]);
    },
    close: () => pool.close('the encoding threads were closed'),
  };
}

/**
 * `threads` worker threads, or the caller's thread when `threads` is 0 or the thread body is
 * not compiled (running from TypeScript sources).
 */
export function blockEncoders(threads: number): BlockEncoders {
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`encoding threads must be a whole number ≥ 0, not ${threads}`);
  return threads === 0 || !existsSync(THREAD_SCRIPT) ? inThread() : threaded(threads);
}

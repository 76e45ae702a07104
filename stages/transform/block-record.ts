/**
 * One record of the batches topic → what the transform stage writes for it in the block format:
 * its blocks (Arrow IPC stream bytes, ./transform-batch.ts and topics/transformed-block.ts), its
 * dead letters and its Arrow file for S3, all from one encoding of the row batch. A pure
 * function of the record's bytes and the model, so it gives the same bytes in the stage's own
 * thread and in an encoding thread (./encode-pool.ts).
 */
import { DEFAULT_DEAD_LETTER_RAW_BYTES, type DeadLetterRecord } from '../../topics/dead-letter';
import { rowBatchCodec, RowBatchDecodeError } from '../../topics/row-batch-codec';
import { transformedArrowFile, transformedBlockCodec, type TransformedBlock } from '../../topics/transformed-block';
import { rowIdKey } from '../../core/normalization/row-id';
import { transformedObjectKey, transformRowBatch, type TransformContext } from './transform-batch';

/** Where a record came from. */
export interface RecordSource {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface EncodedRecordBlocks {
  /** The blocks, in row order, each with its key (the row id of its first row). */
  readonly blocks: ReadonlyArray<{ readonly key: string; readonly value: Uint8Array }>;
  readonly deadLetters: readonly DeadLetterRecord[];
  /** The S3 object of the row batch, when asked for and the batch has rows. */
  readonly file: { readonly key: string; readonly body: Uint8Array } | null;
  /** Rows in the blocks. */
  readonly rows: number;
}

export interface BlockRecordOptions {
  /** Most rows per block: a larger row batch is cut into several blocks. */
  readonly maxBlockRows: number;
  /** Key prefix of the S3 files, or null for none. */
  readonly s3Prefix: string | null;
}

/** Column bytes of one row of a block in `ctx`'s layout (row ids, alpha and mode or category, vector). */
export function blockRowBytes(ctx: TransformContext): number {
  let bytes = 16;
  for (const c of ctx.layout.columns) bytes += c.type === 'categorical' ? 4 : 12;
  return bytes + (ctx.layout.vector ? 8 * ctx.layout.width : 0);
}

/** A block cut into blocks of at most `maxRows` rows, in row order. */
export function cutBlock(block: TransformedBlock, maxRows: number): TransformedBlock[] {
  const n = block.rows.length;
  if (n <= maxRows) return [block];
  const width = block.layout.width;
  const parts: TransformedBlock[] = [];
  for (let from = 0; from < n; from += maxRows) {
    const to = Math.min(n, from + maxRows);
    const { rowIds, alpha, position } = block.rows;
    parts.push({
      layout: block.layout,
      rows: {
        length: to - from,
        rowIds: { partition: rowIds.partition.subarray(from, to), offset: rowIds.offset.subarray(from, to), rowInMessage: rowIds.rowInMessage.subarray(from, to) },
        alpha: alpha.map((a) => (a === null ? null : a.subarray(from, to))),
        position: position.map((p) => p.subarray(from, to)),
      },
      vectors: block.vectors === null ? null : block.vectors.subarray(from * width, to * width),
    });
  }
  return parts;
}

/** The key of a block: the row id of its first row. */
export function blockKey(block: TransformedBlock): string {
  const ids = block.rows.rowIds;
  return rowIdKey({ partition: ids.partition[0] as number, offset: ids.offset[0] as number, rowInMessage: ids.rowInMessage[0] as number });
}

/** A record that is no row batch: one dead letter with the reason. */
export function undecodableBatch(source: RecordSource, err: RowBatchDecodeError): DeadLetterRecord {
  return { raw: '', reason: `transform: ${err.message}`, topic: source.topic, partition: source.partition, offset: source.offset, line: 0 };
}

/** Decodes the row batch, encodes its rows once, and writes its blocks and S3 file from that one encoding. */
export function encodeBlockRecord(
  ctx: TransformContext,
  source: RecordSource,
  value: Uint8Array,
  o: BlockRecordOptions,
  maxDeadLetterRawBytes = DEFAULT_DEAD_LETTER_RAW_BYTES,
): EncodedRecordBlocks {
  let rowBatch;
  try {
    rowBatch = rowBatchCodec.decode(value);
  } catch (err) {
    if (!(err instanceof RowBatchDecodeError)) throw err;
    return { blocks: [], deadLetters: [undecodableBatch(source, err)], file: null, rows: 0 };
  }
  const { block, deadLetters } = transformRowBatch(ctx, rowBatch, maxDeadLetterRawBytes);
  if (block.rows.length === 0) return { blocks: [], deadLetters, file: null, rows: 0 };
  const blocks = cutBlock(block, o.maxBlockRows).map((part) => ({ key: blockKey(part), value: transformedBlockCodec.encode(part) }));
  const file = o.s3Prefix === null ? null : { key: transformedObjectKey(o.s3Prefix, ctx.modelVersion, rowBatch), body: transformedArrowFile(block) };
  return { blocks, deadLetters, file, rows: block.rows.length };
}

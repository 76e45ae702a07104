/**
 * Where `vgmflow produce` puts each data line of a file (header excluded) on a fresh topic of
 * the default six partitions, as the row-id keys a stage writes: what a test compares an embedded
 * job's rows with. Lines are whole records without newlines.
 */
import { MessageBlocks, type MessageLimits } from '../../core/csv/message-layout';
import { messageRowId, rowIdKey } from '../../core/normalization/row-id';

export function producedRowKeys(lines: readonly string[], limits: MessageLimits = {}): string[] {
  const blocks = new MessageBlocks(limits);
  return lines.map((line) => {
    blocks.place(Buffer.byteLength(line));
    return rowIdKey(messageRowId(blocks.message, blocks.rowInMessage));
  });
}

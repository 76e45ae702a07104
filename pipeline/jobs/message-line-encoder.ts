/**
 * One produced message of a clean file → its encoded CSV lines: parsed by the ingest stage's own
 * function into a row batch of typed columns, encoded as the transform stage encodes one
 * (BatchEncoder, each row's draw keyed by its row id), each row written by EncodedLineFormat.
 * A pure function of the message and the model, so the embedded transform's threads
 * (./line-coders.ts) give the same bytes as its own thread, and the same as the Kafka
 * transform's rows.
 */
import type { ColumnSpec } from '../../core/normalization/column-spec';
import { BatchEncoder } from '../../core/normalization/batch-encoder';
import { specsOfModel } from '../../core/normalization/model-specs';
import type { TransformerModel } from '../../core/normalization/model';
import { FILE_ROW_PARTITIONS } from '../../core/normalization/row-id';
import { ingestMessages } from '../../stages/ingest/ingest-batch';
import { EncodedLineFormat } from './encoded-line';
import type { ColumnCounts, FileMessage, MessageLineCoder, MessageLines } from './file-messages';

export class MessageLineEncoder implements MessageLineCoder {
  private readonly specs: readonly ColumnSpec[];
  private readonly encoder: BatchEncoder;
  private readonly format: EncodedLineFormat;

  /** `source` names the file in the rows' ids, as the row path names it. */
  constructor(
    model: TransformerModel,
    private readonly source: string,
  ) {
    this.specs = specsOfModel(model);
    this.encoder = new BatchEncoder(model);
    this.format = new EncodedLineFormat(model);
  }

  /**
   * The message's lines; null when the message is not clean (a rejected record, a record read
   * as a header, rows that are not the records one for one, a row the encoder refuses), which
   * the row path must then report row by row.
   */
  lines(m: FileMessage): MessageLines | null {
    const partition = m.index % FILE_ROW_PARTITIONS;
    const parsed = ingestMessages([{ topic: this.source, partition, offset: Math.floor(m.index / FILE_ROW_PARTITIONS), key: null, value: m.value, headers: {} }], this.specs);
    if (parsed.deadLetters.length > 0 || parsed.headersSkipped > 0 || parsed.rows !== m.records) return null;
    let text = '';
    let rows = 0;
    for (const batch of parsed.batches) {
      const n = batch.length;
      if (n === 0) continue;
      const rowIds = { partition: new Int32Array(n).fill(partition), offset: batch.sourceOffsets, rowInMessage: batch.rowInMessage };
      const encoded = this.encoder.encode({ length: n, columns: this.specs.map((_, c) => batch.numeric[c] ?? (batch.text[c] as readonly string[])), rowIds });
      if (encoded.rejections.length > 0) return null;
      for (let i = 0; i < n; i++) text += `${this.format.line(encoded, i)}\n`;
      rows += n;
    }
    return { text: Buffer.from(text, 'latin1'), rows };
  }

  /** Values clipped into the fitted range, and those beyond the research code's ±0.99, per model column. */
  counts(): ColumnCounts {
    return { clipped: [...this.encoder.clipped], beyondResearchClip: [...this.encoder.beyondResearchClip] };
  }
}

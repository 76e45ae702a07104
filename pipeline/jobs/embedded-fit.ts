/**
 * The embedded runner for a fit: the pipeline's own stages (ingest, stats worker,
 * reducer, fit job) over in-memory topics in this process. The file is produced to the
 * input topic as `vgmflow produce` would write it to Kafka (blocks of whole records up to
 * 1 MiB by default), so the same file with the same partitions and message layout gives the
 * same model on both runners.
 */
import { deadLetterCodec, type DeadLetterRecord } from '../../topics/dead-letter';
import { MemoryTransport } from '../../topics/memory';
import { DEFAULT_PARTITIONS, stageGroup, topicNames, topicSpecs } from '../../topics/topology';
import type { MessageLimits } from '../../core/csv/message-layout';
import type { ColumnSpec } from '../../core/normalization/column-spec';
import type { InitialMeans } from '../../core/normalization/fit-transformer';
import type { TransformerModel, TransformerOptions } from '../../core/normalization/model';
import { runFitJob } from './fit-job';
import { InputError } from './input-error';
import { produceFile } from './produce-file';
import { startAllStages } from '../runners/all-stages';
import { readTopicToEnd } from '../runners/read-topic';

export interface EmbeddedFitOptions {
  readonly input: string;
  /** Every column of the file, in header order. */
  readonly columns: readonly ColumnSpec[];
  readonly options: TransformerOptions;
  readonly initialMeans: InitialMeans;
  readonly partitions?: number;
  /** The produce layout to mirror; default produce's (blocks of up to 1 MiB). */
  readonly messageLimits?: MessageLimits;
  /** Worker threads computing the stats partials (0: this thread). Default 0. */
  readonly statsThreads?: number;
  readonly log?: (line: string) => void;
}

export interface FileDeadLetter extends DeadLetterRecord {
  /** Line in the input file where the rejected record starts. */
  readonly fileLine: number;
}

export interface EmbeddedFitReport {
  readonly model: TransformerModel;
  readonly rowsRead: number;
  readonly rowsFitted: number;
  readonly deadLetters: FileDeadLetter[];
  readonly rounds: number;
}

export async function embeddedFit(o: EmbeddedFitOptions): Promise<EmbeddedFitReport> {
  const transport = new MemoryTransport();
  const topics = topicNames('vgm');
  const partitions = o.partitions ?? DEFAULT_PARTITIONS;
  const log = o.log ?? (() => undefined);
  try {
    await transport.ensureTopics(topicSpecs(topics, partitions));
    const produced = await produceFile({ transport, topic: topics.rows, input: o.input, ...o.messageLimits, trackLines: true });
    if (produced.rows === 0) throw new InputError(`${o.input}: no data rows to fit`);
    const stages = await startAllStages({ transport, topics, columns: o.columns, statsThreads: o.statsThreads, log });
    let result;
    try {
      result = await Promise.race([
        runFitJob({
          transport,
          topics,
          job: 'embedded',
          columns: o.columns,
          options: o.options,
          initialMeans: o.initialMeans,
          modelName: 'embedded',
          ingestGroup: stageGroup(topics, 'ingest'),
          log,
        }),
        stages.failed,
      ]);
    } finally {
      await stages.stop();
    }
    const deadLetters = (await readTopicToEnd(transport, topics.deadLetters, 1000))
      .map((r) => deadLetterCodec.decode(r.value))
      .map((d) => ({ ...d, fileLine: produced.lines?.fileLine(d.offset * partitions + d.partition, d.line) ?? d.line }))
      .sort((a, b) => a.fileLine - b.fileLine);
    return { model: result.model, rowsRead: produced.rows, rowsFitted: result.rows, deadLetters, rounds: result.rounds };
  } finally {
    await transport.close();
  }
}

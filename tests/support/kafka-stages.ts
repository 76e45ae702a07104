/**
 * What the Kafka stage integration tests share: a fitted model of a slice of the sample
 * (embedded, or produced to Kafka and fitted there), publishing a model record, the progress a
 * `vgmflow stage …` child reports on stderr, and waiting for a stage's group to commit its input.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../pipeline/main';
import { loadModelFile } from '../../pipeline/jobs/model-file';
import type { TransformerModel } from '../../core/normalization/model';
import { modelRecordCodec } from '../../topics/model-record';
import type { Transport } from '../../topics/transport';
import { waitUntil, type Child } from './processes';
import { quietly, SAMPLE_COLUMNS, SAMPLE_HEADER } from './sample';
import { stackConfig } from './stack';

/** Writes `lines` (sample data lines) under the sample's header to `<dir>/slice.csv`; its path. */
export function writeSlice(dir: string, lines: readonly string[]): string {
  const path = join(dir, 'slice.csv');
  writeFileSync(path, `${SAMPLE_HEADER}\n${lines.join('\n')}\n`);
  return path;
}

/** `vgmflow fit <slice> --model <dir>/m.json` in this process (the slice written by writeSlice); the model. */
export async function fitSlice(dir: string, lines: readonly string[]): Promise<TransformerModel> {
  const input = writeSlice(dir, lines);
  const modelPath = join(dir, 'm.json');
  expect(await quietly(() => main(['fit', input, '--model', modelPath, '--columns', SAMPLE_COLUMNS]))).toBe(0);
  return loadModelFile(modelPath);
}

/**
 * `vgmflow produce <slice>` to `<prefix>.rows` on the test stack's Kafka, then `vgmflow fit
 * --all-stages --job <job>` there, both in this process (the slice written by writeSlice); the model.
 */
export async function produceAndFitSlice(dir: string, lines: readonly string[], prefix: string, job: string, produceArgs: readonly string[] = []): Promise<TransformerModel> {
  const input = writeSlice(dir, lines);
  const modelPath = join(dir, 'm.json');
  const kafka = ['--brokers', stackConfig().kafkaBrokers.join(','), '--topic-prefix', prefix];
  expect(await quietly(() => main(['produce', input, ...kafka, ...produceArgs]))).toBe(0);
  expect(await quietly(() => main(['fit', ...kafka, '--all-stages', '--model', modelPath, '--columns', SAMPLE_COLUMNS, '--job', job]))).toBe(0);
  return loadModelFile(modelPath);
}

/** Publishes `model` as version `job` of the model named `modelName` to the models topic. */
export async function publishModel(transport: Transport, modelsTopic: string, job: string, model: TransformerModel, modelName = 'default'): Promise<void> {
  const producer = await transport.producer();
  await producer.send([{ topic: modelsTopic, key: modelName, value: modelRecordCodec.encode({ job, modelName, model }) }]);
  await producer.close();
}

export interface StageProgress {
  readonly rows: number;
  readonly deadLettered: number;
}

/**
 * The highest counts a `vgmflow stage <stage>` child has reported so far on stderr
 * (`[<stage>] N rows, M dead-lettered …`); zeros before its first report.
 */
export function stageProgress(child: Child, stage: string): StageProgress {
  let rows = 0;
  let deadLettered = 0;
  for (const m of child.stderr.matchAll(new RegExp(`\\[${stage}\\] (\\d+) rows, (\\d+) dead-lettered`, 'g'))) {
    rows = Math.max(rows, Number(m[1]));
    deadLettered = Math.max(deadLettered, Number(m[2]));
  }
  return { rows, deadLettered };
}

/**
 * Waits until `group` has committed, on every partition of `topic`, at least the offset `ends`
 * gives for it; the timeout error shows the committed offsets and `detail()`.
 */
export async function waitForGroupCommit(
  transport: Transport,
  group: string,
  topic: string,
  ends: readonly number[],
  timeoutMs: number,
  detail: () => string,
): Promise<void> {
  let committed: number[] = [];
  await waitUntil(
    async () => {
      committed = await transport.committedOffsets(group, topic);
      return ends.every((e, p) => (committed[p] ?? -1) >= e);
    },
    `group ${group} to commit ${topic}`,
    timeoutMs,
    () => `not all committed: ${committed.join(',')} of ${ends.join(',')}\n${detail()}`,
  );
}

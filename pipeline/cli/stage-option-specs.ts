/**
 * The command-line options of the transform and inverse stages, declared apart from
 * ./stage-options (which turns them into stage options and loads the stages, kafkajs and Arrow
 * to do it), so that a command can list them without loading any of that.
 */
import { availableParallelism } from 'node:os';
import type { ParseArgsConfig } from 'util';
import { REGISTRY_SECURITY_OPTIONS } from './registry-security';

type Options = NonNullable<ParseArgsConfig['options']>;

export const MODEL_STAGE_OPTIONS: Options = {
  'model-name': { type: 'string' },
  compression: { type: 'string' },
  'registry-url': { type: 'string' },
  ...REGISTRY_SECURITY_OPTIONS,
  group: { type: 'string' },
  'transactional-id': { type: 'string' },
};

export const TRANSFORM_STAGE_OPTIONS: Options = {
  ...MODEL_STAGE_OPTIONS,
  'encode-threads': { type: 'string' },
  's3-bucket': { type: 'string' },
  'output-format': { type: 'string' },
  vector: { type: 'boolean' },
  'transformed-topic': { type: 'string' },
};

export const INVERSE_STAGE_OPTIONS: Options = {
  ...MODEL_STAGE_OPTIONS,
  'encoded-topic': { type: 'string' },
  'decoded-topic': { type: 'string' },
  format: { type: 'string' },
  'output-format': { type: 'string' },
};

/**
 * `--encode-threads`: worker threads that encode the row batches in the block format (a batch
 * is the same bits whichever thread encodes it). The default uses every core: at 10M rows on the
 * 2-core machine two threads beat none by 1.1–1.3× (`amount`) and 1.37× (`distinct`, where the
 * selection cache misses), in alternating runs; a thread's start and cold JIT cost about 1 s of
 * CPU, so a run of 1M rows is about that much slower with them (measured, see the README).
 */
export const ENCODE_THREADS_HELP = `  --encode-threads <n>    worker threads that encode row batches into blocks (default: the number
                          of cores, ${availableParallelism()} here; 0: the main thread)`;

/**
 * The models topic's value: a fitted model with the job that produced it. Keyed by
 * model name on a compacted topic, so the latest version of each name is kept; the
 * version is the job id.
 */
import { parseModel } from '../core/normalization/model-validate';
import { serializeModel, type TransformerModel } from '../core/normalization/model';
import type { Codec } from './codec';

export interface ModelRecord {
  readonly job: string;
  readonly modelName: string;
  readonly model: TransformerModel;
}

function encodeModelRecord(r: ModelRecord): Uint8Array {
  return Buffer.from(`{"job":${JSON.stringify(r.job)},"modelName":${JSON.stringify(r.modelName)},"model":${serializeModel(r.model)}}`, 'utf8');
}

function decodeModelRecord(bytes: Uint8Array, where: string): ModelRecord {
  const json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as { job?: unknown; modelName?: unknown; model?: unknown };
  if (typeof json.job !== 'string' || typeof json.modelName !== 'string') throw new RangeError(`${where}: not a model record`);
  return { job: json.job, modelName: json.modelName, model: parseModel(JSON.stringify(json.model), where) };
}

/** Where a fitted model goes besides the models topic (e.g. S3): the reducer calls it before publishing. */
export type ModelSink = (job: string, modelName: string, model: TransformerModel) => Promise<void>;

/** The models topic's values. */
export const modelRecordCodec: Codec<ModelRecord> = {
  contentType: 'application/json',
  encode: encodeModelRecord,
  decode: (bytes, where = 'a model record') => decodeModelRecord(bytes, where),
};

/**
 * How the values of one topic's messages become typed values and back. Every topic of the
 * pipeline has one Codec (topics/topology.ts names which), so a stage declares what it reads
 * and writes instead of spelling its own encode/decode pair.
 *
 * Decoding is synchronous on purpose: a codec needs nothing but the bytes. Reading Avro written
 * by someone else is the one exception — its schema may first have to be fetched from the
 * Schema Registry — and lives apart, in topics/avro-wire.ts.
 */
import type { OutRecord } from './transport';

export interface Codec<T> {
  /** The `content-type` header written beside each value. */
  readonly contentType: string;
  encode(value: T): Uint8Array;
  /** Throws when the bytes are not a T; `where` (e.g. `vgm.models[0]@12`) goes into the error. */
  decode(bytes: Uint8Array, where?: string): T;
}

/** The record that publishes `value` on `topic` with the codec's content type. */
export function encodedRecord<T>(
  codec: Codec<T>,
  topic: string,
  key: string | null,
  value: T,
  options: { readonly partition?: number; readonly headers?: Readonly<Record<string, string>> } = {},
): OutRecord {
  return {
    topic,
    ...(options.partition === undefined ? {} : { partition: options.partition }),
    key,
    value: codec.encode(value),
    headers: { 'content-type': codec.contentType, ...options.headers },
  };
}

/** Where a record came from, for error messages: `topic[partition]@offset`. */
export function recordPlace(r: { readonly topic: string; readonly partition: number; readonly offset: number }): string {
  return `${r.topic}[${r.partition}]@${r.offset}`;
}

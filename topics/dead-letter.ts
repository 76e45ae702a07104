/**
 * A rejected input row, as published on the dead-letter topic (`vgm.dlq`).
 *
 * Value: UTF-8 JSON
 *   { "raw": string, "reason": string, "topic": string, "partition": number, "offset": number, "line": number, "column"?: string }
 * where topic/partition/offset locate the source message and line is the 1-based line within
 * that message on which the rejected record starts. Key: `${partition}:${offset}`.
 * Published to the dead-letter partition equal to the source partition.
 */
import type { OutRecord } from './transport';
import { encodedRecord, type Codec } from './codec';
import { redactSecrets } from './secrets';

export interface DeadLetterRecord {
  /** The record's text as it appeared in the message (possibly cut, see `cutRaw`). */
  readonly raw: string;
  /** Why it was rejected, for a human. */
  readonly reason: string;
  /** Source topic, partition and offset of the message. */
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** 1-based line within the message on which the record starts. */
  readonly line: number;
  /** The column whose value was rejected, when one was. */
  readonly column?: string;
}

/** Content type of a dead-letter value, e.g. for a record header. */
export const DEAD_LETTER_CONTENT_TYPE = 'application/json';

/**
 * Default cap on the UTF-8 size of `raw` in a published dead letter. A rejected record may be
 * as long as the parser's limit (1 MiB), and a dead letter of that size would exceed Kafka's
 * default message size and block the partition; 64 KiB is plenty to diagnose a row.
 */
export const DEFAULT_DEAD_LETTER_RAW_BYTES = 64 * 1024;

export class DeadLetterDecodeError extends Error {}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function encodeDeadLetter(d: DeadLetterRecord): Uint8Array {
  // Fixed key order, so equal records encode to equal bytes. A reason may quote an error of a
  // library (the registry's, say): no secret of the process goes out with it. The raw text is
  // the input's own, kept as it came.
  const value = { raw: d.raw, reason: redactSecrets(d.reason), topic: d.topic, partition: d.partition, offset: d.offset, line: d.line, column: d.column };
  return encoder.encode(JSON.stringify(value));
}

function fail(message: string): never {
  throw new DeadLetterDecodeError(`invalid dead letter: ${message}`);
}

function isNonNegativeInteger(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

function decodeDeadLetter(bytes: Uint8Array): DeadLetterRecord {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch (err) {
    return fail(`not UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('not a JSON object');
  const { raw, reason, topic, partition, offset, line, column } = json as Record<string, unknown>;
  if (typeof raw !== 'string') fail('"raw" is not a string');
  if (typeof reason !== 'string') fail('"reason" is not a string');
  if (typeof topic !== 'string') fail('"topic" is not a string');
  if (!isNonNegativeInteger(partition)) fail('"partition" is not a non-negative integer');
  if (!isNonNegativeInteger(offset)) fail('"offset" is not a non-negative integer');
  if (!isNonNegativeInteger(line)) fail('"line" is not a non-negative integer');
  if (column !== undefined && typeof column !== 'string') fail('"column" is not a string');
  return column === undefined ? { raw, reason, topic, partition, offset, line } : { raw, reason, topic, partition, offset, line, column };
}

export function deadLetterKey(d: DeadLetterRecord): string {
  return `${d.partition}:${d.offset}`;
}

/** The record that publishes `d` on `dlqTopic`, in the partition of its source. */
export function deadLetterOutRecord(dlqTopic: string, d: DeadLetterRecord): OutRecord {
  return encodedRecord(deadLetterCodec, dlqTopic, deadLetterKey(d), d, { partition: d.partition });
}

/**
 * Cuts `raw` to at most `maxBytes` UTF-8 bytes (never inside a surrogate pair). Returns the
 * text and, when it was cut, the original size in bytes.
 */
export function cutRaw(raw: string, maxBytes: number): { raw: string; cutFrom: number | null } {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short strings need no counting.
  if (raw.length * 3 <= maxBytes) return { raw, cutFrom: null };
  const total = Buffer.byteLength(raw, 'utf8');
  if (total <= maxBytes) return { raw, cutFrom: null };
  let bytes = 0;
  let end = 0;
  while (end < raw.length) {
    const c = raw.charCodeAt(end);
    const next = end + 1 < raw.length ? raw.charCodeAt(end + 1) : 0;
    const pair = c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
    const size = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += pair ? 2 : 1;
  }
  return { raw: raw.slice(0, end), cutFrom: total };
}

/** The dead-letter topic's values. */
export const deadLetterCodec: Codec<DeadLetterRecord> = { contentType: DEAD_LETTER_CONTENT_TYPE, encode: encodeDeadLetter, decode: decodeDeadLetter };

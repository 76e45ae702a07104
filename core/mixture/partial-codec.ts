/**
 * Bytes for the partial statistics, so workers can ship them over a topic. Every
 * number is written as a little-endian float64, so a decoded partial is bit-for-bit
 * the one encoded.
 */
import type { ComponentStats } from './component-stats';
import type { LloydPartial } from './kmeans';
import type { Moments } from './moments';

const MAGIC = 0x56474d50; // "VGMP"
const FORMAT_VERSION = 1;
const HEADER_BYTES = 12;

export enum PartialKind {
  Moments = 1,
  ComponentStats = 2,
  Lloyd = 3,
}

function encode(kind: PartialKind, k: number, numbers: readonly ArrayLike<number>[]): Uint8Array {
  const total = numbers.reduce((n, a) => n + a.length, 0);
  const bytes = new Uint8Array(HEADER_BYTES + total * 8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, false);
  view.setUint16(4, FORMAT_VERSION, true);
  view.setUint16(6, kind, true);
  view.setUint32(8, k, true);
  let at = HEADER_BYTES;
  for (const array of numbers) {
    for (let i = 0; i < array.length; i++, at += 8) view.setFloat64(at, array[i], true);
  }
  return bytes;
}

interface Decoded {
  readonly k: number;
  next(count: number): Float64Array;
  one(): number;
  end(): void;
}

function decode(bytes: Uint8Array, expected: PartialKind): Decoded {
  if (bytes.length < HEADER_BYTES) throw new RangeError(`partial too short: ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, false) !== MAGIC) throw new RangeError('not a vgmflow partial (bad magic)');
  const version = view.getUint16(4, true);
  if (version !== FORMAT_VERSION) throw new RangeError(`unsupported partial format version ${version}`);
  const kind = view.getUint16(6, true);
  if (kind !== expected) throw new RangeError(`expected partial kind ${PartialKind[expected]}, got ${kind}`);
  const k = view.getUint32(8, true);
  let at = HEADER_BYTES;
  const next = (count: number): Float64Array => {
    if (at + count * 8 > bytes.length) throw new RangeError('partial truncated');
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++, at += 8) out[i] = view.getFloat64(at, true);
    return out;
  };
  return {
    k,
    next,
    one: () => next(1)[0],
    end: () => {
      if (at !== bytes.length) throw new RangeError(`partial has ${bytes.length - at} trailing bytes`);
    },
  };
}

export function encodeMoments(m: Moments): Uint8Array {
  return encode(PartialKind.Moments, 0, [[m.count, m.mean, m.m2, m.min, m.max]]);
}

export function decodeMoments(bytes: Uint8Array): Moments {
  const d = decode(bytes, PartialKind.Moments);
  const [count, mean, m2, min, max] = d.next(5);
  d.end();
  return { count, mean, m2, min, max };
}

export function encodeComponentStats(s: ComponentStats): Uint8Array {
  return encode(PartialKind.ComponentStats, s.mass.length, [[s.rows, s.entropyTerm], s.mass, s.mean, s.m2]);
}

export function decodeComponentStats(bytes: Uint8Array): ComponentStats {
  const d = decode(bytes, PartialKind.ComponentStats);
  const [rows, entropyTerm] = d.next(2);
  const mass = d.next(d.k);
  const mean = d.next(d.k);
  const m2 = d.next(d.k);
  d.end();
  return { rows, mass, mean, m2, entropyTerm };
}

export function encodeLloydPartial(p: LloydPartial): Uint8Array {
  return encode(PartialKind.Lloyd, p.counts.length, [p.counts, p.sums]);
}

export function decodeLloydPartial(bytes: Uint8Array): LloydPartial {
  const d = decode(bytes, PartialKind.Lloyd);
  const counts = d.next(d.k);
  const sums = d.next(d.k);
  d.end();
  return { counts, sums };
}

/**
 * JSON for the pipeline's own control messages (broadcasts, partials), made exact:
 * Float64Arrays travel as base64 of their little-endian bytes and non-finite numbers
 * as tagged strings, so a message decodes to bit-identical numbers.
 */
const F64 = '$f64';
const NUM = '$num';

function toBase64(a: Float64Array): string {
  const bytes = new Uint8Array(a.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat64(i * 8, a[i], true);
  return Buffer.from(bytes).toString('base64');
}

function fromBase64(s: string): Float64Array {
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length % 8 !== 0) throw new RangeError('a float64 array must be a multiple of 8 bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(bytes.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

/** Typed arrays and non-finite numbers must be tagged before JSON.stringify sees them. */
function tag(value: unknown): unknown {
  if (value instanceof Float64Array) return { [F64]: toBase64(value) };
  if (typeof value === 'number') return Number.isFinite(value) ? value : { [NUM]: String(value) };
  if (Array.isArray(value)) return value.map(tag);
  if (value instanceof Map) throw new TypeError('Maps are not supported in control messages; use arrays of entries');
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = tag(v);
    return out;
  }
  return value;
}

export function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(tag(value)), 'utf8');
}

export function decodeJson(bytes: Uint8Array): unknown {
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const o = value as Record<string, unknown>;
      if (typeof o[F64] === 'string' && Object.keys(o).length === 1) return fromBase64(o[F64] as string);
      if (typeof o[NUM] === 'string' && Object.keys(o).length === 1) return Number(o[NUM]);
    }
    return value;
  });
}

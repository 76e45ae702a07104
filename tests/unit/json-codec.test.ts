/**
 * The exact JSON that carries the fit's broadcasts and partials (topics/json-codec.ts): every
 * float comes back with the same bits, the tricky ones included, since the reducer's merge
 * and so the model depend on them.
 */
import { decodeJson, encodeJson } from '../../topics/json-codec';
import { broadcastCodec, FIT_PROTOCOL_VERSION, partialCodec } from '../../topics/fit-messages';

const bits = (a: Float64Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

describe('exact JSON', () => {
  const tricky = Float64Array.from([0, -0, Number.MIN_VALUE, -Number.MIN_VALUE, 2.2250738585072014e-308, Number.MAX_VALUE, 1 / 3, Infinity, -Infinity, NaN, 0.1 + 0.2]);

  it('gives back Float64Arrays bit for bit, -0, subnormals, infinities and NaN included', () => {
    const back = decodeJson(encodeJson({ a: tricky, nested: [{ b: tricky.subarray(2, 5) }] })) as { a: Float64Array; nested: Array<{ b: Float64Array }> };
    expect(back.a).toBeInstanceOf(Float64Array);
    expect(bits(back.a)).toBe(bits(tricky));
    expect(bits((back.nested[0] as { b: Float64Array }).b)).toBe(bits(tricky.subarray(2, 5)));
  });

  it('keeps non-finite plain numbers, which JSON itself turns into null', () => {
    const back = decodeJson(encodeJson({ x: Infinity, y: -Infinity, z: NaN, w: [1, -Infinity] })) as Record<string, unknown>;
    expect(back.x).toBe(Infinity);
    expect(back.y).toBe(-Infinity);
    expect(Number.isNaN(back.z)).toBe(true);
    expect(back.w).toEqual([1, -Infinity]);
  });

  it('drops undefined fields and refuses Maps (they would silently become {})', () => {
    expect(decodeJson(encodeJson({ a: 1, b: undefined }))).toEqual({ a: 1 });
    expect(() => encodeJson({ m: new Map([[1, 2]]) })).toThrow(/Maps are not supported/);
  });

  it('refuses a float64 array whose bytes are not a whole number of floats', () => {
    const bad = Buffer.from(JSON.stringify({ a: { $f64: Buffer.from([1, 2, 3]).toString('base64') } }), 'utf8');
    expect(() => decodeJson(bad)).toThrow(/multiple of 8 bytes/);
  });

  it('fit messages refuse another protocol or foreign JSON', () => {
    const foreign = encodeJson({ protocol: 99, job: 'x' });
    expect(() => partialCodec.decode(foreign)).toThrow(new RegExp(`protocol ${FIT_PROTOCOL_VERSION}`));
    expect(() => broadcastCodec.decode(encodeJson([1, 2]))).toThrow(new RegExp(`protocol ${FIT_PROTOCOL_VERSION}`));
  });
});

/** Element-wise relative comparison that reports the worst offender, for numeric arrays. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 0): number {
  if (actual.length !== expected.length) {
    throw new Error(`length ${actual.length} differs from expected ${expected.length}`);
  }
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const scale = Math.max(Math.abs(expected[i]), floor);
    const err = actual[i] === expected[i] ? 0 : Math.abs(actual[i] - expected[i]) / scale;
    if (!(err <= worst)) worst = err;
  }
  return worst;
}

export function expectAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  what: string,
  floor = 0,
): void {
  const err = maxRelativeError(actual, expected, floor);
  if (!(err <= rtol)) {
    throw new Error(`${what}: max relative error ${err} > ${rtol}\n actual   ${Array.from(actual).join(', ')}\n expected ${Array.from(expected).join(', ')}`);
  }
}

/**
 * One shape for every partial statistic of the fit, after Apache Beam's CombineFn: a
 * stats worker computes an accumulator per partition, the reducer merges them. Each
 * statistic states its empty value and its merge once, here-shaped, instead of each
 * caller spelling its own fold.
 *
 * Accumulators are values: `add` and `merge` return new ones and never change their
 * arguments, so a partial can be merged twice (retries, tests merging in many orders).
 */
export interface CombineFn<In, Acc, Out = Acc, Shape extends readonly unknown[] = []> {
  /**
   * The accumulator of no input, the identity of `merge` (Beam's createAccumulator).
   * `shape` is what it must know up front, e.g. the number of components; none for
   * statistics whose empty value is a constant.
   */
  empty(...shape: Shape): Acc;
  /** Beam's addInput. Statistics that are only ever merged take In = Acc and add = merge. */
  add(acc: Acc, input: In): Acc;
  /** Beam's mergeAccumulators, for two. Not exactly associative in floating point: see mergeAll. */
  merge(a: Acc, b: Acc): Acc;
  /** Beam's extractOutput. */
  result(acc: Acc): Out;
}

/**
 * Folds `parts` left to right from `empty(...shape)` and extracts the result. Floating-point
 * merges round differently in different orders, so callers pass a canonical order (the
 * partition order) and the embedded and distributed fits get the same bits.
 */
export function mergeAll<In, Acc, Out, Shape extends readonly unknown[]>(
  fn: CombineFn<In, Acc, Out, Shape>,
  parts: Iterable<Acc>,
  ...shape: Shape
): Out {
  let acc = fn.empty(...shape);
  for (const part of parts) acc = fn.merge(acc, part);
  return fn.result(acc);
}

/**
 * A CombineFn for a statistic that is only merged, never fed raw input: its inputs are
 * accumulators already (computed per partition elsewhere), and its result is itself.
 */
export function mergeOnly<Acc, Shape extends readonly unknown[] = []>(spec: {
  empty(...shape: Shape): Acc;
  merge(a: Acc, b: Acc): Acc;
}): CombineFn<Acc, Acc, Acc, Shape> {
  const { empty, merge } = spec;
  return { empty, add: merge, merge, result: (acc) => acc };
}

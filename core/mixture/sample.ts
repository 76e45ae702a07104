/**
 * The points a partition contributes to k-means++ seeding. Up to `maxPoints` distinct
 * values it is the summary itself; beyond, consecutive values are pooled into
 * `maxPoints` groups (count-weighted mean, summed count), so seeding sees the whole
 * distribution at a bounded size, deterministically. A binned summary is seeded from its bin
 * means like any other points.
 */
import { mergeAll } from '../combine';
import { weightedPointsCombine, type WeightedPoints } from './weighted-points';

function ascending(values: Float64Array): boolean {
  for (let i = 1; i < values.length; i++) if (!(values[i - 1] < values[i])) return false;
  return true;
}

export function samplePoints(input: WeightedPoints, maxPoints: number): WeightedPoints {
  // Seeding looks at values and counts only: a binned summary's spreads and range stay behind.
  if (input.values.length <= maxPoints) return { values: input.values, counts: input.counts };
  // Pooling consecutive values needs them distinct and ascending (rows may be neither).
  const points = ascending(input.values) ? input : mergeAll(weightedPointsCombine, [{ values: input.values, counts: input.counts }]);
  const n = points.values.length;
  if (n <= maxPoints) return points;
  const values = new Float64Array(maxPoints);
  const counts = new Float64Array(maxPoints);
  for (let g = 0; g < maxPoints; g++) {
    const from = Math.floor((g * n) / maxPoints);
    const to = Math.floor(((g + 1) * n) / maxPoints);
    let count = 0;
    let sum = 0;
    for (let i = from; i < to; i++) {
      count += points.counts[i];
      sum += points.counts[i] * points.values[i];
    }
    counts[g] = count;
    values[g] = sum / count;
  }
  return { values, counts };
}

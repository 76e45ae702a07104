/**
 * The partial statistic of one E-step (or of the hard k-means assignment that
 * initialises the fit) over a batch of weighted points: per component the
 * responsibility mass N_k, the responsibility-weighted mean and centred second
 * moment of x, and Σ r·log r. Everything the M-step and the lower bound need.
 */
import { mergeOnly } from '../combine';

export interface ComponentStats {
  /** Rows covered (Σ counts). */
  readonly rows: number;
  /** N_k = Σ count·r_k. */
  readonly mass: Float64Array;
  /** Σ count·r_k·x / N_k (0 where N_k = 0). */
  readonly mean: Float64Array;
  /** Σ count·r_k·(x − mean_k)². */
  readonly m2: Float64Array;
  /** Σ count·Σ_k r_k·log r_k (0 for hard assignments). */
  readonly entropyTerm: number;
}

function empty(k: number): ComponentStats {
  return {
    rows: 0,
    mass: new Float64Array(k),
    mean: new Float64Array(k),
    m2: new Float64Array(k),
    entropyTerm: 0,
  };
}

/** Chan's merge, component by component. Associative and commutative up to rounding. */
function merge(a: ComponentStats, b: ComponentStats): ComponentStats {
  const k = a.mass.length;
  if (b.mass.length !== k) {
    throw new RangeError(`cannot merge statistics of ${k} and ${b.mass.length} components`);
  }
  const mass = new Float64Array(k);
  const mean = new Float64Array(k);
  const m2 = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const na = a.mass[i];
    const nb = b.mass[i];
    const n = na + nb;
    if (nb === 0) {
      mass[i] = na;
      mean[i] = a.mean[i];
      m2[i] = a.m2[i];
    } else if (na === 0) {
      mass[i] = nb;
      mean[i] = b.mean[i];
      m2[i] = b.m2[i];
    } else {
      const delta = b.mean[i] - a.mean[i];
      mass[i] = n;
      mean[i] = a.mean[i] + (delta * nb) / n;
      m2[i] = a.m2[i] + b.m2[i] + ((delta * delta * na) * nb) / n;
    }
  }
  return { rows: a.rows + b.rows, mass, mean, m2, entropyTerm: a.entropyTerm + b.entropyTerm };
}

/** Computed per partition (E-step, hard assignment), only merged; empty takes the number of components. */
export const componentStatsCombine = mergeOnly<ComponentStats, [k: number]>({ empty, merge });

/**
 * Builds the statistic from a responsibility matrix stored component-major: component j's
 * responsibility for point i at resp[j·n + i] (n = values.length; resp may be longer). Two
 * passes per component (mass and mean, then centred M2) keep the moments stable. A binned
 * point's spread (its rows' Σ(x − value)²) joins each component's M2 in proportion to the
 * responsibility, so the M-step is exact given the responsibilities of the bins.
 */
export function statsFromResponsibilities(
  values: Float64Array,
  counts: Float64Array,
  resp: Float64Array,
  k: number,
  entropyTerm: number,
  spread?: Float64Array,
): ComponentStats {
  const n = values.length;
  const mass = new Float64Array(k);
  const mean = new Float64Array(k);
  const m2 = new Float64Array(k);
  for (let j = 0, at = 0; j < k; j++, at += n) {
    let massJ = 0;
    let weightedSum = 0;
    for (let i = 0; i < n; i++) {
      const w = counts[i] * resp[at + i];
      massJ += w;
      weightedSum += w * values[i];
    }
    const meanJ = massJ > 0 ? weightedSum / massJ : 0;
    let m2J = 0;
    for (let i = 0; i < n; i++) {
      const d = values[i] - meanJ;
      m2J += counts[i] * resp[at + i] * d * d;
    }
    if (spread !== undefined) {
      for (let i = 0; i < n; i++) {
        const s = spread[i];
        if (s !== 0) m2J += resp[at + i] * s;
      }
    }
    mass[j] = massJ;
    mean[j] = meanJ;
    m2[j] = m2J;
  }
  let rows = 0;
  for (let i = 0; i < n; i++) rows += counts[i];
  return { rows, mass, mean, m2, entropyTerm };
}

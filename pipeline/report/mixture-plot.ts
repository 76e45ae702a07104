/**
 * A fitted numeric column as a standalone SVG (no dependencies): the data's histogram
 * as a density, the fitted mixture density Σ w_k·N(x; μ_k, σ_k²) over all components,
 * the kept modes as vertical lines labelled with their one-hot position, and for a
 * mixed column its modal values as labelled spikes (their share of all rows; they
 * are not part of the non-modal mixture or of the histogram).
 *
 * Heavy-tailed data (max|x| / median|x| > HEAVY_TAIL_RATIO) is drawn on a symmetric
 * log axis u = sign(x)·log10(1 + |x|/c); everything drawn is then a density in u, so
 * bars and curve stay comparable: the curve is f(x)·dx/du and a bar is
 * count / (N · Δu). The title says which axis was chosen and why.
 */
import type { MixtureJson, NumericColumnModel } from '../../core/normalization/model';

/** How the x axis maps data values to plot positions. */
export type AxisScale = { readonly kind: 'linear' } | { readonly kind: 'symlog'; readonly c: number };

export interface Histogram {
  /** Bin edges in data units, ascending; counts.length + 1 of them. */
  readonly edges: number[];
  readonly counts: number[];
  /** Values below edges[0] / above the last edge, left out of the bins (noted in the plot). */
  readonly below?: number;
  readonly above?: number;
  /** The axis the bins were made for (uniform in it); the plot uses it unless told otherwise. */
  readonly scale?: AxisScale;
  /** Why that axis, for the title (e.g. "max/median = 1612"). */
  readonly scaleReason?: string;
}

export interface MixturePlotOptions {
  readonly width?: number;
  readonly height?: number;
  /** Axis to draw on; default: the histogram's, else decided from the histogram. */
  readonly scale?: AxisScale | 'auto';
  /** Grid points of the density curve (more are added around every component). */
  readonly densityPoints?: number;
}

export interface HistogramOptions {
  readonly bins?: number;
  /** 'auto': full range on a log axis, [p0.5, p99.5] on a linear one when it is much narrower. */
  readonly clip?: 'auto' | 'none' | readonly [number, number];
  readonly scale?: AxisScale | 'auto';
}

/** max|x| / median|x| above which the x axis becomes logarithmic. */
export const HEAVY_TAIL_RATIO = 100;

const LN10 = Math.log(10);
const SQRT_2PI = Math.sqrt(2 * Math.PI);

// ---------------------------------------------------------------------------------------
// Scales

export function toAxis(scale: AxisScale, x: number): number {
  if (scale.kind === 'linear') return x;
  return Math.sign(x) * Math.log10(1 + Math.abs(x) / scale.c);
}

export function fromAxis(scale: AxisScale, u: number): number {
  if (scale.kind === 'linear') return u;
  return Math.sign(u) * scale.c * (Math.pow(10, Math.abs(u)) - 1);
}

/** dx/du at x: turns a density in x into a density along the axis. */
export function axisJacobian(scale: AxisScale, x: number): number {
  return scale.kind === 'linear' ? 1 : LN10 * (scale.c + Math.abs(x));
}

export function describeScale(scale: AxisScale): string {
  if (scale.kind === 'linear') return 'linear x axis';
  return scale.c === 1 ? 'x axis log10(1+|x|)' : `x axis log10(1+|x|/${formatNumber(scale.c)})`;
}

/** The axis for data with this median and maximum of |x| (and a fallback quantile when the median is 0). */
export function chooseScale(medianAbs: number, maxAbs: number, upperAbs = medianAbs): { scale: AxisScale; reason: string } {
  const typical = medianAbs > 0 ? medianAbs : upperAbs;
  if (!(typical > 0) || !(maxAbs > 0)) return { scale: { kind: 'linear' }, reason: 'no spread' };
  const ratio = maxAbs / typical;
  const reason = `max/median |x| = ${formatNumber(ratio)}`;
  if (ratio <= HEAVY_TAIL_RATIO) return { scale: { kind: 'linear' }, reason };
  // c = 1 for data in the tens and above; smaller data gets c a decade below its median.
  const c = typical >= 10 ? 1 : Math.pow(10, Math.floor(Math.log10(typical)) - 1);
  return { scale: { kind: 'symlog', c }, reason };
}

// ---------------------------------------------------------------------------------------
// Mixture density

interface Component {
  readonly weight: number;
  readonly mean: number;
  readonly sd: number;
}

function components(mixture: MixtureJson): Component[] {
  return mixture.weights.map((weight, k) => ({ weight, mean: mixture.means[k], sd: Math.sqrt(mixture.variances[k]) }));
}

/** x ↦ Σ w_k·N(x; μ_k, σ_k²) with the model's (non-modal) mixture. */
export function mixtureDensity(column: NumericColumnModel): (x: number) => number {
  const comps = components(column.mixture).filter((c) => c.weight > 0 && c.sd > 0);
  return (x: number) => {
    let f = 0;
    for (const c of comps) {
      const z = (x - c.mean) / c.sd;
      f += (c.weight / (c.sd * SQRT_2PI)) * Math.exp(-0.5 * z * z);
    }
    return f;
  };
}

/**
 * Points at which to draw (or integrate) the density over [lo, hi] (data units): a grid
 * uniform along the axis plus points every σ/8 out to ±6σ of each component, so narrow
 * components are never stepped over. Sorted, distinct.
 */
export function densityGrid(column: NumericColumnModel, scale: AxisScale, lo: number, hi: number, points = 800): number[] {
  const u0 = toAxis(scale, lo);
  const u1 = toAxis(scale, hi);
  const xs: number[] = [];
  for (let i = 0; i <= points; i++) xs.push(fromAxis(scale, u0 + ((u1 - u0) * i) / points));
  for (const c of components(column.mixture)) {
    if (!(c.weight > 0 && c.sd > 0)) continue;
    for (let t = -48; t <= 48; t++) {
      const x = c.mean + (c.sd * t) / 8;
      if (x > lo && x < hi) xs.push(x);
    }
  }
  xs.sort((a, b) => a - b);
  return xs.filter((x, i) => i === 0 || x !== xs[i - 1]);
}

// ---------------------------------------------------------------------------------------
// Histogram

function quantileSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const at = q * (sorted.length - 1);
  const i = Math.floor(at);
  const j = Math.min(sorted.length - 1, i + 1);
  return sorted[i] + (sorted[j] - sorted[i]) * (at - i);
}

/**
 * The histogram to plot for a column: its non-modal values (modal values of a mixed
 * column are left out, they are drawn as spikes), `bins` bins uniform along the chosen
 * axis, over [min, max] or a quantile-clipped range with the rest counted as below/above.
 */
export function columnHistogram(column: NumericColumnModel, values: Iterable<number>, options: HistogramOptions = {}): Histogram {
  const modal = new Set(column.type === 'mixed' ? column.modalValues : []);
  const kept: number[] = [];
  for (const v of values) if (Number.isFinite(v) && !modal.has(v)) kept.push(v);
  const sorted = Float64Array.from(kept).sort();
  const abs = Float64Array.from(kept, Math.abs).sort();
  const bins = options.bins ?? 120;
  let scale: AxisScale;
  let scaleReason: string | undefined;
  if (options.scale === undefined || options.scale === 'auto') {
    const chosen = chooseScale(quantileSorted(abs, 0.5), abs.length > 0 ? abs[abs.length - 1] : 0, quantileSorted(abs, 0.9));
    scale = chosen.scale;
    scaleReason = chosen.reason;
  } else {
    scale = options.scale;
  }
  if (sorted.length === 0) return { edges: [column.min, column.max], counts: [0], below: 0, above: 0, scale, scaleReason };
  const min = sorted[0];
  const max = sorted[sorted.length - 1];
  let lo = min;
  let hi = max;
  const clip = options.clip ?? 'auto';
  if (clip !== 'none') {
    const [qlo, qhi] = clip === 'auto' ? [0.005, 0.995] : clip;
    const clo = quantileSorted(sorted, qlo);
    const chi = quantileSorted(sorted, qhi);
    const narrower = toAxis(scale, max) - toAxis(scale, min) > 1.5 * (toAxis(scale, chi) - toAxis(scale, clo));
    if (chi > clo && (clip !== 'auto' || (scale.kind === 'linear' && narrower))) {
      lo = clo;
      hi = chi;
    }
  }
  if (hi === lo) {
    const pad = lo === 0 ? 0.5 : Math.abs(lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  const u0 = toAxis(scale, lo);
  const u1 = toAxis(scale, hi);
  const edges: number[] = [];
  for (let i = 0; i <= bins; i++) edges.push(i === 0 ? lo : i === bins ? hi : fromAxis(scale, u0 + ((u1 - u0) * i) / bins));
  const counts = new Array<number>(bins).fill(0);
  let below = 0;
  let above = 0;
  for (const v of sorted) {
    if (v < lo) below++;
    else if (v > hi) above++;
    else counts[Math.min(bins - 1, Math.max(0, Math.floor(((toAxis(scale, v) - u0) / (u1 - u0)) * bins)))]++;
  }
  return { edges, counts, below, above, scale, scaleReason };
}

/** The axis for a histogram that does not say which one it was made for. */
function scaleOfHistogram(h: Histogram): { scale: AxisScale; reason: string } {
  const total = h.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return { scale: { kind: 'linear' }, reason: 'empty histogram' };
  const mids = h.counts.map((_, i) => ({ x: Math.abs((h.edges[i] + h.edges[i + 1]) / 2), n: h.counts[i] })).sort((a, b) => a.x - b.x);
  const at = (q: number) => {
    let acc = 0;
    for (const m of mids) {
      acc += m.n;
      if (acc >= q * total) return m.x;
    }
    return mids[mids.length - 1].x;
  };
  const maxAbs = Math.max(Math.abs(h.edges[0]), Math.abs(h.edges[h.edges.length - 1]));
  return chooseScale(at(0.5), maxAbs, at(0.9));
}

// ---------------------------------------------------------------------------------------
// Formatting

/** Short number text for labels: 3 significant digits, k/M/G above 10⁴, exponent when tiny. */
export function formatNumber(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  const trim = (s: string) => (s.includes('e') ? s : s.includes('.') ? s.replace(/\.?0+$/, '') : s);
  if (a >= 1e4 && a < 1e13) {
    const [d, suffix] = a >= 1e12 ? [1e12, 'T'] : a >= 1e9 ? [1e9, 'G'] : a >= 1e6 ? [1e6, 'M'] : [1e3, 'k'];
    return trim((x / d).toPrecision(3)) + suffix;
  }
  if (a < 1e-3 || a >= 1e13) return x.toExponential(1).replace('e+', 'e');
  return String(Number(x.toPrecision(3)));
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A white outline behind label text drawn over bars and lines. */
const HALO = ' stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"';

const r2 = (v: number) => (Math.round(v * 100) / 100).toString();

/** Round steps (1, 2, 5 × 10^k) covering [lo, hi] with about `n` ticks. */
function niceTicks(lo: number, hi: number, n: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

/** Major ticks (labelled) and minor ticks of the x axis, in data units. */
function xTicks(scale: AxisScale, lo: number, hi: number): { major: number[]; minor: number[] } {
  if (scale.kind === 'linear') return { major: niceTicks(lo, hi, 8), minor: [] };
  const major: number[] = [];
  const minor: number[] = [];
  const inRange = (x: number) => x >= lo && x <= hi;
  if (inRange(0)) major.push(0);
  const kMin = Math.floor(Math.log10(scale.c));
  const kMax = Math.ceil(Math.log10(Math.max(Math.abs(lo), Math.abs(hi), scale.c)));
  for (let k = kMin; k <= kMax; k++) {
    for (const sign of [1, -1]) {
      for (let m = 1; m <= 9; m++) {
        const x = sign * m * Math.pow(10, k);
        if (!inRange(x)) continue;
        (m === 1 ? major : minor).push(x);
      }
    }
  }
  // Too few labelled decades (a narrow range): label the 2s and 5s too.
  if (major.length < 4) {
    const extra = minor.filter((x) => {
      const m = Math.round(Math.abs(x) / Math.pow(10, Math.floor(Math.log10(Math.abs(x)) + 1e-12)));
      return m === 2 || m === 5;
    });
    major.push(...extra);
  }
  major.sort((a, b) => a - b);
  return { major, minor: minor.filter((x) => !major.includes(x)) };
}

// ---------------------------------------------------------------------------------------
// The plot

const COLORS = {
  bar: '#9ecae1',
  barEdge: '#6baed6',
  density: '#d62728',
  mode: '#2ca02c',
  modal: '#9467bd',
  axis: '#333333',
  grid: '#e6e6e6',
  text: '#222222',
  muted: '#666666',
};

export function mixturePlotSvg(
  column: NumericColumnModel,
  histogram: { edges: number[]; counts: number[] } & Partial<Histogram>,
  options: MixturePlotOptions = {},
): string {
  const width = options.width ?? 900;
  const height = options.height ?? 450;
  const margin = { top: 78, right: 28, bottom: 62, left: 78 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;

  let scale: AxisScale;
  let scaleReason: string | undefined;
  if (options.scale !== undefined && options.scale !== 'auto') scale = options.scale;
  else if (histogram.scale !== undefined) {
    scale = histogram.scale;
    scaleReason = histogram.scaleReason;
  } else {
    const chosen = scaleOfHistogram(histogram as Histogram);
    scale = chosen.scale;
    scaleReason = chosen.reason;
  }

  const edges = histogram.edges;
  let lo = edges[0];
  let hi = edges[edges.length - 1];
  // Widen the axis to show a mixed column's modal values when that costs little room.
  if (column.type === 'mixed') {
    for (const v of column.modalValues) {
      const span = toAxis(scale, hi) - toAxis(scale, lo);
      if (v < lo && toAxis(scale, hi) - toAxis(scale, v) <= 1.35 * span) lo = v;
      if (v > hi && toAxis(scale, v) - toAxis(scale, lo) <= 1.35 * span) hi = v;
    }
  }
  const u0 = toAxis(scale, lo);
  const u1 = toAxis(scale, hi) > u0 ? toAxis(scale, hi) : u0 + 1;
  const px = (x: number) => margin.left + ((toAxis(scale, x) - u0) / (u1 - u0)) * plotW;

  // Bars: density along the axis, over all values counted (in and out of range).
  const below = histogram.below ?? 0;
  const above = histogram.above ?? 0;
  const binned = histogram.counts.reduce((a, b) => a + b, 0);
  const total = binned + below + above;
  const barDensity = histogram.counts.map((n, i) => {
    const du = toAxis(scale, edges[i + 1]) - toAxis(scale, edges[i]);
    return total > 0 && du > 0 ? n / (total * du) : 0;
  });
  const histMax = Math.max(0, ...barDensity);

  // Curve: the mixture's density along the axis.
  const f = mixtureDensity(column);
  const grid = densityGrid(column, scale, lo, hi, options.densityPoints ?? 800);
  const curve = grid.map((x) => ({ x, y: f(x) * axisJacobian(scale, x) }));
  let peak = { x: lo, y: 0 };
  for (const p of curve) if (p.y > peak.y) peak = p;
  const capped = histMax > 0 ? Math.min(peak.y, 2.5 * histMax) : peak.y;
  const yMax = 1.08 * (Math.max(histMax, capped) || 1);
  const py = (y: number) => margin.top + plotH - (Math.min(y, yMax * 1.02) / yMax) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  const kept = column.modes.map((slot, position) => ({ slot, position })).filter((m) => m.slot.kind === 'component');
  const bound = column.mixture.lowerBound === null ? 'n/a' : column.mixture.lowerBound.toFixed(3);
  const title = `${column.name}: ${column.type}, ${kept.length} kept modes, lower bound ${bound}`;
  out.push(`<title>${esc(title)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${margin.left}" y="22" font-size="16" font-weight="bold" fill="${COLORS.text}">${esc(title)}</text>`);
  const iterations = `${column.mixture.nIter} iterations${column.mixture.converged ? '' : ' (not converged)'}`;
  const rows = column.type === 'mixed' ? `${column.count} non-modal rows` : `${column.count} rows`;
  const axisNote = scale.kind === 'symlog' ? `heavy tail (${scaleReason ?? 'chosen'}): ${describeScale(scale)}` : `${describeScale(scale)}${scaleReason ? ` (${scaleReason})` : ''}`;
  out.push(`<text x="${margin.left}" y="40" fill="${COLORS.muted}">${esc(`${rows}, ${iterations}; ${axisNote}`)}</text>`);

  // Legend.
  let lx = margin.left;
  const ly = 58;
  const legend = (swatch: string, label: string) => {
    out.push(`<g class="legend">${swatch.replace(/X0/g, String(lx)).replace(/X1/g, String(lx + 22)).replace(/XM/g, String(lx + 11))}<text x="${lx + 28}" y="${ly + 4}" fill="${COLORS.text}">${esc(label)}</text></g>`);
    lx += 34 + label.length * 6.6;
  };
  legend(`<rect x="X0" y="${ly - 5}" width="22" height="10" fill="${COLORS.bar}" stroke="${COLORS.barEdge}"/>`, 'data (density)');
  legend(`<line x1="X0" y1="${ly}" x2="X1" y2="${ly}" stroke="${COLORS.density}" stroke-width="2"/>`, 'fitted mixture Σ w·N(μ, σ²)');
  legend(`<line x1="XM" y1="${ly - 7}" x2="XM" y2="${ly + 7}" stroke="${COLORS.mode}" stroke-width="1.5" stroke-dasharray="4 3"/>`, 'kept mode: #one-hot position (k component)');
  if (column.type === 'mixed') legend(`<line x1="XM" y1="${ly - 7}" x2="XM" y2="${ly + 7}" stroke="${COLORS.modal}" stroke-width="3"/>`, 'modal value');

  // Grid and axes.
  const clipId = `plot-${column.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  out.push(`<defs><clipPath id="${esc(clipId)}"><rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}"/></clipPath></defs>`);
  const yTicks = niceTicks(0, yMax, 6).filter((t) => t <= yMax);
  const ticks = xTicks(scale, lo, hi);
  out.push('<g class="grid">');
  for (const t of yTicks) out.push(`<line x1="${margin.left}" y1="${r2(py(t))}" x2="${margin.left + plotW}" y2="${r2(py(t))}" stroke="${COLORS.grid}"/>`);
  for (const t of ticks.major) out.push(`<line x1="${r2(px(t))}" y1="${margin.top}" x2="${r2(px(t))}" y2="${margin.top + plotH}" stroke="${COLORS.grid}"/>`);
  out.push('</g>');

  // Histogram bars.
  out.push(`<g class="histogram" fill="${COLORS.bar}" stroke="${COLORS.barEdge}" stroke-width="0.5">`);
  histogram.counts.forEach((n, i) => {
    if (n === 0) return;
    const x0 = px(edges[i]);
    const x1 = px(edges[i + 1]);
    const y = py(barDensity[i]);
    out.push(`<rect x="${r2(x0)}" y="${r2(y)}" width="${r2(Math.max(0.5, x1 - x0))}" height="${r2(margin.top + plotH - y)}"/>`);
  });
  out.push('</g>');

  // Density curve.
  const d = curve.map((p, i) => `${i === 0 ? 'M' : 'L'}${r2(px(p.x))},${r2(py(p.y))}`).join('');
  out.push(`<path class="density" d="${d}" fill="none" stroke="${COLORS.density}" stroke-width="2" stroke-linejoin="round" clip-path="url(#${esc(clipId)})"/>`);

  // Kept modes: one marker each, at the mean (at the edge, with an arrow, when outside).
  const labelRows: number[] = [];
  const sortedKept = kept
    .map((m) => {
      const k = m.slot.kind === 'component' ? m.slot.component : -1;
      return { ...m, k, mean: column.mixture.means[k] };
    })
    .sort((a, b) => a.mean - b.mean);
  out.push('<g class="modes">');
  for (const m of sortedKept) {
    const outside = m.mean < lo ? '◂ ' : m.mean > hi ? ' ▸' : '';
    const x = Math.min(margin.left + plotW, Math.max(margin.left, px(m.mean)));
    // Stagger labels that would overlap the previous ones.
    let row = 0;
    while (labelRows[row] !== undefined && x - labelRows[row] < 56) row++;
    labelRows[row] = x;
    const label = `${m.mean < lo ? outside : ''}#${m.position} k${m.k}${m.mean > hi ? outside : ''}`;
    const info = `mode #${m.position} (component ${m.k}): μ = ${formatNumber(m.mean)}, σ = ${formatNumber(Math.sqrt(column.mixture.variances[m.k]))}, weight ${formatNumber(column.mixture.weights[m.k])}`;
    out.push(
      `<g class="mode-marker"><title>${esc(info)}</title><line x1="${r2(x)}" y1="${margin.top}" x2="${r2(x)}" y2="${margin.top + plotH}" stroke="${COLORS.mode}" stroke-width="1.5" stroke-dasharray="4 3"/>` +
        `<text x="${r2(x + 3)}" y="${margin.top + 14 + row * 14}" fill="${COLORS.mode}" font-weight="bold"${HALO}>${esc(label)}</text></g>`,
    );
  }
  out.push('</g>');
  if (peak.y > yMax) {
    // Below the mode labels, on whichever side of the peak has room.
    const x = px(peak.x);
    const right = x < margin.left + plotW - 260;
    out.push(
      `<text class="peak" x="${r2(right ? x + 6 : x - 6)}" y="${margin.top + 14 + labelRows.length * 14 + 4}" text-anchor="${right ? 'start' : 'end'}" fill="${COLORS.density}"${HALO}>${esc(`density peak ${formatNumber(peak.y)} at x = ${formatNumber(peak.x)} (clipped)`)}</text>`,
    );
  }

  // Modal values of a mixed column: spikes with their share of all rows.
  if (column.type === 'mixed') {
    const allRows = column.count + column.modalCounts.reduce((a, b) => a + b, 0);
    const offAxis: string[] = [];
    out.push('<g class="modal-values">');
    column.modalValues.forEach((value, i) => {
      const position = column.modes.findIndex((s) => s.kind === 'modal' && s.value === value);
      const share = allRows > 0 ? column.modalCounts[i] / allRows : 0;
      const text = `${formatNumber(value)}: ${(100 * share).toFixed(1)}% of rows (${column.modalCounts[i]}), one-hot #${position}`;
      if (value < lo || value > hi) {
        offAxis.push(text);
        return;
      }
      const x = px(value);
      const anchor = x > margin.left + plotW - 240 ? 'end' : 'start';
      const tx = anchor === 'end' ? x - 5 : x + 5;
      out.push(
        `<g class="modal-spike"><line x1="${r2(x)}" y1="${margin.top + plotH}" x2="${r2(x)}" y2="${margin.top + plotH * 0.25}" stroke="${COLORS.modal}" stroke-width="3"/>` +
          `<circle cx="${r2(x)}" cy="${r2(margin.top + plotH * 0.25)}" r="4" fill="${COLORS.modal}"/>` +
          `<text x="${r2(tx)}" y="${r2(margin.top + plotH * 0.25 - 6)}" text-anchor="${anchor}" fill="${COLORS.modal}" font-weight="bold"${HALO}>${esc(`modal ${text}`)}</text></g>`,
      );
    });
    if (offAxis.length > 0) {
      out.push(`<text class="off-axis" x="${margin.left}" y="${height - 8}" fill="${COLORS.modal}">${esc(`modal, off the axis: ${offAxis.join('; ')}`)}</text>`);
    }
    out.push('</g>');
  }

  // Axes, ticks, labels.
  out.push(`<g class="axes" stroke="${COLORS.axis}">`);
  out.push(`<line x1="${margin.left}" y1="${margin.top + plotH}" x2="${margin.left + plotW}" y2="${margin.top + plotH}"/>`);
  out.push(`<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotH}"/>`);
  for (const t of ticks.minor) out.push(`<line x1="${r2(px(t))}" y1="${margin.top + plotH}" x2="${r2(px(t))}" y2="${margin.top + plotH + 3}"/>`);
  for (const t of ticks.major) out.push(`<line x1="${r2(px(t))}" y1="${margin.top + plotH}" x2="${r2(px(t))}" y2="${margin.top + plotH + 6}"/>`);
  for (const t of yTicks) out.push(`<line x1="${margin.left - 5}" y1="${r2(py(t))}" x2="${margin.left}" y2="${r2(py(t))}"/>`);
  out.push('</g>');
  out.push(`<g class="tick-labels" fill="${COLORS.text}">`);
  let lastLabelX = -Infinity;
  for (const t of ticks.major) {
    const x = px(t);
    if (x - lastLabelX < 34) continue;
    lastLabelX = x;
    out.push(`<text x="${r2(x)}" y="${margin.top + plotH + 19}" text-anchor="middle">${esc(formatNumber(t))}</text>`);
  }
  for (const t of yTicks) out.push(`<text x="${margin.left - 8}" y="${r2(py(t) + 4)}" text-anchor="end">${esc(formatNumber(t))}</text>`);
  out.push('</g>');
  const xLabel = scale.kind === 'linear' ? column.name : `${column.name} (${describeScale(scale).replace('x axis ', 'log axis: ')})`;
  out.push(`<text x="${margin.left + plotW / 2}" y="${height - 24}" text-anchor="middle" fill="${COLORS.text}">${esc(xLabel)}</text>`);
  const yLabel = scale.kind === 'linear' ? 'density' : 'density per unit of log axis';
  out.push(
    `<text x="18" y="${margin.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 18 ${margin.top + plotH / 2})" fill="${COLORS.text}">${esc(yLabel)}</text>`,
  );
  if (below > 0 || above > 0) {
    const pct = (n: number) => (total > 0 ? ((100 * n) / total).toFixed(2) : '0');
    out.push(
      `<text class="overflow" x="${margin.left + plotW}" y="${height - 8}" text-anchor="end" fill="${COLORS.muted}">${esc(
        `outside the plotted range: ${below} below ${formatNumber(lo)} (${pct(below)}%), ${above} above ${formatNumber(hi)} (${pct(above)}%)`,
      )}</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

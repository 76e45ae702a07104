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
import type { MixedColumnModel, MixtureJson, NumericColumnModel } from '../../core/normalization/model';

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
function scaleOfHistogram(h: Pick<Histogram, 'edges' | 'counts'>): { scale: AxisScale; reason: string } {
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

/** The picture's size and the plot area inside its margins, in pixels. */
interface Frame {
  readonly width: number;
  readonly height: number;
  readonly margin: { readonly top: number; readonly right: number; readonly bottom: number; readonly left: number };
  readonly plotW: number;
  readonly plotH: number;
}

/** Data-to-pixel maps: x in data units along the chosen axis, y a density along it. */
interface Projection {
  readonly px: (x: number) => number;
  readonly py: (y: number) => number;
}

interface Point {
  readonly x: number;
  readonly y: number;
}

/** A kept mode (a mixture component with a one-hot slot): its slot position, component and mean. */
interface KeptMode {
  readonly position: number;
  readonly k: number;
  readonly mean: number;
}

/** A mixed column's modal value with its label text (its share of all rows and one-hot slot). */
interface ModalValueLabel {
  readonly value: number;
  readonly text: string;
}

function plotFrame(width: number, height: number): Frame {
  const margin = { top: 78, right: 28, bottom: 62, left: 78 };
  return { width, height, margin, plotW: width - margin.left - margin.right, plotH: height - margin.top - margin.bottom };
}

/** The axis to draw on: as the options say, else the histogram's, else decided from its bins. */
function plotScale(histogram: Pick<Histogram, 'edges' | 'counts'> & Partial<Histogram>, requested: MixturePlotOptions['scale']): { scale: AxisScale; reason?: string } {
  if (requested !== undefined && requested !== 'auto') return { scale: requested };
  if (histogram.scale !== undefined) return { scale: histogram.scale, reason: histogram.scaleReason };
  return scaleOfHistogram(histogram);
}

/** The x range [lo, hi]: the histogram's, widened to a mixed column's modal values when that costs little room. */
function plotRange(column: NumericColumnModel, edges: readonly number[], scale: AxisScale): { lo: number; hi: number } {
  let lo = edges[0];
  let hi = edges[edges.length - 1];
  if (column.type === 'mixed') {
    for (const v of column.modalValues) {
      const span = toAxis(scale, hi) - toAxis(scale, lo);
      if (v < lo && toAxis(scale, hi) - toAxis(scale, v) <= 1.35 * span) lo = v;
      if (v > hi && toAxis(scale, v) - toAxis(scale, lo) <= 1.35 * span) hi = v;
    }
  }
  return { lo, hi };
}

/** Each bin's height as a density along the axis, over all `total` values counted (in and out of range). */
function barDensities(scale: AxisScale, edges: readonly number[], counts: readonly number[], total: number): number[] {
  return counts.map((n, i) => {
    const du = toAxis(scale, edges[i + 1]) - toAxis(scale, edges[i]);
    return total > 0 && du > 0 ? n / (total * du) : 0;
  });
}

/** The mixture's density along the axis, f(x)·dx/du, at the points of densityGrid. */
function densityCurve(column: NumericColumnModel, scale: AxisScale, lo: number, hi: number, points: number): Point[] {
  const f = mixtureDensity(column);
  return densityGrid(column, scale, lo, hi, points).map((x) => ({ x, y: f(x) * axisJacobian(scale, x) }));
}

/** The curve's highest point (the first of equals), or (lo, 0) when it is nowhere positive. */
function curvePeak(curve: readonly Point[], lo: number): Point {
  let peak: Point = { x: lo, y: 0 };
  for (const p of curve) if (p.y > peak.y) peak = p;
  return peak;
}

/** Top of the y axis: room for the bars, and for the curve up to 2.5× the highest bar (a taller peak is clipped). */
function yAxisMax(histMax: number, peakY: number): number {
  const capped = histMax > 0 ? Math.min(peakY, 2.5 * histMax) : peakY;
  return 1.08 * (Math.max(histMax, capped) || 1);
}

function projection(frame: Frame, scale: AxisScale, lo: number, hi: number, yMax: number): Projection {
  const { margin, plotW, plotH } = frame;
  const u0 = toAxis(scale, lo);
  const u1 = toAxis(scale, hi) > u0 ? toAxis(scale, hi) : u0 + 1;
  return {
    px: (x: number) => margin.left + ((toAxis(scale, x) - u0) / (u1 - u0)) * plotW,
    py: (y: number) => margin.top + plotH - (Math.min(y, yMax * 1.02) / yMax) * plotH,
  };
}

/** The column's kept modes, by mean. */
function keptModes(column: NumericColumnModel): KeptMode[] {
  const kept: KeptMode[] = [];
  column.modes.forEach((slot, position) => {
    if (slot.kind === 'component') kept.push({ position, k: slot.component, mean: column.mixture.means[slot.component] });
  });
  return kept.sort((a, b) => a.mean - b.mean);
}

/**
 * The text row of each label at pixel `xs` (in drawing order): the first row whose last label
 * is at least `minGap` to the left, so labels never overlap. Also the number of rows used.
 */
function staggerLabels(xs: readonly number[], minGap: number): { rows: number[]; rowCount: number } {
  const lastXOfRow: number[] = [];
  const rows = xs.map((x) => {
    let row = 0;
    while (lastXOfRow[row] !== undefined && x - lastXOfRow[row] < minGap) row++;
    lastXOfRow[row] = x;
    return row;
  });
  return { rows, rowCount: lastXOfRow.length };
}

function modalValueLabels(column: MixedColumnModel): ModalValueLabel[] {
  const allRows = column.count + column.modalCounts.reduce((a, b) => a + b, 0);
  return column.modalValues.map((value, i) => {
    const position = column.modes.findIndex((s) => s.kind === 'modal' && s.value === value);
    const share = allRows > 0 ? column.modalCounts[i] / allRows : 0;
    return { value, text: `${formatNumber(value)}: ${(100 * share).toFixed(1)}% of rows (${column.modalCounts[i]}), one-hot #${position}` };
  });
}

// SVG pieces: each returns its lines of the document, in drawing order.

/** The root element, the title and the two heading lines (what was fitted; rows, iterations and axis). */
function headingSvg(frame: Frame, column: NumericColumnModel, scale: AxisScale, scaleReason: string | undefined): string[] {
  const { width, height, margin } = frame;
  const keptCount = column.modes.filter((slot) => slot.kind === 'component').length;
  const bound = column.mixture.lowerBound === null ? 'n/a' : column.mixture.lowerBound.toFixed(3);
  const title = `${column.name}: ${column.type}, ${keptCount} kept modes, lower bound ${bound}`;
  const iterations = `${column.mixture.nIter} iterations${column.mixture.converged ? '' : ' (not converged)'}`;
  const rows = column.type === 'mixed' ? `${column.count} non-modal rows` : `${column.count} rows`;
  const axisNote = scale.kind === 'symlog' ? `heavy tail (${scaleReason ?? 'chosen'}): ${describeScale(scale)}` : `${describeScale(scale)}${scaleReason ? ` (${scaleReason})` : ''}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${margin.left}" y="22" font-size="16" font-weight="bold" fill="${COLORS.text}">${esc(title)}</text>`,
    `<text x="${margin.left}" y="40" fill="${COLORS.muted}">${esc(`${rows}, ${iterations}; ${axisNote}`)}</text>`,
  ];
}

/** One row of swatches and labels, left to right; a swatch's X0, X1, XM are its left, right and middle x. */
function legendSvg(frame: Frame, column: NumericColumnModel): string[] {
  const ly = 58;
  const entries: [swatch: string, label: string][] = [
    [`<rect x="X0" y="${ly - 5}" width="22" height="10" fill="${COLORS.bar}" stroke="${COLORS.barEdge}"/>`, 'data (density)'],
    [`<line x1="X0" y1="${ly}" x2="X1" y2="${ly}" stroke="${COLORS.density}" stroke-width="2"/>`, 'fitted mixture Σ w·N(μ, σ²)'],
    [`<line x1="XM" y1="${ly - 7}" x2="XM" y2="${ly + 7}" stroke="${COLORS.mode}" stroke-width="1.5" stroke-dasharray="4 3"/>`, 'kept mode: #one-hot position (k component)'],
  ];
  if (column.type === 'mixed') entries.push([`<line x1="XM" y1="${ly - 7}" x2="XM" y2="${ly + 7}" stroke="${COLORS.modal}" stroke-width="3"/>`, 'modal value']);
  let lx = frame.margin.left;
  return entries.map(([swatch, label]) => {
    const line = `<g class="legend">${swatch.replace(/X0/g, String(lx)).replace(/X1/g, String(lx + 22)).replace(/XM/g, String(lx + 11))}<text x="${lx + 28}" y="${ly + 4}" fill="${COLORS.text}">${esc(label)}</text></g>`;
    lx += 34 + label.length * 6.6;
    return line;
  });
}

function clipPathSvg(frame: Frame, clipId: string): string {
  const { margin, plotW, plotH } = frame;
  return `<defs><clipPath id="${esc(clipId)}"><rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}"/></clipPath></defs>`;
}

function gridSvg(frame: Frame, at: Projection, yTicks: readonly number[], xMajor: readonly number[]): string[] {
  const { margin, plotW, plotH } = frame;
  return [
    '<g class="grid">',
    ...yTicks.map((t) => `<line x1="${margin.left}" y1="${r2(at.py(t))}" x2="${margin.left + plotW}" y2="${r2(at.py(t))}" stroke="${COLORS.grid}"/>`),
    ...xMajor.map((t) => `<line x1="${r2(at.px(t))}" y1="${margin.top}" x2="${r2(at.px(t))}" y2="${margin.top + plotH}" stroke="${COLORS.grid}"/>`),
    '</g>',
  ];
}

/** One rect per non-empty bin, `heights` being the bins' densities. */
function histogramBarsSvg(frame: Frame, at: Projection, edges: readonly number[], counts: readonly number[], heights: readonly number[]): string[] {
  const { margin, plotH } = frame;
  const out = [`<g class="histogram" fill="${COLORS.bar}" stroke="${COLORS.barEdge}" stroke-width="0.5">`];
  counts.forEach((n, i) => {
    if (n === 0) return;
    const x0 = at.px(edges[i]);
    const x1 = at.px(edges[i + 1]);
    const y = at.py(heights[i]);
    out.push(`<rect x="${r2(x0)}" y="${r2(y)}" width="${r2(Math.max(0.5, x1 - x0))}" height="${r2(margin.top + plotH - y)}"/>`);
  });
  out.push('</g>');
  return out;
}

function densityPathSvg(at: Projection, curve: readonly Point[], clipId: string): string {
  const d = curve.map((p, i) => `${i === 0 ? 'M' : 'L'}${r2(at.px(p.x))},${r2(at.py(p.y))}`).join('');
  return `<path class="density" d="${d}" fill="none" stroke="${COLORS.density}" stroke-width="2" stroke-linejoin="round" clip-path="url(#${esc(clipId)})"/>`;
}

/**
 * One marker per kept mode at its mean (at the plot's edge, with an arrow, when outside
 * [lo, hi]); labels are staggered into rows. Also how many label rows were used.
 */
function modeMarkersSvg(frame: Frame, at: Projection, column: NumericColumnModel, modes: readonly KeptMode[], lo: number, hi: number): { lines: string[]; labelRowCount: number } {
  const { margin, plotW, plotH } = frame;
  const xs = modes.map((m) => Math.min(margin.left + plotW, Math.max(margin.left, at.px(m.mean))));
  const { rows, rowCount } = staggerLabels(xs, 56);
  const lines = ['<g class="modes">'];
  modes.forEach((m, i) => {
    const x = xs[i];
    const outside = m.mean < lo ? '◂ ' : m.mean > hi ? ' ▸' : '';
    const label = `${m.mean < lo ? outside : ''}#${m.position} k${m.k}${m.mean > hi ? outside : ''}`;
    const info = `mode #${m.position} (component ${m.k}): μ = ${formatNumber(m.mean)}, σ = ${formatNumber(Math.sqrt(column.mixture.variances[m.k]))}, weight ${formatNumber(column.mixture.weights[m.k])}`;
    lines.push(
      `<g class="mode-marker"><title>${esc(info)}</title><line x1="${r2(x)}" y1="${margin.top}" x2="${r2(x)}" y2="${margin.top + plotH}" stroke="${COLORS.mode}" stroke-width="1.5" stroke-dasharray="4 3"/>` +
        `<text x="${r2(x + 3)}" y="${margin.top + 14 + rows[i] * 14}" fill="${COLORS.mode}" font-weight="bold"${HALO}>${esc(label)}</text></g>`,
    );
  });
  lines.push('</g>');
  return { lines, labelRowCount: rowCount };
}

/** A note on a density peak above the y axis: below the mode labels, on whichever side of the peak has room. */
function clippedPeakSvg(frame: Frame, at: Projection, peak: Point, labelRowCount: number): string {
  const { margin, plotW } = frame;
  const x = at.px(peak.x);
  const right = x < margin.left + plotW - 260;
  return `<text class="peak" x="${r2(right ? x + 6 : x - 6)}" y="${margin.top + 14 + labelRowCount * 14 + 4}" text-anchor="${right ? 'start' : 'end'}" fill="${COLORS.density}"${HALO}>${esc(`density peak ${formatNumber(peak.y)} at x = ${formatNumber(peak.x)} (clipped)`)}</text>`;
}

/** A spike per modal value on the axis; those off it are listed in one line at the bottom. */
function modalValuesSvg(frame: Frame, at: Projection, labels: readonly ModalValueLabel[], lo: number, hi: number): string[] {
  const { height, margin, plotW, plotH } = frame;
  const offAxis: string[] = [];
  const out = ['<g class="modal-values">'];
  for (const { value, text } of labels) {
    if (value < lo || value > hi) {
      offAxis.push(text);
      continue;
    }
    const x = at.px(value);
    const anchor = x > margin.left + plotW - 240 ? 'end' : 'start';
    const tx = anchor === 'end' ? x - 5 : x + 5;
    out.push(
      `<g class="modal-spike"><line x1="${r2(x)}" y1="${margin.top + plotH}" x2="${r2(x)}" y2="${margin.top + plotH * 0.25}" stroke="${COLORS.modal}" stroke-width="3"/>` +
        `<circle cx="${r2(x)}" cy="${r2(margin.top + plotH * 0.25)}" r="4" fill="${COLORS.modal}"/>` +
        `<text x="${r2(tx)}" y="${r2(margin.top + plotH * 0.25 - 6)}" text-anchor="${anchor}" fill="${COLORS.modal}" font-weight="bold"${HALO}>${esc(`modal ${text}`)}</text></g>`,
    );
  }
  if (offAxis.length > 0) {
    out.push(`<text class="off-axis" x="${margin.left}" y="${height - 8}" fill="${COLORS.modal}">${esc(`modal, off the axis: ${offAxis.join('; ')}`)}</text>`);
  }
  out.push('</g>');
  return out;
}

/** Axis lines, tick marks and tick labels (x labels thinned to keep 34 px apart). */
function axesSvg(frame: Frame, at: Projection, ticks: { major: readonly number[]; minor: readonly number[] }, yTicks: readonly number[]): string[] {
  const { margin, plotW, plotH } = frame;
  const out = [`<g class="axes" stroke="${COLORS.axis}">`];
  out.push(`<line x1="${margin.left}" y1="${margin.top + plotH}" x2="${margin.left + plotW}" y2="${margin.top + plotH}"/>`);
  out.push(`<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotH}"/>`);
  for (const t of ticks.minor) out.push(`<line x1="${r2(at.px(t))}" y1="${margin.top + plotH}" x2="${r2(at.px(t))}" y2="${margin.top + plotH + 3}"/>`);
  for (const t of ticks.major) out.push(`<line x1="${r2(at.px(t))}" y1="${margin.top + plotH}" x2="${r2(at.px(t))}" y2="${margin.top + plotH + 6}"/>`);
  for (const t of yTicks) out.push(`<line x1="${margin.left - 5}" y1="${r2(at.py(t))}" x2="${margin.left}" y2="${r2(at.py(t))}"/>`);
  out.push('</g>');
  out.push(`<g class="tick-labels" fill="${COLORS.text}">`);
  let lastLabelX = -Infinity;
  for (const t of ticks.major) {
    const x = at.px(t);
    if (x - lastLabelX < 34) continue;
    lastLabelX = x;
    out.push(`<text x="${r2(x)}" y="${margin.top + plotH + 19}" text-anchor="middle">${esc(formatNumber(t))}</text>`);
  }
  for (const t of yTicks) out.push(`<text x="${margin.left - 8}" y="${r2(at.py(t) + 4)}" text-anchor="end">${esc(formatNumber(t))}</text>`);
  out.push('</g>');
  return out;
}

/** The x axis's title (the column, and the log mapping if any) and the y axis's. */
function axisTitlesSvg(frame: Frame, column: NumericColumnModel, scale: AxisScale): string[] {
  const { height, margin, plotW, plotH } = frame;
  const xLabel = scale.kind === 'linear' ? column.name : `${column.name} (${describeScale(scale).replace('x axis ', 'log axis: ')})`;
  const yLabel = scale.kind === 'linear' ? 'density' : 'density per unit of log axis';
  return [
    `<text x="${margin.left + plotW / 2}" y="${height - 24}" text-anchor="middle" fill="${COLORS.text}">${esc(xLabel)}</text>`,
    `<text x="18" y="${margin.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 18 ${margin.top + plotH / 2})" fill="${COLORS.text}">${esc(yLabel)}</text>`,
  ];
}

/** How many values lie outside [lo, hi] (left out of the bins), with their share of `total`. */
function outOfRangeSvg(frame: Frame, below: number, above: number, total: number, lo: number, hi: number): string {
  const { height, margin, plotW } = frame;
  const pct = (n: number) => (total > 0 ? ((100 * n) / total).toFixed(2) : '0');
  return `<text class="overflow" x="${margin.left + plotW}" y="${height - 8}" text-anchor="end" fill="${COLORS.muted}">${esc(
    `outside the plotted range: ${below} below ${formatNumber(lo)} (${pct(below)}%), ${above} above ${formatNumber(hi)} (${pct(above)}%)`,
  )}</text>`;
}

export function mixturePlotSvg(
  column: NumericColumnModel,
  histogram: { edges: number[]; counts: number[] } & Partial<Histogram>,
  options: MixturePlotOptions = {},
): string {
  const frame = plotFrame(options.width ?? 900, options.height ?? 450);
  const { scale, reason: scaleReason } = plotScale(histogram, options.scale);
  const { edges, counts } = histogram;
  const { lo, hi } = plotRange(column, edges, scale);

  const below = histogram.below ?? 0;
  const above = histogram.above ?? 0;
  const total = counts.reduce((a, b) => a + b, 0) + below + above;
  const heights = barDensities(scale, edges, counts, total);
  const curve = densityCurve(column, scale, lo, hi, options.densityPoints ?? 800);
  const peak = curvePeak(curve, lo);
  const yMax = yAxisMax(Math.max(0, ...heights), peak.y);
  const at = projection(frame, scale, lo, hi, yMax);
  const yTicks = niceTicks(0, yMax, 6).filter((t) => t <= yMax);
  const ticks = xTicks(scale, lo, hi);
  const clipId = `plot-${column.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const modes = modeMarkersSvg(frame, at, column, keptModes(column), lo, hi);

  const out = [
    ...headingSvg(frame, column, scale, scaleReason),
    ...legendSvg(frame, column),
    clipPathSvg(frame, clipId),
    ...gridSvg(frame, at, yTicks, ticks.major),
    ...histogramBarsSvg(frame, at, edges, counts, heights),
    densityPathSvg(at, curve, clipId),
    ...modes.lines,
  ];
  if (peak.y > yMax) out.push(clippedPeakSvg(frame, at, peak, modes.labelRowCount));
  if (column.type === 'mixed') out.push(...modalValuesSvg(frame, at, modalValueLabels(column), lo, hi));
  out.push(...axesSvg(frame, at, ticks, yTicks), ...axisTitlesSvg(frame, column, scale));
  if (below > 0 || above > 0) out.push(outOfRangeSvg(frame, below, above, total, lo, hi));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/**
 * Just enough SVG for lt-bench's figures, written by hand: scales with readable ticks (linear and
 * log10), axes with titles, marker shapes, a legend, and text escaping. Rendering to PNG goes
 * through sharp (librsvg), so only plain SVG 1.1 features are used.
 */

export const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** Colour-blind-safe palette (Okabe & Ito), then a few extra distinct colours. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442', '#882255', '#44AA99', '#999933', '#AA4499'];

export function colour(i: number): string {
  return PALETTE[i % PALETTE.length];
}

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Rough text width for layout (DejaVu Sans averages ~0.6 em per character). */
export function textWidth(s: string, size: number): number {
  return s.length * size * 0.6;
}

export function fmtNum(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6)));
}

export interface Scale {
  (v: number): number;
  domain: [number, number];
  ticks: number[];
  log: boolean;
}

/** "Nice" linear ticks (1, 2, 5 × 10^k steps) covering [lo, hi]; the domain is widened to them. */
export function niceLinear(lo: number, hi: number, target = 6): { domain: [number, number]; ticks: number[] } {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { domain: [0, 1], ticks: [0, 0.5, 1] };
  if (lo === hi) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step) * step;
  const end = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let v = start; v <= end + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return { domain: [start, end], ticks };
}

export function linearScale(lo: number, hi: number, r0: number, r1: number, target = 6, nice = true): Scale {
  const { domain, ticks } = nice ? niceLinear(lo, hi, target) : { domain: [lo, hi] as [number, number], ticks: niceLinear(lo, hi, target).ticks.filter((t) => t >= lo && t <= hi) };
  const [d0, d1] = domain;
  const f = ((v: number) => r0 + ((v - d0) / (d1 - d0 || 1)) * (r1 - r0)) as Scale;
  f.domain = domain;
  f.ticks = ticks;
  f.log = false;
  return f;
}

/**
 * log10 scale over [lo, hi] widened by `pad` (a factor) on both sides; ticks at 1, 2, 5 × 10^k
 * inside the domain (only powers of ten when the span exceeds three decades).
 */
export function logScale(lo: number, hi: number, r0: number, r1: number, pad = 1.25): Scale {
  let d0 = Math.max(lo, 1e-12) / pad;
  let d1 = Math.max(hi, 1e-12) * pad;
  if (d1 / d0 < 10) {
    const mid = Math.sqrt(d0 * d1);
    d0 = mid / Math.sqrt(10);
    d1 = mid * Math.sqrt(10);
  }
  const a = Math.log10(d0);
  const b = Math.log10(d1);
  const ticks: number[] = [];
  for (let k = Math.floor(a); k <= Math.ceil(b); k++) {
    for (const m of b - a <= 3 ? [1, 2, 5] : [1]) {
      const v = Number((m * 10 ** k).toPrecision(12));
      if (v >= d0 && v <= d1) ticks.push(v);
    }
  }
  const f = ((v: number) => r0 + ((Math.log10(v) - a) / (b - a)) * (r1 - r0)) as Scale;
  f.domain = [d0, d1];
  f.ticks = ticks;
  f.log = true;
  return f;
}

export interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Axes, grid lines, tick labels and axis titles for a plot frame. */
export function axes(frame: Frame, x: Scale, y: Scale, xTitle: string, yTitle: string, opts: { grid?: boolean } = {}): string {
  const { left, top, width, height } = frame;
  const bottom = top + height;
  const right = left + width;
  const parts: string[] = [];
  const grid = opts.grid ?? true;
  for (const t of y.ticks) {
    const py = y(t);
    if (grid) parts.push(`<line x1="${left}" y1="${py.toFixed(1)}" x2="${right}" y2="${py.toFixed(1)}" stroke="#e3e3e3" stroke-width="1"/>`);
    parts.push(`<line x1="${left - 5}" y1="${py.toFixed(1)}" x2="${left}" y2="${py.toFixed(1)}" stroke="#333"/>`);
    parts.push(`<text x="${left - 8}" y="${(py + 4.5).toFixed(1)}" font-size="13" text-anchor="end" fill="#222">${esc(fmtNum(t))}</text>`);
  }
  for (const t of x.ticks) {
    const px = x(t);
    if (grid) parts.push(`<line x1="${px.toFixed(1)}" y1="${top}" x2="${px.toFixed(1)}" y2="${bottom}" stroke="#e3e3e3" stroke-width="1"/>`);
    parts.push(`<line x1="${px.toFixed(1)}" y1="${bottom}" x2="${px.toFixed(1)}" y2="${bottom + 5}" stroke="#333"/>`);
    parts.push(`<text x="${px.toFixed(1)}" y="${bottom + 20}" font-size="13" text-anchor="middle" fill="#222">${esc(fmtNum(t))}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${width}" height="${height}" fill="none" stroke="#333" stroke-width="1"/>`);
  parts.push(`<text x="${left + width / 2}" y="${bottom + 44}" font-size="15" text-anchor="middle" fill="#111">${esc(xTitle)}</text>`);
  const cy = top + height / 2;
  parts.push(`<text x="${left - 52}" y="${cy}" font-size="15" text-anchor="middle" fill="#111" transform="rotate(-90 ${left - 52} ${cy})">${esc(yTitle)}</text>`);
  return parts.join('\n');
}

export type MarkerShape = 'circle' | 'square' | 'triangle' | 'diamond' | 'cross';

export function marker(shape: MarkerShape, x: number, y: number, r: number, fill: string, stroke: string): string {
  const p = (n: number) => n.toFixed(1);
  switch (shape) {
    case 'circle':
      return `<circle cx="${p(x)}" cy="${p(y)}" r="${r}" fill="${fill}" stroke="${stroke}" stroke-width="1.5"/>`;
    case 'square':
      return `<rect x="${p(x - r * 0.9)}" y="${p(y - r * 0.9)}" width="${p(r * 1.8)}" height="${p(r * 1.8)}" fill="${fill}" stroke="${stroke}" stroke-width="1.5"/>`;
    case 'triangle':
      return `<polygon points="${p(x)},${p(y - r * 1.15)} ${p(x + r)},${p(y + r * 0.75)} ${p(x - r)},${p(y + r * 0.75)}" fill="${fill}" stroke="${stroke}" stroke-width="1.5"/>`;
    case 'diamond':
      return `<polygon points="${p(x)},${p(y - r * 1.2)} ${p(x + r)},${p(y)} ${p(x)},${p(y + r * 1.2)} ${p(x - r)},${p(y)}" fill="${fill}" stroke="${stroke}" stroke-width="1.5"/>`;
    case 'cross':
      return `<path d="M${p(x - r)},${p(y - r)} L${p(x + r)},${p(y + r)} M${p(x - r)},${p(y + r)} L${p(x + r)},${p(y - r)}" stroke="${stroke}" stroke-width="2.2" fill="none"/>`;
  }
}

export interface LegendItem {
  label: string;
  colour: string;
  /** A line sample (lines) or a marker (scatter), or a filled box (bars). */
  kind: 'line' | 'marker' | 'box';
  shape?: MarkerShape;
  dashed?: boolean;
  hollow?: boolean;
}

/** A legend laid out in rows that wrap at `maxWidth`; returns the SVG and its height. */
export function legend(items: LegendItem[], x: number, y: number, maxWidth: number): { svg: string; height: number } {
  const parts: string[] = [];
  let cx = x;
  let cy = y;
  const rowH = 22;
  for (const item of items) {
    const w = 30 + textWidth(item.label, 13) + 18;
    if (cx + w > x + maxWidth && cx > x) {
      cx = x;
      cy += rowH;
    }
    if (item.kind === 'line') {
      parts.push(`<line x1="${cx}" y1="${cy}" x2="${cx + 24}" y2="${cy}" stroke="${item.colour}" stroke-width="2.5"${item.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      if (item.shape) parts.push(marker(item.shape, cx + 12, cy, 4, item.colour, item.colour));
    } else if (item.kind === 'box') {
      parts.push(`<rect x="${cx + 4}" y="${cy - 7}" width="16" height="14" fill="${item.colour}" stroke="#888"/>`);
    } else {
      parts.push(marker(item.shape ?? 'circle', cx + 12, cy, 6, item.hollow ? 'white' : item.colour, item.colour));
    }
    parts.push(`<text x="${cx + 30}" y="${cy + 4.5}" font-size="13" fill="#222">${esc(item.label)}</text>`);
    cx += w;
  }
  return { svg: parts.join('\n'), height: cy - y + rowH };
}

export function document(width: number, height: number, body: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}

export function title(text: string, width: number, y = 28): string {
  return `<text x="${width / 2}" y="${y}" font-size="17" font-weight="bold" text-anchor="middle" fill="#111">${esc(text)}</text>`;
}

export function polyline(points: Array<[number, number]>, stroke: string, opts: { width?: number; dashed?: boolean } = {}): string {
  if (points.length === 0) return '';
  const d = points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  return `<path d="${d}" fill="none" stroke="${stroke}" stroke-width="${opts.width ?? 2.2}"${opts.dashed ? ' stroke-dasharray="6 4"' : ''} stroke-linejoin="round"/>`;
}

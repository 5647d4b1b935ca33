/**
 * Reliability diagrams (Guo et al. 2017) from the `reliability` bins of run records: one panel per
 * method and epoch budget, the accuracy of each confidence bin as a bar against the diagonal of
 * perfect calibration, the gap to the bin's mean confidence shaded, and the share of test images
 * per bin as a strip along the bottom. Seeds of a row are pooled bin by bin (counts add up).
 */
import type { ReliabilityBin, RunRecord } from './types.js';
import { metricsOf, type Checkpoint } from './store.js';
import { rowLabel } from './table-layout.js';
import { axes, colour, document, esc, linearScale, title as titleText, type Frame } from './svg.js';
import type { Figure } from './plots.js';

export interface ReliabilitySeries {
  label: string;
  /** Bins pooled over the series' runs: counts summed, confidence and accuracy count-weighted. */
  bins: ReliabilityBin[];
  /** ECE (%) of each run, for the panel title (their mean). */
  ece: number[];
  runs: number;
}

/** Pools bins of several runs (same binning): counts add, means are count-weighted. */
export function poolBins(runs: ReliabilityBin[][]): ReliabilityBin[] {
  const first = runs[0] ?? [];
  return first.map((b, i) => {
    let count = 0;
    let conf = 0;
    let acc = 0;
    for (const r of runs) {
      const x = r[i];
      if (!x || x.count === 0) continue;
      count += x.count;
      conf += x.count * (x.confidence ?? 0);
      acc += x.count * (x.accuracy ?? 0);
    }
    return { lo: b.lo, hi: b.hi, count, confidence: count > 0 ? conf / count : null, accuracy: count > 0 ? acc / count : null };
  });
}

/** One series per row (method + params) and epoch budget of the long-tailed records that carry reliability bins. */
export function reliabilitySeries(records: RunRecord[], checkpoint: Checkpoint = 'last'): ReliabilitySeries[] {
  const groups = new Map<string, { bins: ReliabilityBin[][]; ece: number[] }>();
  for (const r of records) {
    if (r.dataset.balanced) continue;
    const m = metricsOf(r, checkpoint);
    if (!m?.reliability || m.reliability.length === 0) continue;
    const label = `${rowLabel(r.method.name, r.method.params)}, ${r.epochs} ep`;
    const g = groups.get(label) ?? { bins: [], ece: [] };
    if (g.bins.length > 0 && g.bins[0].length !== m.reliability.length) continue;
    g.bins.push(m.reliability);
    if (m.ece !== undefined) g.ece.push(m.ece);
    groups.set(label, g);
  }
  return [...groups.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([label, g]) => ({ label, bins: poolBins(g.bins), ece: g.ece, runs: g.bins.length }));
}

export interface ReliabilityOptions {
  title?: string;
  /** Panels per row (default up to 4). */
  columns?: number;
}

/** Small multiples: one reliability diagram per series. */
export function reliabilityDiagram(series: ReliabilitySeries[], options: ReliabilityOptions = {}): Figure {
  const cols = Math.max(1, Math.min(options.columns ?? 4, series.length || 1));
  const rows = Math.max(1, Math.ceil(series.length / cols));
  const panel = 300;
  const cellW = panel + 110;
  const cellH = panel + 110;
  // At least wide enough for the title and the key below the panels, which are centred.
  const width = Math.max(cols * cellW + 20, 960);
  const offset = (width - cols * cellW) / 2;
  const height = 60 + rows * cellH + 20;
  const body: string[] = [titleText(options.title ?? 'Reliability diagrams', width)];
  if (series.length === 0) {
    body.push(`<text x="${width / 2}" y="${height / 2}" font-size="15" text-anchor="middle" fill="#666">no record has reliability bins (lt-bench eval --split test adds them)</text>`);
  }
  series.forEach((s, i) => {
    const frame: Frame = { left: offset + (i % cols) * cellW + 80, top: 60 + Math.floor(i / cols) * cellH + 30, width: panel, height: panel };
    const x = linearScale(0, 100, frame.left, frame.left + frame.width, 5);
    const y = linearScale(0, 100, frame.top + frame.height, frame.top, 5);
    // One bar colour for every panel (each is labelled), distinct from the orange gap boxes.
    const c = colour(0);
    const bottom = frame.top + frame.height;
    body.push(axes(frame, x, y, 'Confidence (%)', 'Accuracy (%)', { grid: false }));
    const total = s.bins.reduce((a, b) => a + b.count, 0);
    for (const b of s.bins) {
      if (b.count === 0 || b.accuracy === null || b.confidence === null) continue;
      const x0 = x(100 * b.lo) + 1;
      const w = Math.max(1, x(100 * b.hi) - x(100 * b.lo) - 2);
      const top = y(b.accuracy);
      body.push(`<rect x="${x0.toFixed(1)}" y="${top.toFixed(1)}" width="${w.toFixed(1)}" height="${(bottom - top).toFixed(1)}" fill="${c}" fill-opacity="0.75" stroke="${c}"/>`);
      // The gap between the bin's accuracy and its mean confidence (what ECE averages).
      const lo = Math.min(y(b.accuracy), y(b.confidence));
      const hi = Math.max(y(b.accuracy), y(b.confidence));
      body.push(`<rect x="${x0.toFixed(1)}" y="${lo.toFixed(1)}" width="${w.toFixed(1)}" height="${(hi - lo).toFixed(1)}" fill="#D55E00" fill-opacity="0.25" stroke="#D55E00" stroke-width="0.8"/>`);
      // Share of the test images in the bin: a grey strip along the bottom (full height = 100 %).
      const share = total > 0 ? b.count / total : 0;
      const sh = Math.max(1, share * 40);
      body.push(`<rect x="${x0.toFixed(1)}" y="${(bottom - sh).toFixed(1)}" width="${w.toFixed(1)}" height="${sh.toFixed(1)}" fill="#444" fill-opacity="0.55"/>`);
    }
    body.push(`<line x1="${x(0).toFixed(1)}" y1="${y(0).toFixed(1)}" x2="${x(100).toFixed(1)}" y2="${y(100).toFixed(1)}" stroke="#333" stroke-dasharray="5 4"/>`);
    const ece = s.ece.length > 0 ? s.ece.reduce((a, b) => a + b, 0) / s.ece.length : null;
    const head = `${s.label}${s.runs > 1 ? ` (${s.runs} seeds)` : ''}`;
    body.push(`<text x="${frame.left + frame.width / 2}" y="${frame.top - 12}" font-size="13" text-anchor="middle" fill="#111">${esc(head)}</text>`);
    if (ece !== null) body.push(`<text x="${frame.left + 8}" y="${frame.top + 20}" font-size="13" fill="#111">ECE ${ece.toFixed(2)}%</text>`);
  });
  const key = ['bars: accuracy of each of 15 confidence bins; shaded: the gap to the bin\'s mean confidence (what ECE averages);', 'grey strip: share of the test images in the bin; dashed: perfect calibration'];
  key.forEach((line, k) => body.push(`<text x="${width / 2}" y="${height - 30 + 16 * k}" font-size="12" text-anchor="middle" fill="#555">${esc(line)}</text>`));
  return { svg: document(width, height, body.join('\n')), width, height };
}

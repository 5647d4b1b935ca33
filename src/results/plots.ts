/**
 * The figures, as SVG written by hand and PNG rendered by sharp:
 * - the survey's Fig. 4: top-1 accuracy vs relative accuracy, one marker shape per family
 *   (from a Table 5 `ResultTable`, so the figure shows exactly the table's numbers);
 * - per-class accuracy against the class's training count (log x), one line per method, with the
 *   histogram of class sizes behind and the head / middle / tail thresholds marked;
 * - training curves (train loss, val top-1 per epoch) from `epochs.jsonl`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { loadSharp } from '../sharp.js';
import type { EpochLine, RunRecord } from './types.js';
import type { ResultTable } from './tables.js';
import { metricsOf, type Checkpoint } from './store.js';
import { FAMILY_LABELS, FAMILY_ORDER, rowLabel, type FamilyId } from './table-layout.js';
import {
  axes,
  colour,
  document,
  esc,
  legend,
  linearScale,
  logScale,
  marker,
  polyline,
  textWidth,
  title as titleText,
  type Frame,
  type LegendItem,
  type MarkerShape,
} from './svg.js';

export interface Figure {
  svg: string;
  width: number;
  height: number;
}

/** Marker shape per survey family. */
export const FAMILY_SHAPES: Record<FamilyId, MarkerShape> = {
  baseline: 'circle',
  CR: 'square',
  IA: 'triangle',
  MI: 'diamond',
  other: 'cross',
};

// ---------------------------------------------------------------------------------------------
// Fig. 4: accuracy vs relative accuracy

export interface ScatterPoint {
  label: string;
  family: FamilyId;
  epochs: string;
  acc: number;
  ra: number;
  source: 'ours' | 'paper';
}

/** The (Acc, RA) points of a Table 5: measured cells, and the paper's when the table carries them. */
export function scatterPoints(table: ResultTable, includePaper = true): ScatterPoint[] {
  if (table.table !== 5) throw new Error(`the accuracy / relative accuracy figure needs Table 5, got Table ${table.table}`);
  const points: ScatterPoint[] = [];
  for (const row of table.rows) {
    if (row.kind !== 'row') continue;
    for (let i = 0; i + 2 < table.columns.length; i += 3) {
      const acc = row.cells[i];
      const ra = row.cells[i + 2];
      const epochs = table.columns[i].group;
      if (acc.stat && ra.stat) points.push({ label: row.label, family: row.family, epochs, acc: acc.stat.mean, ra: ra.stat.mean, source: 'ours' });
      if (includePaper && table.paper && typeof acc.paper === 'number' && typeof ra.paper === 'number') {
        points.push({ label: row.label, family: row.family, epochs, acc: acc.paper, ra: ra.paper, source: 'paper' });
      }
    }
  }
  return points;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/**
 * Places a label beside its point: the first of eight positions around it, at growing distances,
 * that overlaps neither another label nor a marker and stays inside the frame. Labels pushed
 * away from their point get a thin leader line; when nothing fits the label is dropped (and
 * counted), because an unreadable pile of text helps no one.
 */
function placeLabel(text: string, px: number, py: number, size: number, taken: Box[], frame: Frame): { x: number; y: number; anchor: string; leader: boolean } | null {
  const w = textWidth(text, size);
  const h = size + 2;
  const inside = (b: Box) => b.x >= frame.left + 2 && b.x + b.w <= frame.left + frame.width - 2 && b.y >= frame.top + 2 && b.y + b.h <= frame.top + frame.height - 2;
  for (const gap of [8, 20, 34]) {
    const candidates = [
      { x: px + gap, y: py - h / 2, anchor: 'start' },
      { x: px - gap - w, y: py - h / 2, anchor: 'end' },
      { x: px - w / 2, y: py - gap - h, anchor: 'middle' },
      { x: px - w / 2, y: py + gap, anchor: 'middle' },
      { x: px + gap * 0.7, y: py - gap * 0.7 - h, anchor: 'start' },
      { x: px - gap * 0.7 - w, y: py - gap * 0.7 - h, anchor: 'end' },
      { x: px + gap * 0.7, y: py + gap * 0.7, anchor: 'start' },
      { x: px - gap * 0.7 - w, y: py + gap * 0.7, anchor: 'end' },
    ];
    const chosen = candidates.find((c) => {
      const b = { x: c.x, y: c.y, w, h };
      return inside(b) && !taken.some((t) => overlaps(b, t));
    });
    if (chosen) {
      taken.push({ x: chosen.x, y: chosen.y, w, h });
      const tx = chosen.anchor === 'start' ? chosen.x : chosen.anchor === 'end' ? chosen.x + w : chosen.x + w / 2;
      return { x: tx, y: chosen.y + h - 3, anchor: chosen.anchor, leader: gap > 8 };
    }
  }
  return null;
}

export interface ScatterOptions {
  title?: string;
  /** Plot the paper's points too (hollow markers), when the table carries them (default true). */
  includePaper?: boolean;
  width?: number;
  height?: number;
}

/** The survey's Fig. 4 from a Table 5: x = top-1 accuracy, y = relative accuracy (RA). */
export function accuracyVsRelativeAccuracy(table: ResultTable, options: ScatterOptions = {}): Figure {
  const points = scatterPoints(table, options.includePaper ?? true);
  const width = options.width ?? 1000;
  const height = options.height ?? 760;
  const budgets = [...new Set(points.map((p) => p.epochs))];
  const families = FAMILY_ORDER.filter((f) => points.some((p) => p.family === f));
  const legendItems: LegendItem[] = [
    ...families.map((f) => ({ label: FAMILY_LABELS[f], colour: '#555', kind: 'marker' as const, shape: FAMILY_SHAPES[f] })),
    ...budgets.map((b, i) => ({ label: b, colour: colour(i), kind: 'box' as const })),
    ...(points.some((p) => p.source === 'paper')
      ? [
          ...(points.some((p) => p.source === 'ours') ? [{ label: 'lt-bench (filled)', colour: '#555', kind: 'marker' as const, shape: 'circle' as const }] : []),
          { label: 'paper (hollow)', colour: '#555', kind: 'marker' as const, shape: 'circle' as const, hollow: true },
        ]
      : []),
  ];
  const frame: Frame = { left: 90, top: 50, width: width - 130, height: 0 };
  const leg = legend(legendItems, frame.left, 0, frame.width);
  frame.height = height - frame.top - 70 - leg.height - 10;
  const accs = points.map((p) => p.acc);
  const ras = points.map((p) => p.ra);
  const pad = (lo: number, hi: number) => [lo - Math.max(1, (hi - lo) * 0.08), hi + Math.max(1, (hi - lo) * 0.08)];
  const [x0, x1] = points.length ? pad(Math.min(...accs), Math.max(...accs)) : [0, 100];
  const [y0, y1] = points.length ? pad(Math.min(...ras), Math.max(...ras)) : [0, 100];
  const x = linearScale(x0, x1, frame.left, frame.left + frame.width);
  const y = linearScale(y0, y1, frame.top + frame.height, frame.top);
  const body: string[] = [titleText(options.title ?? `Accuracy vs relative accuracy — ${table.section.dataset}`, width)];
  body.push(axes(frame, x, y, 'Top-1 accuracy (%)', 'Relative accuracy RA (%)'));
  if (points.length === 0) {
    body.push(`<text x="${frame.left + frame.width / 2}" y="${frame.top + frame.height / 2}" font-size="15" text-anchor="middle" fill="#666">no method has both Acc and RA yet (RA needs the balanced runs)</text>`);
  }
  const taken: Box[] = points.map((p) => ({ x: x(p.acc) - 7, y: y(p.ra) - 7, w: 14, h: 14 }));
  const marks: string[] = [];
  const labels: string[] = [];
  const bothSources = new Set(points.map((p) => p.source)).size > 1;
  let dropped = 0;
  // Paper points first so measured points draw on top.
  const ordered = [...points].sort((a, b) => (a.source === b.source ? 0 : a.source === 'paper' ? -1 : 1));
  for (const p of ordered) {
    const c = colour(budgets.indexOf(p.epochs));
    const px = x(p.acc);
    const py = y(p.ra);
    marks.push(marker(FAMILY_SHAPES[p.family], px, py, 6.5, p.source === 'paper' ? 'white' : c, c));
    const text = bothSources && p.source === 'paper' ? `${p.label} (paper)` : p.label;
    const at = placeLabel(text, px, py, 11, taken, frame);
    if (!at) {
      dropped += 1;
      continue;
    }
    if (at.leader) {
      const ly = at.y - 4;
      const lx = at.anchor === 'start' ? at.x - 2 : at.anchor === 'end' ? at.x + 2 : at.x;
      labels.push(`<line x1="${px.toFixed(1)}" y1="${py.toFixed(1)}" x2="${lx.toFixed(1)}" y2="${ly.toFixed(1)}" stroke="#aaa" stroke-width="0.8"/>`);
    }
    labels.push(`<text x="${at.x.toFixed(1)}" y="${at.y.toFixed(1)}" font-size="11" text-anchor="${at.anchor}" fill="${p.source === 'paper' ? '#666' : '#222'}">${esc(text)}</text>`);
  }
  body.push(...marks, ...labels);
  if (dropped > 0) {
    body.push(`<text x="${frame.left + frame.width - 6}" y="${frame.top + frame.height - 8}" font-size="11" text-anchor="end" fill="#888">${dropped} label${dropped === 1 ? '' : 's'} left out where points crowd (the table has every value)</text>`);
  }
  const legY = frame.top + frame.height + 70;
  body.push(legend(legendItems, frame.left, legY, frame.width).svg);
  return { svg: document(width, height, body.join('\n')), width, height };
}

// ---------------------------------------------------------------------------------------------
// Per-class accuracy vs training count

export interface PerClassSeries {
  label: string;
  classCounts: number[];
  /** Per-class accuracy (%), averaged over the series' runs. */
  perClass: number[];
  runs: number;
}

/**
 * One series per row (method + distinguishing params) and epoch budget of the given long-tailed
 * records, averaging per-class accuracy over training seeds. Records must share a dataset.
 */
export function perClassSeries(records: RunRecord[], checkpoint: Checkpoint = 'last'): PerClassSeries[] {
  const groups = new Map<string, { counts: number[]; sums: number[]; runs: number }>();
  for (const r of records) {
    if (r.dataset.balanced) continue;
    const m = metricsOf(r, checkpoint);
    if (!m || m.perClass.length !== r.dataset.classCounts.length) continue;
    const label = `${rowLabel(r.method.name, r.method.params)}, ${r.epochs} ep`;
    const g = groups.get(label) ?? { counts: r.dataset.classCounts, sums: new Array(m.perClass.length).fill(0), runs: 0 };
    m.perClass.forEach((v, i) => (g.sums[i] += v));
    g.runs += 1;
    groups.set(label, g);
  }
  return [...groups.entries()].map(([label, g]) => ({ label, classCounts: g.counts, perClass: g.sums.map((s) => s / g.runs), runs: g.runs }));
}

export interface PerClassOptions {
  title?: string;
  /** Group thresholds (head: count > head; tail: count < tail), drawn as dashed lines. */
  thresholds?: { head: number; tail: number };
  /** Above this many classes, accuracies are averaged in log-spaced count bins (default 40). */
  binAbove?: number;
  /** Number of log-spaced bins (default 16). */
  bins?: number;
  width?: number;
  height?: number;
}

function logBins(min: number, max: number, n: number): number[] {
  const a = Math.log10(Math.max(min, 1)) - 1e-9;
  const b = Math.log10(Math.max(max, 1)) + 1e-9;
  return Array.from({ length: n + 1 }, (_, i) => 10 ** (a + ((b - a) * i) / n));
}

/** Per-class accuracy against training count (log x), a line per series, class-size histogram behind. */
export function perClassAccuracyPlot(series: PerClassSeries[], options: PerClassOptions = {}): Figure {
  const width = options.width ?? 1000;
  const height = options.height ?? 640;
  const counts = series[0]?.classCounts ?? [1, 10];
  const minC = Math.max(1, Math.min(...counts));
  const maxC = Math.max(...counts);
  const binned = counts.length > (options.binAbove ?? 40);
  const edges = logBins(minC, maxC, options.bins ?? 16);
  const binOf = (c: number) => Math.min(edges.length - 2, Math.max(0, edges.findIndex((e, i) => i < edges.length - 1 && c >= e && c < edges[i + 1])));
  const classesPerBin = new Array(edges.length - 1).fill(0);
  for (const c of counts) classesPerBin[binOf(c)] += 1;

  // Bars behind the lines: with many classes, the histogram of class sizes (classes per log bin);
  // with few, one bar per class whose height is its training count (the long tail itself).
  const barLabel = binned ? 'classes per count bin (right axis)' : 'training images of each class (right axis)';
  const items: LegendItem[] = [
    ...series.map((s, i) => ({ label: `${s.label}${s.runs > 1 ? ` (${s.runs} seeds)` : ''}`, colour: colour(i), kind: 'line' as const, shape: 'circle' as const })),
    { label: barLabel, colour: '#e6e6e6', kind: 'box' },
  ];
  const frame: Frame = { left: 90, top: 62, width: width - 190, height: 0 };
  const leg = legend(items, frame.left, 0, frame.width);
  frame.height = height - frame.top - 70 - leg.height - 10;
  const x = logScale(minC, maxC, frame.left, frame.left + frame.width);
  const y = linearScale(0, 100, frame.top + frame.height, frame.top, 5);
  const yBars = linearScale(0, binned ? Math.max(...classesPerBin, 1) : maxC, frame.top + frame.height, frame.top, 5);
  const body: string[] = [titleText(options.title ?? 'Per-class accuracy vs training images per class', width)];
  const bar = (xa: number, xb: number, v: number) => {
    const top = yBars(v);
    body.push(`<rect x="${xa.toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(1, xb - xa).toFixed(1)}" height="${(frame.top + frame.height - top).toFixed(1)}" fill="#e6e6e6" stroke="#cfcfcf"/>`);
  };
  if (binned) {
    classesPerBin.forEach((n, i) => {
      if (n > 0) bar(x(edges[i]) + 1, x(edges[i + 1]) - 1, n);
    });
  } else {
    const barWidth = Math.max(6, Math.min(24, frame.width / (counts.length * 3)));
    for (const c of [...new Set(counts)]) bar(x(Math.max(c, 1)) - barWidth / 2, x(Math.max(c, 1)) + barWidth / 2, c);
  }
  body.push(axes(frame, x, y, 'Training images of the class (log scale)', 'Per-class test accuracy (%)', { grid: false }));
  // Right axis for the bars.
  const right = frame.left + frame.width;
  for (const t of yBars.ticks.filter((t) => Number.isInteger(t))) {
    const py = yBars(t);
    body.push(`<line x1="${right}" y1="${py.toFixed(1)}" x2="${right + 5}" y2="${py.toFixed(1)}" stroke="#888"/>`);
    body.push(`<text x="${right + 8}" y="${(py + 4.5).toFixed(1)}" font-size="13" fill="#777">${t}</text>`);
  }
  const cy = frame.top + frame.height / 2;
  body.push(`<text x="${right + 62}" y="${cy}" font-size="15" text-anchor="middle" fill="#777" transform="rotate(90 ${right + 62} ${cy})">${binned ? 'Classes per bin' : 'Training images'}</text>`);
  // Group thresholds.
  if (options.thresholds) {
    const { head, tail } = options.thresholds;
    const marks: Array<[number, string]> = [
      [tail, `tail < ${tail}`],
      [head, `head > ${head}`],
    ];
    for (const [v, text] of marks) {
      if (v <= x.domain[0] || v >= x.domain[1]) continue;
      const px = x(v);
      body.push(`<line x1="${px.toFixed(1)}" y1="${frame.top}" x2="${px.toFixed(1)}" y2="${frame.top + frame.height}" stroke="#666" stroke-dasharray="5 4"/>`);
      body.push(`<text x="${(px + 4).toFixed(1)}" y="${frame.top + 16}" font-size="12" fill="#444">${esc(text)}</text>`);
    }
  }
  series.forEach((s, si) => {
    const c = colour(si);
    let pts: Array<[number, number]>;
    if (binned) {
      const sum = new Array(edges.length - 1).fill(0);
      const num = new Array(edges.length - 1).fill(0);
      s.classCounts.forEach((cnt, i) => {
        sum[binOf(cnt)] += s.perClass[i];
        num[binOf(cnt)] += 1;
      });
      pts = sum.flatMap((v, b) => (num[b] > 0 ? [[x(Math.sqrt(edges[b] * edges[b + 1])), y(v / num[b])] as [number, number]] : []));
    } else {
      // Classes with equal counts are averaged into one point.
      const byCount = new Map<number, number[]>();
      s.classCounts.forEach((cnt, i) => byCount.set(cnt, [...(byCount.get(cnt) ?? []), s.perClass[i]]));
      pts = [...byCount.entries()].sort((a, b) => a[0] - b[0]).map(([cnt, vs]) => [x(Math.max(cnt, 1)), y(vs.reduce((a, b) => a + b, 0) / vs.length)]);
    }
    body.push(polyline(pts, c));
    for (const [px, py] of pts) body.push(marker('circle', px, py, 3.5, c, c));
  });
  const subtitle = binned
    ? `lines: mean accuracy of the classes in each of ${edges.length - 1} log-spaced count bins`
    : 'lines: accuracy of each class (classes with equal counts averaged)';
  body.push(`<text x="${width / 2}" y="${frame.top - 8}" font-size="12" text-anchor="middle" fill="#555">${esc(subtitle)}</text>`);
  body.push(legend(items, frame.left, frame.top + frame.height + 70, frame.width).svg);
  return { svg: document(width, height, body.join('\n')), width, height };
}

// ---------------------------------------------------------------------------------------------
// Training curves

export interface CurveSeries {
  label: string;
  lines: EpochLine[];
}

export interface CurveOptions {
  title?: string;
  width?: number;
  height?: number;
}

/** Two panels: training loss and validation top-1 per epoch, one line per run. */
export function trainingCurvesPlot(series: CurveSeries[], options: CurveOptions = {}): Figure {
  const width = options.width ?? 1100;
  const height = options.height ?? 520;
  const items: LegendItem[] = series.map((s, i) => ({ label: s.label, colour: colour(i), kind: 'line' as const }));
  const leg = legend(items, 90, 0, width - 130);
  const panelH = height - 72 - 70 - leg.height - 10;
  const gap = 110;
  const panelW = (width - 90 - 40 - gap) / 2;
  const left: Frame = { left: 90, top: 72, width: panelW, height: panelH };
  const right: Frame = { left: 90 + panelW + gap, top: 72, width: panelW, height: panelH };
  const all = series.flatMap((s) => s.lines);
  const maxEpoch = Math.max(1, ...all.map((l) => l.epoch));
  const losses = all.map((l) => l.trainLoss).filter(Number.isFinite);
  const accs = all.map((l) => l.valTop1).filter(Number.isFinite);
  const body: string[] = [titleText(options.title ?? 'Training curves', width)];
  const panel = (frame: Frame, values: number[], pick: (l: EpochLine) => number, yTitle: string, clamp100: boolean, panelTitle: string) => {
    const lo = values.length ? Math.min(...values) : 0;
    const hi = values.length ? Math.max(...values) : 1;
    const x = linearScale(maxEpoch > 1 ? 1 : 0, maxEpoch, frame.left, frame.left + frame.width, Math.min(8, maxEpoch));
    const y = clamp100 ? linearScale(Math.max(0, lo - 5), Math.min(100, hi + 5), frame.top + frame.height, frame.top, 5) : linearScale(Math.min(0, lo), hi * 1.05, frame.top + frame.height, frame.top, 5);
    body.push(axes(frame, x, y, 'Epoch', yTitle));
    body.push(`<text x="${frame.left + frame.width / 2}" y="${frame.top - 8}" font-size="14" text-anchor="middle" fill="#333">${esc(panelTitle)}</text>`);
    series.forEach((s, i) => {
      const pts = s.lines.filter((l) => Number.isFinite(pick(l))).map((l) => [x(l.epoch), y(pick(l))] as [number, number]);
      body.push(polyline(pts, colour(i)));
      if (pts.length <= 30) for (const [px, py] of pts) body.push(marker('circle', px, py, 3, colour(i), colour(i)));
    });
  };
  panel(left, losses, (l) => l.trainLoss, 'Training loss', false, 'Training loss');
  panel(right, accs, (l) => l.valTop1, 'Validation top-1 (%)', true, 'Validation accuracy');
  body.push(legend(items, 90, 72 + panelH + 70, width - 130).svg);
  return { svg: document(width, height, body.join('\n')), width, height };
}

// ---------------------------------------------------------------------------------------------
// Output

/** Renders an SVG to PNG (density 72·scale, so scale 2 gives a 2× bitmap). */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(Buffer.from(svg), { density: 72 * scale }).png().toBuffer();
}

/** Writes `<base>.svg` and (unless png is false) `<base>.png`; returns the paths written. */
export async function writeFigure(figure: Figure, base: string, options: { png?: boolean; scale?: number } = {}): Promise<string[]> {
  await mkdir(dirname(base), { recursive: true });
  const written = [`${base}.svg`];
  await writeFile(`${base}.svg`, figure.svg);
  if (options.png ?? true) {
    await writeFile(`${base}.png`, await svgToPng(figure.svg, options.scale ?? 2));
    written.push(`${base}.png`);
  }
  return written;
}

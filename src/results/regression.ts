/**
 * Regression checks for CI (`lt-bench check --baseline <file>`), in the manner of mmpretrain's
 * benchmark-regression script: the baseline stores an expected value and a tolerance per metric
 * per run name; the check prints expected / measured / delta and fails on a regression.
 *
 * Baseline file (YAML or JSON):
 *
 *   checkpoint: last            # or best
 *   defaults: { tolerance: 1.0, direction: higher }
 *   runs:
 *     fashion-lt/softmax:       # the record's `name` (the recipe name)
 *       epochs: 4               # optional, when runs of several budgets share a name
 *       top1: { expected: 81.2, tolerance: 1.5 }
 *       tail: 40.1              # shorthand: the default tolerance
 *     fashion-lt/focal@8:       # `name@epochs` is the same as giving `epochs: 8`
 *       top1: 80.0
 *
 * `direction: higher` fails only when a metric drops by more than its tolerance (a rise beyond it
 * is reported as "improved", a hint to refresh the baseline); `both` fails on any deviation.
 * Several seeds of a run are averaged; balanced reference runs are never the run under test.
 * A run or metric that cannot be measured fails.
 */
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import type { RunRecord } from './types.js';
import { metricsOf, RecordIndex, type Checkpoint } from './store.js';
import { referenceAccuracy } from './tables.js';

export const CHECK_METRICS = ['top1', 'head', 'middle', 'tail', 'ua', 'ra', 'valTop1', 'imagesPerSec'] as const;
export type CheckMetric = (typeof CHECK_METRICS)[number];
export type Direction = 'higher' | 'both';

export interface Expectation {
  expected: number;
  tolerance: number;
  direction: Direction;
}

export interface BaselineRun {
  epochs?: number;
  metrics: Partial<Record<CheckMetric, Expectation>>;
}

export interface Baseline {
  checkpoint: Checkpoint;
  runs: Record<string, BaselineRun>;
}

export type CheckStatus = 'ok' | 'improved' | 'regressed' | 'deviated' | 'missing';

export interface CheckLine {
  run: string;
  metric: CheckMetric;
  expected: number;
  tolerance: number;
  measured: number | null;
  delta: number | null;
  /** Records averaged. */
  n: number;
  status: CheckStatus;
  /** Why a value is missing. */
  reason?: string;
}

export interface CheckResult {
  lines: CheckLine[];
  /** False when any line regressed, deviated (direction both) or is missing. */
  ok: boolean;
}

/** Parses a baseline file's text (YAML or JSON); errors name the key path. */
export function parseBaseline(text: string, source = 'baseline'): Baseline {
  const raw = YAML.parse(text) as unknown;
  const fail = (path: string, what: string): never => {
    throw new Error(`${source}: ${path}: ${what}`);
  };
  if (!isObject(raw)) return fail('(root)', 'expected a mapping with `runs`');
  const checkpoint = raw.checkpoint ?? 'last';
  if (checkpoint !== 'last' && checkpoint !== 'best') fail('checkpoint', 'expected last or best');
  const defaults = isObject(raw.defaults) ? raw.defaults : {};
  const defTol = defaults.tolerance ?? 1;
  const defDir = defaults.direction ?? 'higher';
  if (typeof defTol !== 'number' || defTol < 0) fail('defaults.tolerance', 'expected a number ≥ 0');
  if (defDir !== 'higher' && defDir !== 'both') fail('defaults.direction', 'expected higher or both');
  if (!isObject(raw.runs)) return fail('runs', 'expected a mapping of run name → metrics');
  const runs: Record<string, BaselineRun> = {};
  for (const [name, entry] of Object.entries(raw.runs)) {
    if (!isObject(entry)) fail(`runs.${name}`, 'expected a mapping of metric → value');
    const run: BaselineRun = { metrics: {} };
    for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
      const path = `runs.${name}.${key}`;
      if (key === 'epochs') {
        if (typeof value !== 'number') fail(path, 'expected a number');
        run.epochs = value as number;
        continue;
      }
      if (!(CHECK_METRICS as readonly string[]).includes(key)) fail(path, `unknown metric; use one of ${CHECK_METRICS.join(', ')}`);
      let e: Expectation;
      if (typeof value === 'number') e = { expected: value, tolerance: defTol as number, direction: defDir as Direction };
      else if (isObject(value) && typeof value.expected === 'number') {
        const tol = value.tolerance ?? defTol;
        const dir = value.direction ?? defDir;
        if (typeof tol !== 'number' || tol < 0) fail(`${path}.tolerance`, 'expected a number ≥ 0');
        if (dir !== 'higher' && dir !== 'both') fail(`${path}.direction`, 'expected higher or both');
        e = { expected: value.expected, tolerance: tol as number, direction: dir as Direction };
      } else return fail(path, 'expected a number or {expected, tolerance?, direction?}');
      run.metrics[key as CheckMetric] = e;
    }
    runs[name] = run;
  }
  return { checkpoint: checkpoint as Checkpoint, runs };
}

export async function loadBaseline(path: string): Promise<Baseline> {
  return parseBaseline(await readFile(path, 'utf8'), path);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value of one metric for one record, or why it has none. */
export function measure(record: RunRecord, metric: CheckMetric, index: RecordIndex, checkpoint: Checkpoint): { value: number | null; reason?: string } {
  const m = metricsOf(record, checkpoint);
  switch (metric) {
    case 'top1':
      return m ? { value: m.top1 } : { value: null, reason: `no ${checkpoint} checkpoint metrics` };
    case 'head':
    case 'middle':
    case 'tail': {
      const v = m?.groups[metric] ?? null;
      return v === null ? { value: null, reason: `no ${metric} classes measured` } : { value: v };
    }
    case 'ua':
    case 'ra': {
      const ref = referenceAccuracy(record, index, checkpoint);
      const v = metric === 'ua' ? ref.ua : ref.ra;
      return v === null ? { value: null, reason: ref.problems.join('; ') } : { value: v };
    }
    case 'valTop1':
      return record.metrics.valLast ? { value: record.metrics.valLast.top1 } : { value: null, reason: 'no validation metrics' };
    case 'imagesPerSec':
      return { value: record.timing.trainImagesPerSec };
  }
}

/**
 * Compares records with a baseline. `records` should be every loaded record (balanced runs too,
 * for UA/RA); runs are matched by `name` (and `epochs` when the baseline gives it).
 */
export function checkRecords(records: RunRecord[], baseline: Baseline): CheckResult {
  const index = new RecordIndex(records);
  const lines: CheckLine[] = [];
  for (const [key, run] of Object.entries(baseline.runs)) {
    const at = /^(.*)@(\d+)$/.exec(key);
    const name = at ? at[1] : key;
    const epochs = run.epochs ?? (at ? Number(at[2]) : undefined);
    // Balanced twins may share the recipe name; they are references, not the runs under test.
    let matching = records.filter((r) => r.name === name && !r.dataset.balanced && (epochs === undefined || r.epochs === epochs));
    const budgets = [...new Set(matching.map((r) => r.epochs))].sort((a, b) => a - b);
    let ambiguity: string | undefined;
    if (budgets.length > 1) {
      ambiguity = `runs named ${name} exist for epochs ${budgets.join(', ')}; add \`epochs:\` to the baseline entry`;
      matching = [];
    }
    for (const [metric, e] of Object.entries(run.metrics) as Array<[CheckMetric, Expectation]>) {
      const values: number[] = [];
      const reasons = new Set<string>();
      for (const r of matching) {
        const v = measure(r, metric, index, baseline.checkpoint);
        if (v.value === null) reasons.add(v.reason ?? 'no value');
        else values.push(v.value);
      }
      const base = { run: key, metric, expected: e.expected, tolerance: e.tolerance };
      if (values.length === 0 || reasons.size > 0) {
        const reason = ambiguity ?? (matching.length === 0 ? 'no finished run with this name' : [...reasons].join('; '));
        lines.push({ ...base, measured: null, delta: null, n: values.length, status: 'missing', reason });
        continue;
      }
      const measured = values.reduce((s, v) => s + v, 0) / values.length;
      const delta = measured - e.expected;
      // Compare with a small epsilon so a delta equal to the tolerance passes despite float error.
      const beyond = Math.abs(delta) > e.tolerance + 1e-9;
      const status: CheckStatus = !beyond ? 'ok' : delta < 0 ? (e.direction === 'both' ? 'deviated' : 'regressed') : e.direction === 'both' ? 'deviated' : 'improved';
      lines.push({ ...base, measured, delta, n: values.length, status });
    }
  }
  return { lines, ok: lines.every((l) => l.status === 'ok' || l.status === 'improved') };
}

/** A plain-text report: one aligned line per check, then a summary line. */
export function formatCheck(result: CheckResult): string {
  const header = ['run', 'metric', 'expected', 'measured', 'delta', 'tol', 'n', 'status'];
  const f = (x: number | null, signed = false) => (x === null ? '—' : `${signed && x >= 0 ? '+' : ''}${x.toFixed(2)}`);
  const rows = result.lines.map((l) => [l.run, l.metric, f(l.expected), f(l.measured), f(l.delta, true), f(l.tolerance), String(l.n), l.status.toUpperCase()]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = new Set([2, 3, 4, 5, 6]);
  const line = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line)];
  const reasons = result.lines.filter((l) => l.reason).map((l) => `${l.run} ${l.metric}: ${l.reason}`);
  if (reasons.length > 0) out.push('', ...reasons);
  const bad = result.lines.filter((l) => l.status === 'regressed' || l.status === 'deviated' || l.status === 'missing').length;
  const improved = result.lines.filter((l) => l.status === 'improved').length;
  out.push(
    '',
    result.ok
      ? `OK: ${result.lines.length} checks within tolerance${improved ? ` (${improved} improved beyond it: consider refreshing the baseline)` : ''}`
      : `FAILED: ${bad} of ${result.lines.length} checks regressed or missing`,
  );
  return `${out.join('\n')}\n`;
}

/**
 * A baseline from the current records (for `check --update`): every finished long-tailed run
 * name with the given metrics at the mean over its seeds, rounded to 2 decimals.
 */
export function baselineFromRecords(
  records: RunRecord[],
  options: { metrics?: CheckMetric[]; tolerance?: number; checkpoint?: Checkpoint; direction?: Direction } = {},
): Baseline {
  const metrics = options.metrics ?? ['top1', 'head', 'middle', 'tail'];
  const checkpoint = options.checkpoint ?? 'last';
  const tolerance = options.tolerance ?? 1;
  const direction = options.direction ?? 'higher';
  const index = new RecordIndex(records);
  const byName = new Map<string, RunRecord[]>();
  for (const r of records) {
    if (r.dataset.balanced) continue;
    const key = `${r.name}\u0000${r.epochs}`;
    byName.set(key, [...(byName.get(key) ?? []), r]);
  }
  const namesWithBudgets = new Map<string, number>();
  for (const key of byName.keys()) {
    const name = key.split('\u0000')[0];
    namesWithBudgets.set(name, (namesWithBudgets.get(name) ?? 0) + 1);
  }
  const runs: Record<string, BaselineRun> = {};
  for (const [key, rs] of [...byName.entries()].sort()) {
    const [name, epochs] = key.split('\u0000');
    // Several budgets sharing a name get one entry each, keyed `name@epochs`.
    const entryKey = (namesWithBudgets.get(name) ?? 0) > 1 ? `${name}@${epochs}` : name;
    const run: BaselineRun = { epochs: Number(epochs), metrics: {} };
    for (const m of metrics) {
      const values = rs.map((r) => measure(r, m, index, checkpoint).value);
      if (values.some((v) => v === null)) continue;
      const mean = (values as number[]).reduce((s, v) => s + v, 0) / values.length;
      run.metrics[m] = { expected: Math.round(mean * 100) / 100, tolerance, direction };
    }
    runs[entryKey] = run;
  }
  return { checkpoint, runs };
}

/** Serialises a baseline as YAML (the shorthand is not used, so every tolerance is explicit). */
export function stringifyBaseline(b: Baseline): string {
  const runs: Record<string, unknown> = {};
  for (const [name, run] of Object.entries(b.runs)) {
    const entry: Record<string, unknown> = {};
    if (run.epochs !== undefined) entry.epochs = run.epochs;
    for (const [m, e] of Object.entries(run.metrics)) entry[m] = { expected: e!.expected, tolerance: e!.tolerance, direction: e!.direction };
    runs[name] = entry;
  }
  return `# lt-bench regression baseline (lt-bench check --baseline <this file>)\n${YAML.stringify({ checkpoint: b.checkpoint, runs })}`;
}

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
 *
 * A baseline made from several training seeds (`check --update --seeds 0,1,2,3,4`) records how
 * its tolerances were derived: `rule` (tolerance = max(sigmas·σ, floor), σ the sample standard
 * deviation over `seeds`), per metric the per-seed `values`, `mean` and `std`, and as `expected`
 * the value of the first seed (the run CI repeats). It also records the seed-0 runs' backend and
 * thread count, so `check --exact` can demand an exact reproduction where runs are deterministic.
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
  /** Where the tolerance came from: the value of each seed (in the baseline's `seeds` order), their mean and sample std. */
  spread?: Spread;
}

export interface Spread {
  values: number[];
  mean: number;
  std: number;
}

/** tolerance = max(sigmas · σ, floor), in percentage points. */
export interface ToleranceRule {
  sigmas: number;
  floor: number;
}

export const DEFAULT_RULE: ToleranceRule = { sigmas: 3, floor: 1 };

/** Where the expected values were measured: the runs an exact check compares with. */
export interface BaselineEnvironment {
  backend: string;
  /** Compute threads of the backend; null where the records do not say. */
  threads: number | null;
  /** Code version of the records (informational: an exact match is expected across code changes that keep the numerics). */
  ltBench?: string;
  gitCommit?: string | null;
}

export interface BaselineRun {
  epochs?: number;
  metrics: Partial<Record<CheckMetric, Expectation>>;
}

export interface Baseline {
  checkpoint: Checkpoint;
  runs: Record<string, BaselineRun>;
  /** Set by a baseline made from several seeds. */
  rule?: ToleranceRule;
  seeds?: number[];
  /** The seed whose values are `expected` (the first of `seeds`). */
  expectedSeed?: number;
  /** Decimals the expected values are rounded to (an exact check compares at this precision). */
  precision?: number;
  environment?: BaselineEnvironment;
}

export type CheckStatus = 'ok' | 'improved' | 'regressed' | 'deviated' | 'missing' | 'mismatch';

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
  /** False when any line regressed, deviated (direction both), mismatched (exact) or is missing. */
  ok: boolean;
  /** `tolerance`: within each tolerance; `exact`: the expected seed's values reproduced at the recorded precision. */
  mode?: 'tolerance' | 'exact';
  /** Exact mode: why the records cannot be expected to reproduce the baseline (another backend or thread count); empty when they can. */
  notComparable?: string[];
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
        if (value.values !== undefined || value.mean !== undefined || value.std !== undefined) {
          if (!Array.isArray(value.values) || !value.values.every((v) => typeof v === 'number')) fail(`${path}.values`, 'expected a list of numbers (one per seed)');
          if (typeof value.mean !== 'number') fail(`${path}.mean`, 'expected a number');
          if (typeof value.std !== 'number' || value.std < 0) fail(`${path}.std`, 'expected a number ≥ 0');
          e.spread = { values: value.values as number[], mean: value.mean as number, std: value.std as number };
        }
        const extra = Object.keys(value).filter((k) => !['expected', 'tolerance', 'direction', 'values', 'mean', 'std'].includes(k));
        if (extra.length > 0) fail(`${path}.${extra[0]}`, 'unknown key; use expected, tolerance, direction (and values, mean, std from --update --seeds)');
      } else return fail(path, 'expected a number or {expected, tolerance?, direction?}');
      run.metrics[key as CheckMetric] = e;
    }
    runs[name] = run;
  }
  const baseline: Baseline = { checkpoint: checkpoint as Checkpoint, runs };
  if (raw.rule !== undefined) {
    const r = raw.rule;
    if (!isObject(r) || typeof r.sigmas !== 'number' || typeof r.floor !== 'number') fail('rule', 'expected {sigmas: number, floor: number} (tolerance = max(sigmas·σ, floor))');
    baseline.rule = { sigmas: (r as Record<string, number>).sigmas, floor: (r as Record<string, number>).floor };
  }
  if (raw.seeds !== undefined) {
    if (!Array.isArray(raw.seeds) || raw.seeds.length === 0 || !raw.seeds.every((v) => Number.isInteger(v))) fail('seeds', 'expected a list of integer seeds');
    baseline.seeds = raw.seeds as number[];
  }
  if (raw.expectedSeed !== undefined) {
    if (!Number.isInteger(raw.expectedSeed)) fail('expectedSeed', 'expected an integer seed');
    baseline.expectedSeed = raw.expectedSeed as number;
  }
  if (raw.precision !== undefined) {
    if (!Number.isInteger(raw.precision) || (raw.precision as number) < 0 || (raw.precision as number) > 10) fail('precision', 'expected an integer number of decimals, 0–10');
    baseline.precision = raw.precision as number;
  }
  if (raw.environment !== undefined) {
    const env = raw.environment;
    if (!isObject(env) || typeof env.backend !== 'string') fail('environment.backend', 'expected the backend name');
    const e = env as Record<string, unknown>;
    if (e.threads !== null && e.threads !== undefined && !Number.isInteger(e.threads)) fail('environment.threads', 'expected an integer or null');
    baseline.environment = {
      backend: e.backend as string,
      threads: (e.threads as number | undefined) ?? null,
      ...(typeof e.ltBench === 'string' ? { ltBench: e.ltBench } : {}),
      ...(e.gitCommit !== undefined ? { gitCommit: (e.gitCommit as string | null) ?? null } : {}),
    };
  }
  return baseline;
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

/** The records a baseline entry checks, or why it cannot pick them (several budgets share the name). */
function matchEntry(records: RunRecord[], key: string, run: BaselineRun): { matching: RunRecord[]; ambiguity?: string } {
  const at = /^(.*)@(\d+)$/.exec(key);
  const name = at ? at[1] : key;
  const epochs = run.epochs ?? (at ? Number(at[2]) : undefined);
  // Balanced twins may share the recipe name; they are references, not the runs under test.
  const matching = records.filter((r) => r.name === name && !r.dataset.balanced && (epochs === undefined || r.epochs === epochs));
  const budgets = [...new Set(matching.map((r) => r.epochs))].sort((a, b) => a - b);
  if (budgets.length > 1) return { matching: [], ambiguity: `runs named ${name} exist for epochs ${budgets.join(', ')}; add \`epochs:\` to the baseline entry` };
  return { matching };
}

/**
 * Compares records with a baseline. `records` should be every loaded record (balanced runs too,
 * for UA/RA); runs are matched by `name` (and `epochs` when the baseline gives it).
 */
export function checkRecords(records: RunRecord[], baseline: Baseline): CheckResult {
  const index = new RecordIndex(records);
  const lines: CheckLine[] = [];
  for (const [key, run] of Object.entries(baseline.runs)) {
    const { matching, ambiguity } = matchEntry(records, key, run);
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
  return { lines, ok: lines.every((l) => l.status === 'ok' || l.status === 'improved'), mode: 'tolerance' };
}

/** `x` rounded to `decimals` (half away from zero, as people round by hand). */
export function roundTo(x: number, decimals: number): number {
  const f = 10 ** decimals;
  // The 1e-9 nudge: 77.89999999999999 (a mean of 0.1-step accuracies) must round like 77.9.
  return (Math.sign(x) * Math.round(Math.abs(x) * f + 1e-9)) / f;
}

/**
 * `check --exact`: the baseline's expected-seed runs reproduced value for value (at the baseline's
 * precision), for records made where runs are deterministic: the same backend and thread count as
 * the baseline's. Records from elsewhere make the result not comparable (`notComparable`), never a
 * mismatch. Needs a baseline made by `--update --seeds` (it records the seed and environment).
 */
export function checkExact(records: RunRecord[], baseline: Baseline): CheckResult {
  const env = baseline.environment;
  const seed = baseline.expectedSeed;
  if (!env || seed === undefined) {
    throw new Error('this baseline records no expectedSeed and environment (backend, threads); an exact check needs a baseline made by `check --update --seeds …`');
  }
  const precision = baseline.precision ?? 2;
  const index = new RecordIndex(records);
  const lines: CheckLine[] = [];
  const notComparable = new Set<string>();
  for (const [key, run] of Object.entries(baseline.runs)) {
    const found = matchEntry(records, key, run);
    const matching = found.matching.filter((r) => r.seeds.train === seed);
    for (const r of matching) {
      const threads = r.environment.threads ?? null;
      if (r.environment.backend !== env.backend || threads !== env.threads) {
        notComparable.add(`${key} (run ${r.runId}) ran on ${describeEnv(r.environment.backend, threads)}; the baseline on ${describeEnv(env.backend, env.threads)}`);
      }
    }
    for (const [metric, e] of Object.entries(run.metrics) as Array<[CheckMetric, Expectation]>) {
      const base = { run: key, metric, expected: e.expected, tolerance: 0 };
      const values = matching.map((r) => measure(r, metric, index, baseline.checkpoint));
      const missing = values.find((v) => v.value === null);
      if (values.length === 0 || missing) {
        const reason = found.ambiguity ?? (values.length === 0 ? `no finished run with this name and seed ${seed}` : (missing?.reason ?? 'no value'));
        lines.push({ ...base, measured: null, delta: null, n: 0, status: 'missing', reason });
        continue;
      }
      // Several records of the expected seed (e.g. another code version's run id): each must reproduce.
      const worst = values.map((v) => v.value as number).reduce((w, v) => (Math.abs(roundTo(v, precision) - e.expected) > Math.abs(roundTo(w, precision) - e.expected) ? v : w));
      const measured = roundTo(worst, precision);
      const delta = measured - e.expected;
      const status: CheckStatus = Math.abs(delta) < 0.5 * 10 ** -precision ? 'ok' : 'mismatch';
      lines.push({ ...base, measured, delta, n: values.length, status });
    }
  }
  const result: CheckResult = { lines, ok: lines.every((l) => l.status === 'ok'), mode: 'exact', notComparable: [...notComparable] };
  return result;
}

function describeEnv(backend: string, threads: number | null): string {
  return threads === null ? `${backend} (thread count not recorded)` : `${backend} with ${threads} thread${threads === 1 ? '' : 's'}`;
}

/** Sample standard deviation (n − 1 in the denominator); 0 for fewer than two values. */
export function sampleStd(values: number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
}

/**
 * The tolerance of one metric from its spread over seeds: max(sigmas · σ, floor), rounded up to
 * `precision` decimals so the recorded tolerance is never tighter than the rule.
 */
export function toleranceFromSpread(values: number[], rule: ToleranceRule = DEFAULT_RULE, precision = 2): number {
  const raw = Math.max(rule.sigmas * sampleStd(values), rule.floor);
  const f = 10 ** precision;
  // The 1e-9: a tolerance that is already a multiple of 10^-precision must not round up a step.
  return Math.ceil(raw * f - 1e-9) / f;
}

/** A plain-text report: one aligned line per check, then a summary line. */
export function formatCheck(result: CheckResult): string {
  const header = ['run', 'metric', 'expected', 'measured', 'delta', 'tol', 'n', 'status'];
  // A float residue like -1e-14 prints as +0.00, not -0.00.
  const f = (x: number | null, signed = false) => (x === null ? '—' : `${signed && x >= -0.005 ? '+' : ''}${(Math.abs(x) < 0.005 ? 0 : x).toFixed(2)}`);
  const rows = result.lines.map((l) => [l.run, l.metric, f(l.expected), f(l.measured), f(l.delta, true), f(l.tolerance), String(l.n), l.status.toUpperCase()]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = new Set([2, 3, 4, 5, 6]);
  const line = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line)];
  const reasons = result.lines.filter((l) => l.reason).map((l) => `${l.run} ${l.metric}: ${l.reason}`);
  if (reasons.length > 0) out.push('', ...reasons);
  const bad = result.lines.filter((l) => l.status === 'regressed' || l.status === 'deviated' || l.status === 'missing' || l.status === 'mismatch').length;
  const improved = result.lines.filter((l) => l.status === 'improved').length;
  const notComparable = result.notComparable ?? [];
  if (result.mode === 'exact') {
    out.push('', ...notComparable.map((n) => `not comparable: ${n}`));
    out.push(
      notComparable.length > 0
        ? 'NOT COMPARABLE: exact reproduction is only expected on the baseline\'s backend and thread count; use `check` without --exact'
        : result.ok
          ? `EXACT: ${result.lines.length} values reproduced exactly`
          : `FAILED: ${bad} of ${result.lines.length} values differ from the baseline's or are missing`,
    );
    return `${out.join('\n')}\n`;
  }
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

/**
 * A baseline from the runs of several training seeds (`check --update --seeds 0,1,2,3,4`): for
 * every finished long-tailed run name, each metric's value per seed, their mean and sample std,
 * tolerance = max(rule.sigmas · σ, rule.floor), and as `expected` the first seed's value (the run
 * CI repeats), all rounded to `precision` decimals. It records the rule, the seeds and the first
 * seed's backend and thread count (for `check --exact`). Every seed must have exactly one record
 * per run name; a missing seed or mixed environments among the first seed's runs are errors.
 */
export function baselineFromSeeds(
  records: RunRecord[],
  options: { seeds: number[]; metrics?: CheckMetric[]; rule?: ToleranceRule; checkpoint?: Checkpoint; direction?: Direction; precision?: number },
): Baseline {
  const { seeds } = options;
  if (seeds.length < 2) throw new Error(`--seeds: a spread needs at least 2 seeds (5 or more recommended), got ${seeds.join(',') || 'none'}`);
  if (new Set(seeds).size !== seeds.length) throw new Error(`--seeds: ${seeds.join(',')} repeats a seed`);
  const metrics = options.metrics ?? ['top1', 'head', 'middle', 'tail'];
  const checkpoint = options.checkpoint ?? 'last';
  const rule = options.rule ?? DEFAULT_RULE;
  const direction = options.direction ?? 'higher';
  const precision = options.precision ?? 2;
  const index = new RecordIndex(records);
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    if (r.dataset.balanced || r.status !== 'finished') continue;
    const key = `${r.name}@${r.epochs}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const names = new Map<string, number>();
  for (const key of groups.keys()) names.set(key.replace(/@\d+$/, ''), (names.get(key.replace(/@\d+$/, '')) ?? 0) + 1);
  const runs: Record<string, BaselineRun> = {};
  const firstSeedRecords: RunRecord[] = [];
  for (const [key, rs] of [...groups.entries()].sort()) {
    const name = key.replace(/@\d+$/, '');
    const epochs = Number(key.slice(name.length + 1));
    const perSeed = seeds.map((seed) => {
      const of = rs.filter((r) => r.seeds.train === seed);
      if (of.length === 0) throw new Error(`${name} (${epochs} epochs): no finished record of seed ${seed}; train it first (lt-bench sweep … --seeds ${seeds.join(',')})`);
      if (of.length > 1) throw new Error(`${name} (${epochs} epochs): ${of.length} records of seed ${seed} (${of.map((r) => r.runId).join(', ')}); keep one (another code version's runs belong in another results directory)`);
      return of[0];
    });
    firstSeedRecords.push(perSeed[0]);
    const run: BaselineRun = { epochs, metrics: {} };
    for (const m of metrics) {
      const measured = perSeed.map((r) => measure(r, m, index, checkpoint).value);
      if (measured.some((v) => v === null)) continue;
      const values = (measured as number[]).map((v) => roundTo(v, precision));
      const raw = measured as number[];
      run.metrics[m] = {
        expected: values[0],
        tolerance: toleranceFromSpread(raw, rule, precision),
        direction,
        spread: { values, mean: roundTo(raw.reduce((s, v) => s + v, 0) / raw.length, precision), std: roundTo(sampleStd(raw), precision) },
      };
    }
    runs[(names.get(name) ?? 0) > 1 ? key : name] = run;
  }
  if (firstSeedRecords.length === 0) throw new Error('no finished long-tailed run records to make a baseline from');
  const envs = new Map(firstSeedRecords.map((r) => [describeEnv(r.environment.backend, r.environment.threads ?? null), r]));
  if (envs.size > 1) throw new Error(`the seed-${seeds[0]} runs ran on different backends or thread counts (${[...envs.keys()].join('; ')}); make the baseline from runs of one environment`);
  const first = firstSeedRecords[0];
  return {
    checkpoint,
    runs,
    rule,
    seeds,
    expectedSeed: seeds[0],
    precision,
    environment: { backend: first.environment.backend, threads: first.environment.threads ?? null, ltBench: first.environment.ltBench, gitCommit: first.environment.gitCommit ?? null },
  };
}

/**
 * Serialises a baseline as YAML (the shorthand is not used, so every tolerance is explicit).
 * `madeBy` lines (the commands that made it) go into the header comment.
 */
export function stringifyBaseline(b: Baseline, madeBy: string[] = []): string {
  const runs: Record<string, unknown> = {};
  for (const [name, run] of Object.entries(b.runs)) {
    const entry: Record<string, unknown> = {};
    if (run.epochs !== undefined) entry.epochs = run.epochs;
    for (const [m, e] of Object.entries(run.metrics)) {
      entry[m] = { expected: e!.expected, tolerance: e!.tolerance, direction: e!.direction, ...(e!.spread ? { values: e!.spread.values, mean: e!.spread.mean, std: e!.spread.std } : {}) };
    }
    runs[name] = entry;
  }
  const head = ['# lt-bench regression baseline (lt-bench check --baseline <this file>)'];
  if (b.rule && b.seeds) {
    head.push(
      `# Generated: expected = the seed-${b.expectedSeed ?? b.seeds[0]} value; tolerance = max(${b.rule.sigmas}σ, ${b.rule.floor} point${b.rule.floor === 1 ? '' : 's'}),`,
      `# σ = the sample standard deviation over seeds ${b.seeds.join(', ')} (values, mean, std per metric).`,
    );
  }
  if (madeBy.length > 0) head.push('# Made by:', ...madeBy.map((c) => `#   ${c}`));
  const body: Record<string, unknown> = { checkpoint: b.checkpoint };
  if (b.rule) body.rule = b.rule;
  if (b.seeds) body.seeds = b.seeds;
  if (b.expectedSeed !== undefined) body.expectedSeed = b.expectedSeed;
  if (b.precision !== undefined) body.precision = b.precision;
  if (b.environment) body.environment = b.environment;
  body.runs = runs;
  const doc = new YAML.Document(body);
  // Lists (seeds, per-seed values) on one line each: a baseline is read by people in review.
  YAML.visit(doc, {
    Seq(_, node) {
      node.flow = true;
    },
  });
  return `${head.join('\n')}\n${doc.toString({ flowCollectionPadding: false })}`;
}

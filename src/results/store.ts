/**
 * The results store: scans a results directory (`<dir>/<run-id>/run.json`), loads and checks the
 * run records, and answers the queries tables, figures and regression checks need.
 *
 * Only finished runs are returned; unfinished ones are counted in `skipped` so the caller can say
 * why a cell is empty. Unreadable or malformed records never stop the scan: each becomes one line
 * in `problems` (what, where), because one broken directory must not hide a whole table.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EpochLine, EvalMetrics, RunRecord } from './types.js';

export interface LoadResult {
  /** Finished, well-formed records, sorted by runId for reproducible output. */
  records: RunRecord[];
  /** One line per directory that could not be read or whose run.json is malformed. */
  problems: string[];
  /** One line per record that was skipped because its run is not finished. */
  skipped: string[];
}

export interface LoadOptions {
  /** Also return runs whose status is not 'finished' (default false). */
  includeUnfinished?: boolean;
}

/** Directory of one run inside a results directory. */
export function runDir(resultsDir: string, runId: string): string {
  return join(resultsDir, runId);
}

/**
 * Loads every `<resultsDir>/<entry>/run.json`. Directories without a run.json (e.g. `reference/`)
 * are ignored silently; a missing results directory yields no records and one problem line.
 */
export async function loadRecords(resultsDir: string, options: LoadOptions = {}): Promise<LoadResult> {
  const out: LoadResult = { records: [], problems: [], skipped: [] };
  let entries: string[];
  try {
    entries = (await readdir(resultsDir)).sort();
  } catch (err) {
    out.problems.push(`${resultsDir}: cannot read results directory (${(err as Error).message})`);
    return out;
  }
  for (const entry of entries) {
    const dir = join(resultsDir, entry);
    const file = join(dir, 'run.json');
    try {
      if (!(await stat(dir)).isDirectory()) continue;
    } catch {
      continue;
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      out.problems.push(`${file}: unreadable (${(err as Error).message})`);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      out.problems.push(`${file}: not valid JSON (${(err as Error).message}); move it aside and rebuild it with: lt-bench runs repair ${entry} --results ${resultsDir}`);
      continue;
    }
    const issues = validateRecord(parsed);
    if (issues.length > 0) {
      out.problems.push(`${file}: malformed run record: ${issues.join('; ')}`);
      continue;
    }
    const record = parsed as RunRecord;
    if (record.runId !== entry) {
      out.problems.push(`${file}: runId "${record.runId}" differs from its directory name "${entry}" (using the record's runId)`);
    }
    if (record.status !== 'finished' && !options.includeUnfinished) {
      out.skipped.push(`${record.runId} (${record.name}, ${record.epochs} epoch${record.epochs === 1 ? '' : 's'}): status ${record.status}`);
      continue;
    }
    out.records.push(record);
  }
  out.records.sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
  return out;
}

/**
 * Checks the fields that tables, figures and checks read. Returns the problems found (empty when
 * the record is usable); each names the key path so a user can find it in run.json.
 */
export function validateRecord(value: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(value)) return ['not a JSON object'];
  const r = value;
  if (r.schemaVersion !== 1) problems.push(`schemaVersion: expected 1, found ${JSON.stringify(r.schemaVersion)}`);
  for (const key of ['runId', 'name', 'backbone', 'recipeHash'] as const) {
    if (typeof r[key] !== 'string') problems.push(`${key}: expected a string`);
  }
  if (!['running', 'finished', 'failed', 'interrupted'].includes(r.status as string)) {
    problems.push(`status: expected running|finished|failed|interrupted, found ${JSON.stringify(r.status)}`);
  }
  if (r.recipePath !== null && typeof r.recipePath !== 'string') problems.push('recipePath: expected a string or null');
  if (!isFiniteNumber(r.epochs)) problems.push('epochs: expected a number');
  const method = r.method;
  if (!isObject(method) || typeof method.name !== 'string' || typeof method.family !== 'string' || !isObject(method.params)) {
    problems.push('method: expected {name, family, tag, params}');
  }
  const dataset = r.dataset;
  if (!isObject(dataset) || typeof dataset.name !== 'string' || typeof dataset.balanced !== 'boolean' || !Array.isArray(dataset.classCounts)) {
    problems.push('dataset: expected {name, balanced, classCounts, ...}');
  }
  const seeds = r.seeds;
  if (!isObject(seeds) || !isFiniteNumber(seeds.train)) problems.push('seeds.train: expected a number');
  const metrics = r.metrics;
  if (!isObject(metrics)) {
    problems.push('metrics: expected an object');
  } else {
    for (const key of ['last', 'best', 'valLast'] as const) {
      if (metrics[key] !== null && metrics[key] !== undefined) {
        const m = checkMetrics(metrics[key]);
        if (m) problems.push(`metrics.${key}: ${m}`);
      }
    }
    if (r.status === 'finished' && !metrics.last) problems.push('metrics.last: a finished run must have last-epoch metrics');
  }
  if (r.reference !== null && r.reference !== undefined) {
    const ref = r.reference;
    if (!isObject(ref)) problems.push('reference: expected an object or null');
    else {
      for (const key of ['vanillaBalancedRunId', 'methodBalancedRunId'] as const) {
        if (ref[key] !== null && ref[key] !== undefined && typeof ref[key] !== 'string') problems.push(`reference.${key}: expected a string or null`);
      }
    }
  }
  const env = r.environment;
  if (!isObject(env) || typeof env.ltBench !== 'string') problems.push('environment.ltBench: expected a string');
  if (r.table7 !== undefined) {
    const t = r.table7;
    if (!isObject(t) || typeof t.stage1Loss !== 'string' || !['joint', 'ncm', 'crt', 'lws', 'tau-norm'].includes(t.classifier as string)) {
      problems.push('table7: expected {stage1Loss: string, classifier: joint|ncm|crt|lws|tau-norm}');
    }
  }
  return problems;
}

function checkMetrics(value: unknown): string | null {
  if (!isObject(value)) return 'expected an object';
  if (!isFiniteNumber(value.top1)) return 'top1: expected a number';
  if (!Array.isArray(value.perClass)) return 'perClass: expected an array';
  if (!isObject(value.groups)) return 'groups: expected {head, middle, tail}';
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Reads `epochs.jsonl` of a run; a torn last line (a run killed mid-write) is reported, not fatal. */
export async function loadEpochs(dir: string): Promise<{ lines: EpochLine[]; problems: string[] }> {
  const file = join(dir, 'epochs.jsonl');
  const problems: string[] = [];
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { lines: [], problems: [`${file}: unreadable (${(err as Error).message})`] };
  }
  const lines: EpochLine[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const parsed = JSON.parse(line) as EpochLine;
      if (!isFiniteNumber(parsed.epoch)) throw new Error('no epoch number');
      lines.push(parsed);
    } catch (err) {
      problems.push(`${file}:${i + 1}: skipped (${(err as Error).message})`);
    }
  });
  // A resumed run may re-append an epoch; the later line wins.
  const byEpoch = new Map<number, EpochLine>();
  for (const l of lines) byEpoch.set(l.epoch, l);
  return { lines: [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch), problems };
}

/** Which checkpoint a table reports. */
export type Checkpoint = 'last' | 'best';

/** The test metrics of a record at the chosen checkpoint (null when that checkpoint was not evaluated). */
export function metricsOf(record: RunRecord, checkpoint: Checkpoint): EvalMetrics | null {
  return checkpoint === 'best' ? record.metrics.best : record.metrics.last;
}

/** The code version a record was produced by, for flagging mixed versions. */
export function codeVersion(record: RunRecord): string {
  const commit = record.environment.gitCommit;
  return commit ? `${record.environment.ltBench}@${commit.slice(0, 12)}` : record.environment.ltBench;
}

/** Query helpers over a loaded record set. */
export class RecordIndex {
  private readonly byRunId = new Map<string, RunRecord>();

  constructor(readonly records: RunRecord[]) {
    for (const r of records) this.byRunId.set(r.runId, r);
  }

  get(runId: string): RunRecord | undefined {
    return this.byRunId.get(runId);
  }

  /** Records matching every given criterion; `balanced` defaults to "either". */
  query(q: { dataset?: string; method?: string; epochs?: number; name?: string; balanced?: boolean; backbone?: string }): RunRecord[] {
    return this.records.filter(
      (r) =>
        (q.dataset === undefined || r.dataset.name === q.dataset) &&
        (q.method === undefined || r.method.name === q.method) &&
        (q.epochs === undefined || r.epochs === q.epochs) &&
        (q.name === undefined || r.name === q.name) &&
        (q.backbone === undefined || r.backbone === q.backbone) &&
        (q.balanced === undefined || r.dataset.balanced === q.balanced),
    );
  }
}

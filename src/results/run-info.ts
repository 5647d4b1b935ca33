/**
 * `lt-bench runs show <id>` and `runs diff <a> <b>`: one run's record, resolved recipe and
 * metrics; two runs' differing recipe keys and their metrics side by side.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as yamlParse } from 'yaml';
import { lockPath, readLock, staleReason, type LockInfo } from './lock.js';
import { readEpochLines, readRecord } from './record.js';
import { findRunDir } from './run-dir.js';
import type { EpochLine, RunRecord } from './types.js';

export interface RunInfo {
  dir: string;
  record: RunRecord;
  /** The resolved recipe (recipe.resolved.yaml), null when absent or unreadable. */
  recipe: Record<string, unknown> | null;
  epochs: EpochLine[];
  /** The live holder of the run's lock, if a trainer has it now. */
  heldBy: LockInfo | null;
}

export function showRun(resultsDir: string, id: string): RunInfo {
  const dir = findRunDir(resultsDir, id);
  const record = readRecord(dir);
  if (!record) throw new Error(`${path.join(dir, 'run.json')}: no run record`);
  let recipe: Record<string, unknown> | null = null;
  const recipeFile = path.join(dir, 'recipe.resolved.yaml');
  if (existsSync(recipeFile)) {
    try {
      recipe = yamlParse(readFileSync(recipeFile, 'utf8')) as Record<string, unknown>;
    } catch {
      recipe = null;
    }
  }
  const lock = readLock(lockPath(path.dirname(dir), path.basename(dir)));
  return { dir, record, recipe, epochs: readEpochLines(dir), heldBy: lock && !staleReason(lock) ? lock : null };
}

/** Nested keys as dotted paths (`train.optimizer.lr`); arrays are leaves. */
export function flattenKeys(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flattenKeys(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = value;
  }
  return out;
}

/** The metrics show and diff print, by name (null where the run has none). */
export function runMetrics(r: RunRecord): Record<string, number | string | null> {
  const last = r.metrics?.last;
  const best = r.metrics?.best;
  return {
    status: r.status,
    epochs: r.epochs,
    'acc.last': last?.top1 ?? null,
    'head.last': last?.groups.head ?? null,
    'middle.last': last?.groups.middle ?? null,
    'tail.last': last?.groups.tail ?? null,
    'acc.best': best?.top1 ?? null,
    bestEpoch: r.bestEpoch,
    'val.last': r.metrics?.valLast?.top1 ?? null,
    ua: r.reference?.ua ?? null,
    ra: r.reference?.ra ?? null,
    wallSeconds: r.timing?.wallSeconds ?? null,
    trainImagesPerSec: r.timing?.trainImagesPerSec ?? null,
    backend: r.environment?.backend ?? null,
  };
}

export interface RunDiff {
  a: string;
  b: string;
  /** Resolved-recipe keys whose values differ (absent on one side: undefined → null). */
  recipe: Array<{ key: string; a: unknown; b: unknown }>;
  metrics: Array<{ name: string; a: number | string | null; b: number | string | null }>;
}

export function diffRuns(resultsDir: string, idA: string, idB: string): RunDiff {
  const a = showRun(resultsDir, idA);
  const b = showRun(resultsDir, idB);
  const fa = flattenKeys(a.recipe ?? {});
  const fb = flattenKeys(b.recipe ?? {});
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
  const recipe = keys.filter((k) => JSON.stringify(fa[k]) !== JSON.stringify(fb[k])).map((key) => ({ key, a: fa[key] ?? null, b: fb[key] ?? null }));
  const ma = runMetrics(a.record);
  const mb = runMetrics(b.record);
  return { a: a.record.runId, b: b.record.runId, recipe, metrics: Object.keys(ma).map((name) => ({ name, a: ma[name], b: mb[name] })) };
}

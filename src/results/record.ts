/**
 * The run directory `results/<run-id>/`: `recipe.resolved.yaml`, `run.json`, `epochs.jsonl`,
 * `per-class.csv`, `last/`, `best/`. Every file is written atomically; `epochs.jsonl` is
 * append-only (trimmed back to the checkpoint on resume, which rewrites it atomically).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LtBenchError } from '../errors.js';
import { appendRunLog } from './run-log.js';
import { stringify as csvStringify } from 'csv-stringify/sync';
import { stringify as yamlStringify } from 'yaml';
import type { Recipe } from '../recipe/schema.js';
import { writeFileAtomic, writeJsonAtomic } from './atomic.js';
import type { EpochLine, RunRecord } from './types.js';

export const RUN_FILE = 'run.json';
export const EPOCHS_FILE = 'epochs.jsonl';

/** A run.json that does not parse (a torn write, a full disk, a hand edit): names it and the repair. */
export class CorruptRecordError extends LtBenchError {
  constructor(readonly file: string, reason: string) {
    const dir = path.dirname(file);
    super(`${file}: unreadable run record (${reason}); move it aside and rebuild it with: lt-bench runs repair ${path.basename(dir)} --results ${path.dirname(dir)}`, 1);
  }
}

/** The run's record, null when there is none; a corrupt one throws CorruptRecordError. */
export function readRecord(dir: string): RunRecord | null {
  const file = path.join(dir, RUN_FILE);
  if (!existsSync(file)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CorruptRecordError(file, (e as Error).message);
  }
  const r = parsed as Partial<RunRecord> | null;
  if (typeof r !== 'object' || r === null || typeof r.runId !== 'string' || typeof r.status !== 'string') {
    throw new CorruptRecordError(file, 'not a run record: no runId or status');
  }
  return r as RunRecord;
}

/** readRecord for scans over many runs: a corrupt record is reported through `warn` and skipped. */
export function readRecordOrWarn(dir: string, warn: (message: string) => void): RunRecord | null {
  try {
    return readRecord(dir);
  } catch (e) {
    if (!(e instanceof CorruptRecordError)) throw e;
    warn(e.message);
    return null;
  }
}

export function writeRecord(dir: string, record: RunRecord): void {
  writeJsonAtomic(path.join(dir, RUN_FILE), record);
}

/**
 * Marks a run that stopped early: 'interrupted' after Ctrl-C (exit 130), 'failed' otherwise, with
 * the error kept in the record and the run's log.txt. A write that fails here (a full disk) is
 * logged, not thrown, so the caller rethrows the error that stopped the run.
 */
export function writeStoppedRecord(dir: string, record: RunRecord, error: unknown, wallSeconds: number): void {
  const exitCode = (error as { exitCode?: number }).exitCode;
  record.status = exitCode === 130 ? 'interrupted' : 'failed';
  record.timing.wallSeconds = wallSeconds;
  const e = error instanceof Error ? error : new Error(String(error));
  record.error = { message: e.message, name: e.name, exitCode: typeof exitCode === 'number' ? exitCode : 1, at: new Date().toISOString() };
  appendRunLog(dir, `${record.status}: ${e.name}: ${e.message}${exitCode === undefined && e.stack ? `\n${e.stack}` : ''}`);
  try {
    writeRecord(dir, record);
  } catch (w) {
    appendRunLog(dir, `could not write ${RUN_FILE}: ${(w as Error).message}`);
  }
}

export function writeResolvedRecipe(dir: string, recipe: Recipe, header: string): void {
  writeFileAtomic(path.join(dir, 'recipe.resolved.yaml'), `# ${header}\n${yamlStringify(recipe)}`);
}

export function appendEpochLine(dir: string, line: EpochLine): void {
  appendFileSync(path.join(dir, EPOCHS_FILE), `${JSON.stringify(line)}\n`);
}

/** The epoch lines; lines that do not parse (a torn last line after kill -9 or a full disk) are left out. */
export function readEpochLines(dir: string): EpochLine[] {
  return readEpochFile(dir).lines;
}

function readEpochFile(dir: string): { lines: EpochLine[]; clean: boolean } {
  const file = path.join(dir, EPOCHS_FILE);
  if (!existsSync(file)) return { lines: [], clean: true };
  const text = readFileSync(file, 'utf8');
  const lines: EpochLine[] = [];
  let clean = text === '' || text.endsWith('\n');
  for (const l of text.split('\n')) {
    if (!l.trim()) continue;
    try {
      const parsed = JSON.parse(l) as EpochLine;
      if (typeof parsed?.epoch !== 'number') throw new Error('no epoch');
      lines.push(parsed);
    } catch {
      clean = false;
    }
  }
  return { lines, clean };
}

/**
 * Drops epoch lines past `epochsDone` (written after the last checkpoint a resumed run starts
 * from) and any torn line, so that the lines appended next start on a line of their own.
 */
export function trimEpochLines(dir: string, epochsDone: number): void {
  const { lines, clean } = readEpochFile(dir);
  const kept = lines.filter((l) => l.epoch <= epochsDone);
  if (kept.length !== lines.length || !clean) writeFileAtomic(path.join(dir, EPOCHS_FILE), kept.map((l) => `${JSON.stringify(l)}\n`).join(''));
}

export function writePerClassCsv(dir: string, record: RunRecord, classNames?: string[]): void {
  const rows = record.dataset.classCounts.map((n, c) => [
    c,
    classNames?.[c] ?? '',
    n,
    record.dataset.groups[c],
    fmt(record.metrics.last?.perClass[c]),
    fmt(record.metrics.best?.perClass[c]),
  ]);
  writeFileAtomic(
    path.join(dir, 'per-class.csv'),
    csvStringify(rows, { header: true, columns: ['class', 'name', 'train_count', 'group', 'acc_last', 'acc_best'] }),
  );
}

function fmt(v: number | undefined): string {
  return v === undefined || Number.isNaN(v) ? '' : v.toFixed(2);
}

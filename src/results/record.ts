/**
 * The run directory `results/<run-id>/`: `recipe.resolved.yaml`, `run.json`, `epochs.jsonl`,
 * `per-class.csv`, `last/`, `best/`. Every file is written atomically; `epochs.jsonl` is
 * append-only (trimmed back to the checkpoint on resume, which rewrites it atomically).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { stringify as csvStringify } from 'csv-stringify/sync';
import { stringify as yamlStringify } from 'yaml';
import type { Recipe } from '../recipe/schema.js';
import { writeFileAtomic, writeJsonAtomic } from './atomic.js';
import type { EpochLine, RunRecord } from './types.js';

export const RUN_FILE = 'run.json';
export const EPOCHS_FILE = 'epochs.jsonl';

export function readRecord(dir: string): RunRecord | null {
  const file = path.join(dir, RUN_FILE);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
}

export function writeRecord(dir: string, record: RunRecord): void {
  writeJsonAtomic(path.join(dir, RUN_FILE), record);
}

/** Marks a run that stopped early: 'interrupted' after Ctrl-C (exit 130), 'failed' otherwise. */
export function writeStoppedRecord(dir: string, record: RunRecord, error: unknown, wallSeconds: number): void {
  record.status = (error as { exitCode?: number }).exitCode === 130 ? 'interrupted' : 'failed';
  record.timing.wallSeconds = wallSeconds;
  writeRecord(dir, record);
}

export function writeResolvedRecipe(dir: string, recipe: Recipe, header: string): void {
  writeFileAtomic(path.join(dir, 'recipe.resolved.yaml'), `# ${header}\n${yamlStringify(recipe)}`);
}

export function appendEpochLine(dir: string, line: EpochLine): void {
  appendFileSync(path.join(dir, EPOCHS_FILE), `${JSON.stringify(line)}\n`);
}

export function readEpochLines(dir: string): EpochLine[] {
  const file = path.join(dir, EPOCHS_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EpochLine);
}

/** Drops epoch lines past `epochsDone` (written after the last checkpoint a resumed run starts from). */
export function trimEpochLines(dir: string, epochsDone: number): void {
  const lines = readEpochLines(dir);
  const kept = lines.filter((l) => l.epoch <= epochsDone);
  if (kept.length !== lines.length) writeFileAtomic(path.join(dir, EPOCHS_FILE), kept.map((l) => `${JSON.stringify(l)}\n`).join(''));
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

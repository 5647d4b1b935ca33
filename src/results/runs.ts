/** Listing run directories and removing the checkpoints of finished runs (`lt-bench runs`). */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { describeHolder, lockPath, readLock, staleReason } from './lock.js';
import { readRecordOrWarn } from './record.js';

export interface RunListing {
  runId: string;
  name: string;
  status: string;
  method: string;
  epochs: number;
  top1: number | null;
  checkpointBytes: number;
  /** The trainer holding the run's lock now, if any (a 'running' run without one was stopped). */
  heldBy: string | null;
}

/** Where scans report a record they skip (a corrupt run.json); the CLI prints these on stderr. */
export type Warn = (message: string) => void;

function dirBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

function runDirs(resultsDir: string): string[] {
  if (!existsSync(resultsDir)) return [];
  return readdirSync(resultsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(resultsDir, e.name, 'run.json')))
    .map((e) => path.join(resultsDir, e.name))
    .sort();
}

/** The live holder of a run's lock, described; null when free or stale. */
export function runHolder(resultsDir: string, runId: string): string | null {
  const lock = readLock(lockPath(resultsDir, runId));
  return lock && !staleReason(lock) ? describeHolder(lock) : null;
}

/** Every readable run record of a results directory; corrupt ones are named through `warn` and skipped. */
export function listRuns(resultsDir: string, warn: Warn = () => {}): RunListing[] {
  return runDirs(resultsDir).flatMap((dir) => {
    const r = readRecordOrWarn(dir, warn);
    if (!r) return [];
    return [{
      runId: r.runId,
      name: r.name,
      status: r.status,
      method: r.method?.name,
      epochs: r.epochs,
      top1: r.metrics?.last?.top1 ?? null,
      checkpointBytes: dirBytes(path.join(dir, 'last')) + dirBytes(path.join(dir, 'best')),
      heldBy: runHolder(resultsDir, path.basename(dir)),
    }];
  });
}

/** Removes last/ and best/ of finished runs; unfinished runs keep theirs (they resume from last/). */
export function removeCheckpoints(resultsDir: string, opts: { dryRun: boolean; warn?: Warn }): Array<{ path: string; bytes: number }> {
  const removed: Array<{ path: string; bytes: number }> = [];
  for (const dir of runDirs(resultsDir)) {
    if (readRecordOrWarn(dir, opts.warn ?? (() => {}))?.status !== 'finished') continue;
    for (const sub of ['last', 'best']) {
      const p = path.join(dir, sub);
      if (!existsSync(p)) continue;
      removed.push({ path: p, bytes: dirBytes(p) });
      if (!opts.dryRun) rmSync(p, { recursive: true, force: true });
    }
  }
  return removed;
}

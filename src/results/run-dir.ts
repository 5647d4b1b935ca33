/** Finding a run's directory from the id a user typed (the whole id or a unique prefix). */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

export function findRunDir(resultsDir: string, id: string): string {
  if (!id || id.includes('/') || id.includes(path.sep) || id === '.' || id === '..') throw new UsageError(`${id}: expected a run id (a directory name under ${resultsDir})`);
  if (!existsSync(resultsDir) || !statSync(resultsDir).isDirectory()) throw new UsageError(`${resultsDir}: no such results directory (use --results DIR)`);
  const exact = path.join(resultsDir, id);
  if (existsSync(exact) && statSync(exact).isDirectory()) return exact;
  const hits = readdirSync(resultsDir, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name.startsWith(id)).map((e) => e.name);
  if (hits.length === 1) return path.join(resultsDir, hits[0]);
  if (hits.length === 0) throw new UsageError(`${id}: no run of that id in ${resultsDir} (lt-bench runs ls --results ${resultsDir})`);
  throw new UsageError(`${id}: ambiguous, matches ${hits.slice(0, 5).join(', ')}${hits.length > 5 ? ', …' : ''}`);
}

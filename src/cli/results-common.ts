/**
 * Shared bits of the results commands (table, plot, check): where the paper's numbers live,
 * loading records with problems reported on stderr, and option parsing errors (exit code 2).
 */
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { loadRecords, type LoadResult } from '../index.js';

/** `results/reference/survey-tables.json` of the installed package (dist/src/cli → package root). */
export const DEFAULT_PAPER_FILE = fileURLToPath(new URL('../../../results/reference/survey-tables.json', import.meta.url));

export { DEFAULT_RESULTS_DIR } from './options.js';

export function choice<T extends string>(values: readonly T[]) {
  return (value: string): T => {
    if (!(values as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}`);
    return value as T;
  };
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** Loads records; prints unreadable ones (and, with verbose, skipped unfinished runs) to stderr. */
export async function loadForCommand(resultsDir: string, verbose = false): Promise<LoadResult> {
  const loaded = await loadRecords(resultsDir);
  for (const p of loaded.problems) process.stderr.write(`warning: ${p}\n`);
  if (verbose) for (const s of loaded.skipped) process.stderr.write(`skipped: ${s}\n`);
  return loaded;
}

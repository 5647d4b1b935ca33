/**
 * The options many commands share, declared in one place so they are spelt the same everywhere:
 * `--results <dir>` (where run records live) and `--data-root <dir>` (where a dataset's files are).
 * Older spellings (`--output`, `--root`) stay accepted as hidden aliases; giving an alias and the
 * new name with different values is a usage error (exit 2).
 */
import { Option, type Command } from 'commander';
import { isImageListDataset, UsageError, type Recipe } from '../index.js';

export const DEFAULT_RESULTS_DIR = 'results';

/** A commander parser for an integer flag ≥ `min` (a bad value is a usage error, exit 2). */
export const intOption = (flag: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} ${v}: expected an integer ≥ ${min}`);
  return n;
};

export const WORKERS_HELP = 'image decoding worker threads for image-list datasets (sets dataset.workers, not part of the run id; default: the cores given − 1, SLURM_CPUS_PER_TASK in a Slurm task; 0 decodes on the training thread)';

/**
 * `--workers N` on a recipe: image-list datasets decode in N workers; in-memory datasets decode
 * nothing, so they are left as they are (a sweep may mix both).
 */
export function withWorkers(recipe: Recipe, workers: number | undefined): Recipe {
  if (workers === undefined || !isImageListDataset(recipe.dataset.name)) return recipe;
  return { ...recipe, dataset: { ...recipe.dataset, workers } };
}

interface SharedOption {
  /** Help text; the aliases are appended to it. */
  description?: string;
  /** Older flags accepted for the same value, e.g. '--output'. */
  aliases?: string[];
}

export interface CommonOptions {
  /** `--results <dir>`; `default` is the value when neither it nor an alias is given. */
  results?: SharedOption & { default?: string };
  /** `--data-root <dir>`; `required` is checked after the aliases are applied. */
  dataRoot?: SharedOption & { required?: boolean };
}

/** The option values these declare, as the command's action sees them. */
export interface CommonValues {
  results?: string;
  dataRoot?: string;
}

function declare(cmd: Command, flags: string, attr: string, o: SharedOption & { default?: string; required?: boolean }, fallback: string): void {
  const aliases = o.aliases ?? [];
  const description = `${o.description ?? fallback}${aliases.length ? ` (alias ${aliases.join(', ')})` : ''}`;
  const main = new Option(flags, description);
  if (o.default !== undefined) main.default(o.default);
  cmd.addOption(main);
  const aliasOptions = aliases.map((a) => new Option(`${a} <dir>`).hideHelp());
  for (const a of aliasOptions) cmd.addOption(a);
  cmd.hook('preAction', (c) => {
    for (const a of aliasOptions) {
      const key = a.attributeName();
      const v = c.getOptionValue(key) as string | undefined;
      if (v === undefined) continue;
      if (c.getOptionValueSource(attr) === 'cli' && c.getOptionValue(attr) !== v) {
        throw new UsageError(`${a.long} is the old name of ${main.long}; give one of them (got ${v} and ${c.getOptionValue(attr)})`);
      }
      c.setOptionValueWithSource(attr, v, 'cli');
      c.setOptionValue(key, undefined);
    }
    if (o.required && c.getOptionValue(attr) === undefined) throw new UsageError(`${c.parent?.parent ? `${c.parent.name()} ` : ''}${c.name()}: required option '${flags}' not specified`);
  });
}

/** Adds the shared options to a command (before its own); returns the command for chaining. */
export function commonOptions<C extends Command>(cmd: C, which: CommonOptions): C {
  if (which.results) declare(cmd, '--results <dir>', 'results', which.results, 'results directory');
  if (which.dataRoot) declare(cmd, '--data-root <dir>', 'dataRoot', which.dataRoot, 'dataset directory (also LT_BENCH_DATA)');
  return cmd;
}

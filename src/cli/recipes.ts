/**
 * `lt-bench recipes [dir]`: the recipes shipped with lt-bench (or those under `dir`) with method,
 * dataset, backbone and epoch budget. Each is loaded as `run` would; one that does not load is
 * listed with its error (and the command exits 2), the others still are.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { LtBenchError, RecipeError, UsageError } from '../errors.js';
import { loadRecipe } from '../recipe/load.js';
import type { Recipe } from '../recipe/schema.js';
import { datasetTag } from '../runner.js';
import { epochsText } from '../results/tables.js';
import { isStagedRecipe, planStages } from '../stages/plan.js';
import { packageRoot } from '../version.js';

export interface RecipeEntry {
  /** Path relative to the listed directory. */
  file: string;
  name: string | null;
  method: string | null;
  /** `<dataset>-lt<ratio>`, `<dataset>-full`, `<dataset>-bal` or the image-list dataset's name. */
  dataset: string | null;
  backbone: string | null;
  /** Training epochs (stage 1 for two-stage recipes). */
  epochs: number | null;
  /** Stage-2 strategy and epochs of two-stage recipes. */
  stage2: { strategy: string; epochs: number } | null;
  reference: 'auto' | 'none' | null;
  error: string | null;
}

function describe(recipe: Recipe): Omit<RecipeEntry, 'file' | 'error'> {
  const stages = isStagedRecipe(recipe) ? planStages(recipe) : null;
  return {
    name: recipe.name ?? null,
    method: recipe.method.name,
    dataset: datasetTag(recipe),
    backbone: recipe.backbone.name,
    epochs: recipe.train.epochs,
    stage2: stages?.stage2 ? { strategy: stages.stage2.strategy, epochs: stages.stage2.epochs } : null,
    reference: recipe.reference,
  };
}

/** Every recipe under `dir` (YAML files outside `_base/` folders, which hold partial pieces), loaded. */
export function listRecipes(dir: string): RecipeEntry[] {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f) && !f.split(path.sep).includes('_base'))
    .sort();
  return files.map((f) => {
    try {
      return { file: f, ...describe(loadRecipe(path.join(dir, f)).recipe), error: null };
    } catch (e) {
      if (!(e instanceof LtBenchError)) throw e;
      return { file: f, name: null, method: null, dataset: null, backbone: null, epochs: null, stage2: null, reference: null, error: e.message.split('\n')[0] };
    }
  });
}

export function registerRecipes(program: Command): void {
  program
    .command('recipes')
    .description('list the shipped recipes (or those under DIR): method, dataset, backbone, epoch budget; a recipe that does not load is listed with its error (exit 2)')
    .argument('[dir]', 'directory of recipes (default: the recipes shipped with lt-bench)')
    .option('--json', 'machine-readable output')
    .action((dirArg: string | undefined, o: { json?: boolean }) => {
      const dir = dirArg ?? path.join(packageRoot, 'recipes');
      let st;
      try {
        st = statSync(dir);
      } catch {
        throw new UsageError(`${dir}: no such directory`);
      }
      if (!st.isDirectory()) throw new UsageError(`${dir}: not a directory`);
      const rows = listRecipes(dir);
      if (o.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else {
        const cells = rows.map((r) =>
          r.error
            ? [r.file, `ERROR ${r.error}`]
            : [r.file, r.method!, r.dataset!, r.backbone!, `${epochsText(r.epochs!)}${r.stage2 ? ` + ${r.stage2.strategy}${r.stage2.epochs > 0 ? ` ${r.stage2.epochs}` : ''}` : ''}${r.reference === 'auto' ? '  (+ balanced references)' : ''}`],
        );
        const widths = [0, 1, 2, 3].map((i) => Math.max(...cells.filter((c) => c.length > 2).map((c) => c[i].length), 0));
        for (const c of cells) process.stdout.write(`${c.length > 2 ? c.map((x, i) => (i < 4 ? x.padEnd(widths[i]) : x)).join('  ') : c.join('  ')}\n`);
      }
      const bad = rows.filter((r) => r.error);
      if (bad.length > 0) throw new RecipeError(`${bad.length} of ${rows.length} recipe(s) under ${dir} do not load`);
    });
}

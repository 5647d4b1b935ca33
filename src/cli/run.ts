import type { Command } from 'commander';
import { stringify as yamlStringify } from 'yaml';
import { loadRecipe } from '../recipe/load.js';
import { recipeHash } from '../recipe/hash.js';
import { runRecipe } from '../lifecycle/index.js';
import { createCliReporter } from './progress.js';
import { formatRunResult } from './format.js';
import { withInterruptSignal } from './interrupt.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('train and evaluate a recipe; reuses a finished record, resumes an unfinished one')
    .argument('<recipe>', 'recipe YAML file')
    .option('--set <key=value>', 'override a recipe key (repeatable), e.g. --set train.epochs=5', collect, [])
    .option('--data-root <dir>', 'dataset directory (also LT_BENCH_DATA)')
    .option('--output <dir>', 'results directory (default: the recipe\'s output, "results")')
    .option('--backend <name>', 'force a backend: torch, tensorflow-gpu, tensorflow, wasm, cpu')
    .option('--force', 'train again into a new run id even if a record exists')
    .option('--dry-run', 'print the resolved recipe (defaults filled in) and its hash; do not train')
    .option('--json', 'print run.json to stdout (no progress output)')
    .option('--quiet', 'no progress output')
    .action(async (file: string, o: { set: string[]; dataRoot?: string; output?: string; backend?: string; force?: boolean; dryRun?: boolean; json?: boolean; quiet?: boolean }) => {
      const { recipe, file: abs } = loadRecipe(file, { sets: o.set });
      if (o.dryRun) {
        process.stdout.write(`# ${abs}\n# recipe hash ${recipeHash(recipe)}\n${yamlStringify(recipe)}`);
        return;
      }
      const result = await withInterruptSignal((signal) =>
        runRecipe(recipe, {
          dataRoot: o.dataRoot,
          output: o.output,
          backend: o.backend,
          force: o.force,
          reporter: createCliReporter({ quiet: !!(o.json || o.quiet) }),
          signal,
          recipePath: abs,
        }),
      );
      process.stdout.write(o.json ? `${JSON.stringify(result.record, null, 2)}\n` : `${formatRunResult(result)}\n`);
    });
}
